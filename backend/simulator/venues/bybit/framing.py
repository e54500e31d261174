"""Bybit's WebSocket framing on the shared session (``core.ws``): every frame is one JSON object; anything else is
answered with a failure acknowledgement and the connection stays open. Bybit's streams ping every 20 s."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from backend.simulator.core import ws
from backend.simulator.core.faults import FaultState
from backend.simulator.core.ws import WsSession

HEARTBEAT_SECS = 20.0

MessageHandler = Callable[[WsSession, dict[str, Any]], Awaitable[None] | None]


async def serve(
    request: web.Request,
    faults: FaultState,
    conn_id: str,
    on_message: MessageHandler,
    on_close: Callable[[WsSession], None] | None = None,
) -> web.WebSocketResponse:
    """Run one Bybit WebSocket until it closes; each JSON object goes to ``on_message``."""

    def on_text(session: WsSession, text: str) -> Awaitable[None] | None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            session.send_json({"success": False, "ret_msg": "Invalid request: not a JSON object",
                               "conn_id": session.conn_id})
            return None
        return on_message(session, data)

    return await ws.serve(request, faults, on_text, conn_id=conn_id, heartbeat=HEARTBEAT_SECS, on_close=on_close)
