"""Where the warm start and the venue-truth shims hook into a built NautilusTrader ``TradingNode``.

``install_warm_start`` wraps the kernel's ``_await_execution_reconciliation`` (NautilusTrader 1.231.0's
``NautilusKernel.start_async`` calls it once every client connected and the instruments are loaded, right before
``reconcile_execution_state``): the OMS's orders and positions are restored into the cache first, so the start-up
reconciliation works from what the node had. Guarded by tests/live/test_reconcile_startup.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OmsType

from backend.live.adapters.binance_symbols import ask_about_configured_symbols
from backend.live.adapters.spot_positions import no_spot_position_reports
from backend.live.reconcile.warm_start import RestoreReport, load_restorable, restore_into_cache

log = logging.getLogger(__name__)


def install_venue_truth_shims(clients: Iterable[Any]) -> None:
    """The shims every execution client of a built node gets (backend/live/adapters/binance_symbols.py and
    spot_positions.py)."""
    for client in clients:
        ask_about_configured_symbols(client)
        no_spot_position_reports(client)


async def warm_start(node: TradingNode, pool: asyncpg.Pool, trader_id: str, lookback_mins: float,
                     clients: dict[str, Any]) -> RestoreReport:
    """Restore the OMS's open and recent orders and its positions into the node's cache (``clients``: the node's
    execution clients by id, to route the restored orders)."""
    since_ns = time.time_ns() - int(lookback_mins * 60e9)
    async with pool.acquire() as conn:
        orders, fills = await load_restorable(conn, trader_id, since_ns)
    client_for_venue = {c.venue.value: c.id for c in clients.values() if c.venue is not None}
    oms_for_venue = {c.venue.value: c.oms_type if c.oms_type != OmsType.UNSPECIFIED else OmsType.NETTING
                     for c in clients.values() if c.venue is not None}
    report = restore_into_cache(node.cache, orders, fills, client_for_venue, oms_for_venue)
    log.info("Warm start from PostgreSQL: %d orders (%d open), %d positions restored into the cache%s",
             report.orders, report.open_orders, report.positions,
             f"; {len(report.problems)} problems: " + "; ".join(report.problems[:5]) if report.problems else "")
    return report


def install_warm_start(node: TradingNode, pool: asyncpg.Pool, trader_id: str, lookback_mins: float,
                       caught_up: Callable[[], Awaitable[Any]], clients: Callable[[], dict[str, Any]],
                       caught_up_timeout_secs: float = 10.0, reports: list[RestoreReport] | None = None) -> None:
    """Make the kernel restore the OMS into the cache right before its start-up reconciliation, once
    ``caught_up()`` returned (the writer stored what an earlier run left in its journal)."""
    kernel = node.kernel
    original = kernel._await_execution_reconciliation

    async def restore_then_reconcile() -> bool:
        try:
            try:
                await asyncio.wait_for(caught_up(), caught_up_timeout_secs)
            except TimeoutError:
                log.error("Warm start: the OMS writer did not catch up within %.0f s (PostgreSQL down?); restoring "
                          "what PostgreSQL holds", caught_up_timeout_secs)
            report = await warm_start(node, pool, trader_id, lookback_mins, clients())
            if reports is not None:
                reports.append(report)
        except Exception:  # a failed restore leaves NautilusTrader's own (cold) reconciliation
            log.exception("Warm start from PostgreSQL failed; reconciling from an empty cache")
        return await original()

    kernel._await_execution_reconciliation = restore_then_reconcile
