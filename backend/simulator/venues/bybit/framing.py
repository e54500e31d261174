"""One WebSocket connection of the simulated venue: ordered outbound queue, JSON in, registration for fault drops.

Messages are queued synchronously (``send``) so exchange listeners, which run inside the core's synchronous calls,
can push without awaiting; one writer task delivers them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from backend.simulator.core.faults import FaultState

HEARTBEAT_SECS = 20.0


class Connection:
    """An open WebSocket: ``conn_id``, the authenticated account (private/trade streams) and the outbound queue."""

    def __init__(self, ws: web.WebSocketResponse, conn_id: str) -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.account_id: str | None = None
        self.topics: set[str] = set()
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()

    def send(self, message: dict[str, Any]) -> None:
        self._outbox.put_nowait(json.dumps(message, separators=(",", ":")))

    async def write_loop(self) -> None:
        while (text := await self._outbox.get()) is not None:
            if self.ws.closed:
                return
            await self.ws.send_str(text)

    def stop_writing(self) -> None:
        self._outbox.put_nowait(None)


MessageHandler = Callable[[Connection, dict[str, Any]], Awaitable[None] | None]


async def serve(
    request: web.Request,
    faults: FaultState,
    conn_id: str,
    on_message: MessageHandler,
    on_close: Callable[[Connection], None] | None = None,
) -> web.WebSocketResponse:
    """Run one WebSocket until the client (or a fault drop) closes it; each JSON object goes to ``on_message``."""
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECS)
    await ws.prepare(request)
    connection = Connection(ws, conn_id)
    faults.register_socket(ws)
    writer = asyncio.create_task(connection.write_loop())
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except json.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                connection.send({"success": False, "ret_msg": "Invalid request: not a JSON object", "conn_id": conn_id})
                continue
            result = on_message(connection, data)
            if result is not None:
                await result
    finally:
        faults.unregister_socket(ws)
        if on_close is not None:
            on_close(connection)
        connection.stop_writing()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, timeout=1.0)
        writer.cancel()
    return ws
