"""The OMS equals the venue after the node dies: ``kill -9`` in the middle of trading, and SIGTERM while PostgreSQL
is down; in both, resting orders fill while no node runs, and the next start (warm start from PostgreSQL and its
journal, NautilusTrader's reconciliation, the venue audit) must end with 0 fills lost, 0 phantom fills, 0 wrong
statuses and equal positions on all six account types."""

from __future__ import annotations

import signal
import time

import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import rows, run_live
from tests.e2e.test_venue_truth import audited
from tests.e2e.venue_truth_support import (
    TcpProxy,
    compare_with_simulator,
    fill_resting_orders,
    live_run_process,
    market_and_resting_actions,
    reconciliation_events,
    venue_truth_config,
    wait_for_rows,
)

pytestmark = pytest.mark.timeout(300)

PROCESS_TIMEOUT_SECS = 60


def restart_and_compare(sim, dsn, cfg_dir):
    """The next start on the same database and journal directory, until the start-up audit ran."""
    config = venue_truth_config(cfg_dir, sim.env, dsn, [])
    run_live(config, dsn, during=audited, settled=lambda node: all(o.is_closed for o in node.cache.orders()))
    return compare_with_simulator(sim, dsn)


def killed_mid_trading(tmp_path_factory, server_dsn):
    with temporary_database(server_dsn) as dsn, SimulatorThread(SimConfig.default()) as sim:
        cfg_dir = tmp_path_factory.mktemp("kill9")
        venue_truth_config(cfg_dir, sim.env, dsn, market_and_resting_actions())
        process = live_run_process(cfg_dir, sim.env, dsn)
        try:
            # Every market order is stored and some resting ones are placed: the script is mid-way.
            wait_for_rows(dsn, "SELECT 1 FROM unified_orders WHERE order_type = 'LIMIT'", 2, process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(PROCESS_TIMEOUT_SECS)
        fill_resting_orders(sim)
        fills_before_restart = len(rows(dsn, "SELECT 1 FROM fills"))
        yield sim, dsn, restart_and_compare(sim, dsn, cfg_dir), fills_before_restart


def sigterm_during_outage(tmp_path_factory, server_dsn):
    with temporary_database(server_dsn) as dsn, SimulatorThread(SimConfig.default()) as sim:
        proxy = TcpProxy(dsn)
        try:
            cfg_dir = tmp_path_factory.mktemp("outage")
            venue_truth_config(cfg_dir, sim.env, proxy.dsn, market_and_resting_actions())
            process = live_run_process(cfg_dir, sim.env, proxy.dsn)
            try:
                wait_for_rows(dsn, "SELECT 1 FROM unified_orders", 3, process)
                proxy.down()  # PostgreSQL unreachable: the script goes on trading (12 orders, 0.3 s apart)
                time.sleep(5)
            finally:
                process.send_signal(signal.SIGTERM)
                returncode = process.wait(PROCESS_TIMEOUT_SECS)
            stored_during_outage = len(rows(dsn, "SELECT 1 FROM unified_orders"))
            proxy.up()
            fill_resting_orders(sim)
            fills_before_restart = len(rows(dsn, "SELECT 1 FROM fills"))
            yield (sim, dsn, restart_and_compare(sim, dsn, cfg_dir),
                   (returncode, stored_during_outage, fills_before_restart))
        finally:
            proxy.close()


@pytest.fixture(scope="module")
def killed(tmp_path_factory, pg_server_dsn):
    yield from killed_mid_trading(tmp_path_factory, pg_server_dsn)


@pytest.fixture(scope="module")
def outage(tmp_path_factory, pg_server_dsn):
    yield from sigterm_during_outage(tmp_path_factory, pg_server_dsn)


def test_after_kill_9_and_a_restart_the_oms_equals_the_venue(killed):
    sim, dsn, result, fills_before_restart = killed
    assert len(rows(dsn, "SELECT 1 FROM fills")) > fills_before_restart  # fills made while no node ran arrived
    assert (result.lost, result.phantom, result.wrong_status, result.wrong_position) == (0, 0, 0, 0), result.details
    assert rows(dsn, "SELECT client_order_id FROM unified_orders WHERE filled_qty > quantity") == []
    assert [e for e in reconciliation_events(dsn) if not e["resolved"]] == []


def test_after_sigterm_during_a_database_outage_and_a_restart_the_oms_equals_the_venue(outage):
    sim, dsn, result, (returncode, stored_during_outage, fills_before_restart) = outage
    assert returncode == 0
    assert stored_during_outage < 12  # the outage really kept events out of PostgreSQL until the restart
    assert len(rows(dsn, "SELECT 1 FROM fills")) > fills_before_restart
    assert (result.lost, result.phantom, result.wrong_status, result.wrong_position) == (0, 0, 0, 0), result.details
    assert rows(dsn, "SELECT client_order_id FROM unified_orders WHERE filled_qty > quantity") == []
    assert [e for e in reconciliation_events(dsn) if not e["resolved"]] == []
