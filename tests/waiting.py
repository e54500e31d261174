"""The one polling helper of the tests: wait on the running loop until a condition holds, or fail saying what."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_TIMEOUT_SECS = 10.0


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = DEFAULT_TIMEOUT_SECS,
                     describe: Callable[[], str] | None = None, interval: float = 0.02) -> None:
    """Poll ``predicate`` every ``interval`` s; after ``timeout`` s raise AssertionError naming ``what`` (and the
    state ``describe()`` gives, when passed)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            state = f" ({describe()})" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{state}")
        await asyncio.sleep(interval)
