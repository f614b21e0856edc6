"""The compiled-program JSON file: save, load (validated, all or nothing) and render.

See :mod:`pliable.compiled.schema` for the format and its JSON Schema.
"""

from pliable.compiled.io import CompiledFileError, dump_program, load, load_into, save
from pliable.compiled.render import render_prompts

__all__ = [
    "CompiledFileError",
    "dump_program",
    "load",
    "load_into",
    "render_prompts",
    "save",
]
