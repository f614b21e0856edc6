"""The compiled-program JSON file: the format, the registry of program kinds, save, load
(validated, all or nothing, running no code) and render.

See :mod:`pliable.compiled.schema` for the format and its JSON Schema, and
:mod:`pliable.compiled.kinds` for how a file's ``"program"`` name finds its class.
"""

from pliable.compiled.io import dump_program, load, read_file, save
from pliable.compiled.kinds import program_kind, register_program_kind, unregister_program_kind
from pliable.compiled.render import read_predictors, render_prompts
from pliable.errors import CompiledFileError

__all__ = [
    "CompiledFileError",
    "dump_program",
    "load",
    "program_kind",
    "read_file",
    "read_predictors",
    "register_program_kind",
    "render_prompts",
    "save",
    "unregister_program_kind",
]
