"""Helpers for the emulator tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

POLL = 0.02


async def wait_until(predicate: Callable[[], object], seconds: float = 5.0) -> None:
    """Poll `predicate` until it is truthy; fail after `seconds`."""
    for _ in range(int(seconds / POLL)):
        if predicate():
            return
        await asyncio.sleep(POLL)
    raise AssertionError(f"condition not met within {seconds} s")
