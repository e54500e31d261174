"""The WebSocket plumbing every simulated venue shares: one session per accepted socket with an ordered send queue,
the socket's registration for fault drops and shutdown, and user-data pushes held while the user stream is paused.

The core's listeners are synchronous and run inside ``place_order`` & co., while sending is not: a venue queues a
message with ``send_text`` / ``send_json`` (never awaiting) and one writer task per socket delivers the queue in
order, so a client sees events in the order the core emitted them. A socket that closes (the client left, a fault
dropped it, the peer reset the connection) stops its writer quietly; later sends to it are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from backend.simulator.core.faults import FaultState

DRAIN_TIMEOUT_S = 1.0  # what a closing session waits for its queue to reach a socket that is still open
_ENCODER = msgspec.json.Encoder()


class WsSession:
    """One accepted WebSocket: its connection id, the account it authenticated as (private streams), the topics it
    subscribed to, and its ordered send queue. Venues subclass it for protocol state of their own."""

    def __init__(self, ws: web.WebSocketResponse, conn_id: str = "") -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.account_id: str | None = None
        self.topics: set[str] = set()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer = asyncio.get_running_loop().create_task(self._write())

    @property
    def closed(self) -> bool:
        return self._writer.done() or self.ws.closed

    def send_text(self, text: str) -> None:
        """Queue ``text`` behind everything queued before it (dropped once the socket is gone)."""
        if not self._writer.done():
            self._queue.put_nowait(text)

    def send_json(self, payload: Any) -> None:
        self.send_text(_ENCODER.encode(payload).decode())

    async def _write(self) -> None:
        while (text := await self._queue.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):  # reset by the peer / closing: the socket is gone
                return

    async def finish(self) -> None:
        """Deliver what is queued while the socket is still open (for at most ``DRAIN_TIMEOUT_S``), then stop."""
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._writer), DRAIN_TIMEOUT_S)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


TextHandler = Callable[[Any, str], Awaitable[None] | None]
SessionHook = Callable[[Any], None]


async def serve(
    request: web.Request,
    faults: FaultState,
    on_text: TextHandler,
    *,
    conn_id: str = "",
    heartbeat: float | None = None,
    session_type: Callable[[web.WebSocketResponse, str], WsSession] = WsSession,
    on_open: SessionHook | None = None,
    on_close: SessionHook | None = None,
) -> web.WebSocketResponse:
    """Accept one WebSocket and run it until the client (or a fault drop) closes it: every text frame goes to
    ``on_text(session, text)``; ``on_open`` / ``on_close`` see the session first and last. The socket is registered
    with ``faults`` (``/_sim/faults/ws/drop`` and shutdown close it) while it is open."""
    ws = web.WebSocketResponse(heartbeat=heartbeat, autoping=True)
    await ws.prepare(request)
    session = session_type(ws, conn_id)
    faults.register_socket(ws)
    try:
        if on_open is not None:
            on_open(session)
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                result = on_text(session, frame.data)
                if result is not None:
                    await result
            elif frame.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        faults.unregister_socket(ws)
        if on_close is not None:
            on_close(session)
        await session.finish()
    return ws


def push_user_event(faults: FaultState, push: Callable[[], Any]) -> None:
    """Run ``push`` (a user-data delivery) now, or hold it while the venue's user stream is paused by a fault:
    ``/_sim/faults/user-stream/resume`` delivers held pushes in order."""
    if faults.user_stream_paused:
        faults.hold_user_event(push)
    else:
        push()
