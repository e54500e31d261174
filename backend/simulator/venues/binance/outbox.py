"""One ordered outbound queue per WebSocket: the core's listeners are synchronous, sending is not.

Messages pushed from a listener (or a request handler) are written by a single task in push order, so a client
sees events in the order the core emitted them. A closed socket stops the writer; later pushes are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web


class Outbox:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def push(self, text: str) -> None:
        if not self._task.done():
            self._queue.put_nowait(text)

    async def _run(self) -> None:
        while True:
            text = await self._queue.get()
            if self._ws.closed:
                return
            try:
                await self._ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
