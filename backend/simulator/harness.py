"""Running the simulator from tests.

``async with run_simulator(config) as sim`` serves inside the running event loop (protocol tests);
``with SimulatorThread(config) as sim`` serves from its own loop in a daemon thread, for synchronous code such as a
NautilusTrader TradingNode test. Both bind 127.0.0.1 on free ports and expose ``urls``, ``env``, ``exchange()`` and
``state()``; touch exchanges of a SimulatorThread only through ``sim.call``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from backend.simulator.config import SimConfig
from backend.simulator.core.matching import SimExchange
from backend.simulator.server import SimulatorServer

T = TypeVar("T")
CALL_TIMEOUT_S = 30.0


@asynccontextmanager
async def run_simulator(
    config: SimConfig, host: str = "127.0.0.1", port_base: int | None = None
) -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(config, host=host, port_base=port_base)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _cancel_other_tasks() -> None:
    """Cancel what venue modules left running (senders, timers) so the loop closes without pending tasks."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class SimulatorThread:
    def __init__(self, config: SimConfig, host: str = "127.0.0.1", port_base: int | None = None) -> None:
        self._server = SimulatorServer(config, host=host, port_base=port_base)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._loop is not None:
            raise RuntimeError("simulator thread already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="venuesim", daemon=True)
        self._thread.start()
        try:
            self._run(self._server.start())
        except BaseException:
            self._shutdown_loop()
            raise

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._run(self._server.stop())
            self._run(_cancel_other_tasks())
        finally:
            self._shutdown_loop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("simulator thread not started")
        return self._loop

    @property
    def urls(self) -> dict[str, dict[str, str]]:
        return self._server.urls

    @property
    def env(self) -> dict[str, str]:
        return self._server.env

    @property
    def server(self) -> SimulatorServer:
        return self._server

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the simulator's loop (awaiting it when it returns an awaitable); return the result."""

        async def invoke() -> Any:
            result = fn(*args)
            return await result if inspect.isawaitable(result) else result

        return self._run(invoke())

    def exchange(self, venue: str, market: str) -> SimExchange:
        return self._server.exchange(venue, market)

    def state(self, venue: str) -> dict[str, Any]:
        return self.call(self._server.state, venue)

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=CALL_TIMEOUT_S)

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=CALL_TIMEOUT_S)
        loop.close()
