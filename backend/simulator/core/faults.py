"""Injected faults of one simulated venue: REST delay/failure, order rejects, paused user streams, dropped sockets."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class ClosableSocket(Protocol):
    async def close(self, *, code: int = ..., message: bytes = ...) -> Any: ...


@dataclass(slots=True)
class RestFault:
    """Applies to the next ``remaining`` REST calls whose path starts with ``path_prefix`` ("" = every path):
    wait ``delay_ms``, then answer ``fail_status`` (an HTTP status) instead of handling the call when it is set."""

    delay_ms: int
    fail_status: int | None
    remaining: int
    path_prefix: str = ""


class FaultState:
    """Per-venue fault switches. The server's middleware consumes ``rest`` faults; ``SimExchange.place_order`` consumes
    order rejects; venue modules ask ``user_stream_paused`` before pushing user-data events and, when paused, hand the
    push to ``hold_user_event`` so ``resume_user_stream`` delivers it later, in order."""

    def __init__(self) -> None:
        self.rest_faults: list[RestFault] = []
        self.reject_orders_remaining = 0
        self.user_stream_paused = False
        self._held_user_events: list[Callable[[], Any]] = []
        self._sockets: set[ClosableSocket] = set()

    # -- REST ------------------------------------------------------------------------------------------------------

    def add_rest_fault(
        self, delay_ms: int = 0, fail_status: int | None = None, count: int = 1, path_prefix: str = ""
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        if delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
        if fail_status is not None and not 100 <= fail_status <= 599:
            raise ValueError("fail_status must be an HTTP status (100-599)")
        self.rest_faults.append(RestFault(delay_ms, fail_status, count, path_prefix))

    def take_rest_fault(self, path: str) -> RestFault | None:
        """The first armed fault matching ``path``, consumed once (``remaining`` decremented)."""
        for fault in self.rest_faults:
            if path.startswith(fault.path_prefix):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.rest_faults.remove(fault)
                return fault
        return None

    # -- orders ----------------------------------------------------------------------------------------------------

    def reject_next_orders(self, count: int) -> None:
        if count < 0:
            raise ValueError("count must not be negative")
        self.reject_orders_remaining = count

    def take_order_reject(self) -> bool:
        if self.reject_orders_remaining > 0:
            self.reject_orders_remaining -= 1
            return True
        return False

    # -- user streams ----------------------------------------------------------------------------------------------

    def pause_user_stream(self) -> None:
        self.user_stream_paused = True

    def hold_user_event(self, deliver: Callable[[], Any]) -> None:
        """Keep ``deliver`` (a zero-argument callable doing the push) until the stream resumes."""
        self._held_user_events.append(deliver)

    async def resume_user_stream(self) -> int:
        """Unpause and deliver every held push in order (awaiting any that return an awaitable); return how many."""
        self.user_stream_paused = False
        held, self._held_user_events = self._held_user_events, []
        for deliver in held:
            try:
                result = deliver()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # one failed push (e.g. a closed socket) must not lose the ones after it
                log.exception("delivering a held user-data event failed")
        return len(held)

    # -- websockets ------------------------------------------------------------------------------------------------

    def register_socket(self, socket: ClosableSocket) -> None:
        self._sockets.add(socket)

    def unregister_socket(self, socket: ClosableSocket) -> None:
        self._sockets.discard(socket)

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    async def drop_sockets(self) -> int:
        """Close every registered WebSocket (code 1001, going away); return how many were closed."""
        sockets, self._sockets = list(self._sockets), set()
        for socket in sockets:
            await socket.close(code=1001, message=b"simulated disconnect")
        return len(sockets)


