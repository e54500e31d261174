"""Simulator time in epoch milliseconds."""

from __future__ import annotations

import time


class SimClock:
    """Real time plus an offset, or (``manual=True``) a frozen time that only ``advance`` moves.

    The manual clock starts at ``start_ms`` (default: the wall clock when created) so scripted runs with a fixed
    ``start_ms`` give identical timestamps.
    """

    __slots__ = ("manual", "_offset_ms", "_start_ms")

    def __init__(self, manual: bool = False, start_ms: int | None = None) -> None:
        self.manual = manual
        self._offset_ms = 0
        self._start_ms = start_ms if start_ms is not None else int(time.time() * 1000)

    def now_ms(self) -> int:
        if self.manual:
            return self._start_ms + self._offset_ms
        return int(time.time() * 1000) + self._offset_ms

    def now_ns(self) -> int:
        return self.now_ms() * 1_000_000

    def advance(self, ms: int) -> None:
        """Move the clock forward (or back, with a negative ``ms``) by ``ms`` milliseconds."""
        self._offset_ms += int(ms)

    @property
    def offset_ms(self) -> int:
        return self._offset_ms
