"""Shared helpers for end-to-end tests that run a real NautilusTrader ``TradingNode`` against the simulator.

Venue-neutral: each venue's e2e file builds its own adapter configs and passes its client factories here.

What we learned about running TradingNodes inside pytest (NautilusTrader 1.231.0):

* The node runs on the MAIN thread's event loop: the test calls ``run_node(...)``, which does
  ``asyncio.run(...)``; inside, ``TradingNode(config)`` picks up the running loop, ``node.run_async()`` runs as a
  task, the scenario coroutine drives a ``DriverStrategy`` in the same loop, then ``await node.stop_async()``.
  ``node.dispose()`` is called only AFTER ``asyncio.run`` has returned (never inside a running loop).
  The simulator runs in its own thread (``SimulatorThread``) with its own loop.
* The Rust logger is initialised once per process: the first kernel calls ``init_logging`` and every later kernel
  sees ``is_logging_initialized()`` and reuses it (``kernel.dispose()`` deliberately keeps the log guard). So
  several nodes can run one after another in one process (pytest-xdist workers run several test files); their log
  lines keep the FIRST node's trader id in the header. Logging options of later nodes are ignored.
* "RUNNING" is ``node.trader.is_running``: ``node.is_running()`` turns true at the START of ``start_async``, before
  the clients connect; the trader starts only once every client connected and reconciliation finished.
* ``kernel.stop_async`` sleeps ``timeout_post_stop`` (default 10 s) and waits up to ``timeout_disconnection``
  (10 s): ``node_config`` sets both small so a node stops in well under a second.
* Binance's factories cache the HTTP client and instrument provider with ``lru_cache(1)`` keyed by the node's
  clock, so a new node never reuses a previous node's clients.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from nautilus_trader.config import (
    LiveDataEngineConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from tests.waiting import wait_until

T = TypeVar("T")

STARTUP_TIMEOUT_SECS = 20.0
EVENT_TIMEOUT_SECS = 10.0


def node_config(trader_id: str, data_clients: dict[str, Any], exec_clients: dict[str, Any]) -> TradingNodeConfig:
    """A TradingNodeConfig for tests: quiet logs, short stop timeouts, reconciliation on."""
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=LoggingConfig(log_level=os.environ.get("E2E_LOG_LEVEL", "WARNING")),
        data_engine=LiveDataEngineConfig(),
        exec_engine=LiveExecEngineConfig(reconciliation=True),
        data_clients=data_clients,
        exec_clients=exec_clients,
        timeout_connection=STARTUP_TIMEOUT_SECS,
        timeout_reconciliation=5.0,
        timeout_portfolio=5.0,
        timeout_disconnection=2.0,
        timeout_post_stop=0.1,
    )


class DriverStrategy(Strategy):
    """A strategy with no logic of its own: the test's scenario submits and cancels through it and reads its events."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[OrderEvent] = []

    def on_order_event(self, event: OrderEvent) -> None:
        self.events.append(event)

    def events_for(self, client_order_id: ClientOrderId) -> list[str]:
        """Event class names for one order, in arrival order (e.g. ``["OrderSubmitted", "OrderAccepted", ...]``)."""
        return [type(e).__name__ for e in self.events if e.client_order_id == client_order_id]


async def wait_for_status(order: Order, statuses: Iterable[str], timeout: float = EVENT_TIMEOUT_SECS) -> None:
    wanted = set(statuses)
    await wait_until(lambda: order.status_string() in wanted, f"{order.client_order_id} to reach {sorted(wanted)}"
                     f" (is {order.status_string()})", timeout)


@dataclass
class NodeRun:
    """What a scenario gets: the running node and the driver strategy attached to it."""

    node: TradingNode
    strategy: DriverStrategy


def run_node(
    config: TradingNodeConfig,
    data_factories: dict[str, Any],
    exec_factories: dict[str, Any],
    scenario: Callable[[NodeRun], Awaitable[T]],
) -> T:
    """Build a TradingNode from ``config`` with the given client factories (keyed like the config's client names),
    wait until it is RUNNING, run ``scenario`` on its loop, stop it and dispose of it outside the loop."""
    holder: dict[str, TradingNode] = {}

    async def main() -> T:
        node = TradingNode(config=config)
        holder["node"] = node
        for name, factory in data_factories.items():
            node.add_data_client_factory(name, factory)
        for name, factory in exec_factories.items():
            node.add_exec_client_factory(name, factory)
        node.build()
        strategy = DriverStrategy()
        node.trader.add_strategy(strategy)
        run_task = asyncio.create_task(node.run_async())
        try:
            # RUNNING = the kernel connected every client, reconciled and started the trader.
            await wait_until(
                lambda: node.trader.is_running or run_task.done(), "the node to reach RUNNING", STARTUP_TIMEOUT_SECS
            )
            if run_task.done():
                run_task.result()
                raise AssertionError("the node stopped before reaching RUNNING")
            kernel = node.kernel
            assert kernel.data_engine.check_connected(), "a data client did not connect"
            assert kernel.exec_engine.check_connected(), "an execution client did not connect"
            return await scenario(NodeRun(node=node, strategy=strategy))
        finally:
            await node.stop_async()
            run_task.cancel()
            await asyncio.gather(run_task, return_exceptions=True)

    try:
        return asyncio.run(main())
    finally:
        if "node" in holder:
            holder["node"].dispose()


def balances_by_currency(account: Any) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """``{currency: (total, free, locked)}`` as Decimals from a NautilusTrader account (zero balances included)."""
    result: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    for currency, balance in account.balances().items():
        result[currency.code] = (balance.total.as_decimal(), balance.free.as_decimal(), balance.locked.as_decimal())
    return result
