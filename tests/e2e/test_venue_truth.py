"""The OMS equals the venue after a restart with fills made while the node was down, on all six account types
(Binance spot + USDT-M, Bybit spot + linear, OKX spot + swap): no fill lost, none invented, every status and position
the venue's; and a fill the node never heard of is found by the venue audit, stored and recorded."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys

import pytest

from backend.live.trading_node import LiveTradingNode
from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import PROJECT_ROOT, fetch, rows, run_live
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


# -- a fill the node never heard of --------------------------------------------------------------------------------

RESTING_ONLY = market_and_resting_actions()[len(ACCOUNT_TYPES):]


def fill_never_heard_of(tmp_path_factory, server_dsn):
    """Six resting orders; every venue's user stream is paused and the orders fill: the node hears nothing. An audit
    on demand (as ``live reconcile`` runs it) must find and add the six trades; then the streams resume and the
    late events change nothing. Yields (sim, dsn, what the audit saw, config directory)."""
    with temporary_database(server_dsn) as dsn, SimulatorThread(SimConfig.default()) as sim:
        found: dict = {}

        async def fill_unheard(trading_node) -> None:
            live = live_node_of(trading_node)
            await wait_for(lambda: sum(o.is_open for o in trading_node.cache.orders()) == len(ACCOUNT_TYPES)
                           and live.audit.runs >= 1, "the resting orders and the start-up audit")
            runtimes = sim.server.runtimes.values()
            for runtime in runtimes:
                sim.call(runtime.faults.pause_user_stream)
            fill_resting_orders(sim)
            await asyncio.sleep(1.0)  # older than audit_settle_secs
            found["before"] = await fetch(dsn, "SELECT trade_id FROM fills")
            found["results"] = await live.audit.run("on_demand")
            found["after"] = await fetch(dsn, "SELECT trade_id FROM fills")
            for runtime in runtimes:
                sim.call(runtime.faults.resume_user_stream)

        cfg_dir = tmp_path_factory.mktemp("cfg")
        config = venue_truth_config(cfg_dir, sim.env, dsn, RESTING_ONLY,
                                    audit_interval_secs=None, open_check_interval_secs=None,
                                    position_check_interval_secs=None)
        run_live(config, dsn, during=fill_unheard, settled=lambda node: len(node.cache.orders()) == 6
                 and all(o.is_closed for o in node.cache.orders()))
        yield sim, dsn, found, cfg_dir


@pytest.fixture(scope="module")
def injected(tmp_path_factory, pg_server_dsn):
    yield from fill_never_heard_of(tmp_path_factory, pg_server_dsn)


def test_the_audit_finds_every_fill_the_node_never_heard_of(injected):
    sim, dsn, found, _ = injected
    assert found["before"] == []
    assert len(found["after"]) == len(ACCOUNT_TYPES)
    events = [e for e in reconciliation_events(dsn) if e["kind"] == "missing_fill"]
    assert {e["trade_id"] for e in events} == {r["trade_id"] for r in found["after"]}
    assert all(e["resolved"] and e["source"] == "on_demand" and e["action"].startswith("fill ") for e in events)
    kinds = sorted(d.kind for r in found["results"] for d in r.differences)
    assert kinds.count("missing_fill") == len(ACCOUNT_TYPES), kinds
    assert [str(e) for e in reconciliation_events(dsn) if not e["resolved"]] == []


def test_after_the_late_events_the_oms_still_equals_the_venue(injected):
    sim, dsn, _, _ = injected
    result = compare_with_simulator(sim, dsn)
    assert (result.lost, result.phantom, result.wrong_status, result.wrong_position) == (0, 0, 0, 0), result.details
    assert [e for e in reconciliation_events(dsn) if not e["resolved"]] == []


def live_cli(cfg_dir, sim, dsn, *args):
    return subprocess.run([sys.executable, "-m", "backend.live.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **sim.env, "LIVE_DATABASE_URL": dsn}, cwd=PROJECT_ROOT, timeout=120)


def test_live_audit_lists_the_differences_and_live_reconcile_audits_on_demand(injected):
    sim, dsn, found, cfg_dir = injected
    config = str(cfg_dir / "live.json")
    audit = live_cli(cfg_dir, sim, dsn, "audit", "--config", config, "--kind", "missing_fill")
    assert audit.returncode == 0, audit.stderr
    assert "Reconciliation events (6)" in audit.stdout
    assert all(r["trade_id"] in audit.stdout for r in found["after"])
    drift = live_cli(cfg_dir, sim, dsn, "positions", "--config", config, "--drift")
    assert drift.returncode == 0 and "Position drift" in drift.stdout and "(0)" in drift.stdout, drift.stdout
    reconcile = live_cli(cfg_dir, sim, dsn, "reconcile", "--config", config)
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    for client in ("BINANCE_SPOT", "BINANCE_FUTURES", "BYBIT", "OKX"):
        assert f"{client} (" in reconcile.stdout and "not audited" not in reconcile.stdout
