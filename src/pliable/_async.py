"""asyncio helpers imported lazily: asyncio costs ~40 ms at import, and only async code needs it
(by which time the caller has imported it anyway)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def to_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a worker thread, in a copy of the current context."""
    import asyncio

    return await asyncio.to_thread(fn, *args, **kwargs)


async def sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
