"""The compiled-program JSON file: save, load (validated, all or nothing) and render.

See :mod:`pliable.compiled.schema` for the format and its JSON Schema.
"""

from pliable.compiled.io import CompiledFileError, dump_program, load, load_into, save

__all__ = ["CompiledFileError", "dump_program", "load", "load_into", "save"]
