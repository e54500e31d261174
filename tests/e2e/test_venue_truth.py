"""The OMS equals the venue after a restart with fills made while the node was down, on all six account types
(Binance spot + USDT-M, Bybit spot + linear, OKX spot + swap): no fill lost, none invented, every status and position
the venue's; and a fill the node never heard of is found by the venue audit, stored and recorded."""

from __future__ import annotations

import gc

import pytest

from backend.live.trading_node import LiveTradingNode
from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import rows, run_live
from tests.e2e.venue_truth_support import (
    ACCOUNT_TYPES,
    compare_with_simulator,
    fill_resting_orders,
    market_and_resting_actions,
    open_resting_orders,
    reconciliation_events,
    venue_truth_config,
    wait_for,
)

pytestmark = pytest.mark.timeout(300)


def restart_with_fills_while_down(tmp_path_factory, server_dsn):
    """Run 1 trades and leaves six resting orders, stops; they fill while the node is down; run 2 starts from
    PostgreSQL. Yields (sim, dsn) after run 2."""
    with temporary_database(server_dsn) as dsn, SimulatorThread(SimConfig.default()) as sim:
        first = venue_truth_config(tmp_path_factory.mktemp("run1"), sim.env, dsn, market_and_resting_actions())
        run_live(first, dsn, settled=lambda node: len(node.cache.orders()) == 12
                 and sum(o.is_closed for o in node.cache.orders()) == 6)
        assert open_resting_orders(sim) == 6
        fill_resting_orders(sim)
        assert open_resting_orders(sim) == 0

        second = venue_truth_config(tmp_path_factory.mktemp("run2"), sim.env, dsn, [])
        run = run_live(second, dsn, during=audited, settled=lambda node: all(o.is_closed for o in node.cache.orders()))
        yield sim, dsn, run


async def audited(trading_node) -> None:
    """Wait until the node's start-up venue audit ran."""
    live = live_node_of(trading_node)
    await wait_for(lambda: live.audit is not None and live.audit.runs >= 1, "the start-up audit")


def live_node_of(trading_node):
    """The LiveTradingNode around a TradingNode (``run_live`` hands its ``during`` only the TradingNode)."""
    return next(o for o in gc.get_objects() if isinstance(o, LiveTradingNode) and o.node is trading_node)


@pytest.fixture(scope="module")
def restarted(tmp_path_factory, pg_server_dsn):
    yield from restart_with_fills_while_down(tmp_path_factory, pg_server_dsn)


def test_after_the_restart_the_oms_equals_the_venue(restarted):
    sim, dsn, _ = restarted
    result = compare_with_simulator(sim, dsn)
    assert (result.lost, result.phantom, result.wrong_status, result.wrong_position) == (0, 0, 0, 0), result.details
    assert len(rows(dsn, "SELECT 1 FROM fills")) >= 12  # every account type traded twice


def test_no_fill_row_carries_a_trade_id_nautilus_trader_made_up(restarted):
    sim, dsn, _ = restarted
    assert rows(dsn, "SELECT trade_id FROM fills WHERE liquidity_side = 'NO_LIQUIDITY_SIDE'") == []
    statuses = {r["instrument_id"]: r["n"] for r in rows(
        dsn, "SELECT instrument_id, count(*) AS n FROM unified_orders WHERE status = 'FILLED' GROUP BY 1")}
    assert statuses == {instrument_id: 2 for instrument_id, _, _ in ACCOUNT_TYPES.values()}
    over = rows(dsn, "SELECT client_order_id FROM unified_orders WHERE filled_qty > quantity")
    assert over == []


def test_nothing_is_left_unresolved(restarted):
    sim, dsn, _ = restarted
    unresolved = [e for e in reconciliation_events(dsn) if not e["resolved"]]
    assert unresolved == []
