"""Subprocess helper for test_cache.py (not a test module).

python cache_worker.py share DIR MINE THEIRS N   write N entries, then wait to read theirs
python cache_worker.py loop DIR SIZE             write forever, printing each committed index
"""

from __future__ import annotations

import sys
import time

from pliable.lm.cache import Cache


def row(*texts: str) -> dict[str, object]:
    """A value in the shape pl.LM stores."""
    return {"texts": list(texts), "usage": {"prompt_tokens": 1, "completion_tokens": 1, "cost": 0}}


def share(directory: str, mine: str, theirs: str, n: int) -> int:
    cache = Cache(directory, memory_entries=8)
    for i in range(n):
        cache.put(f"{mine}-{i}", row(mine, str(i)))
    missing = set(range(n))
    deadline = time.monotonic() + 20
    while missing and time.monotonic() < deadline:
        for i in sorted(missing):
            value = cache.get(f"{theirs}-{i}")
            if value is not None:
                assert value == row(theirs, str(i)), value
                missing.discard(i)
        time.sleep(0.01)
    cache.close()
    sys.stdout.write(f"missing {len(missing)}\n")
    return 0 if not missing else 1


def loop(directory: str, size: int) -> int:
    cache = Cache(directory)
    i = 0
    while True:
        cache.put(f"k{i}", row(str(i), "x" * size))
        sys.stdout.write(f"{i}\n")
        sys.stdout.flush()
        i += 1


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "share":
        sys.exit(share(args[0], args[1], args[2], int(args[3])))
    sys.exit(loop(args[0], int(args[1])))
