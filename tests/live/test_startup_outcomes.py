"""The fail-fast start: a client's ``_connect`` that raised is final (NautilusTrader never runs it again), one that
is still running is only slow. Guarded against a NautilusTrader upgrade that starts ``_connect`` differently."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from nautilus_trader.live.data_client import LiveDataClient, LiveMarketDataClient
from nautilus_trader.live.execution_client import LiveExecutionClient

from backend.live.node.health import ClientState
from backend.live.node.startup import ConnectOutcomes


def test_nautilus_starts_every_connect_through_the_clients_create_task():
    """What ConnectOutcomes relies on: ``connect()`` hands ``self._connect()`` to ``self.create_task``."""
    for client_class in (LiveDataClient, LiveMarketDataClient, LiveExecutionClient):
        source = inspect.getsource(client_class.connect)
        assert "self.create_task(" in source and "self._connect()" in source, client_class


class FakeClient:
    """Starts ``_connect`` the way NautilusTrader's live clients do."""

    def __init__(self, error: BaseException | None, delay: float = 0.0) -> None:
        self.error, self.delay, self.is_connected = error, delay, False

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        return asyncio.get_running_loop().create_task(coro)

    async def _connect(self) -> None:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        self.is_connected = True

    def connect(self) -> None:
        self.create_task(self._connect())


async def test_a_failed_connect_is_final_a_slow_one_is_not():
    bad = ClientState("BINANCE_SPOT", "exec", FakeClient(RuntimeError("code -1022 secret=s3cr3t")))
    slow = ClientState("OKX", "data", FakeClient(None, delay=30))
    good = ClientState("BYBIT", "data", FakeClient(None))
    outcomes = ConnectOutcomes(secrets=["s3cr3t"])
    outcomes.watch([bad, slow, good])
    for state in (bad, slow, good):
        state.client.connect()
    await asyncio.sleep(0.05)
    assert set(outcomes.failures) == {("exec", "BINANCE_SPOT")}
    lines = outcomes.describe([bad, slow, good]).splitlines()
    assert lines == ["exec client BINANCE_SPOT did not connect: RuntimeError(code -1022 secret=***)",
                     "data client OKX did not connect: still connecting when the start was abandoned (another "
                     "client's failure is final)"]
    for task in asyncio.all_tasks() - {asyncio.current_task()}:
        task.cancel()
