"""Many nodes, one database: four ``live run`` processes (distinct trader ids) trade against the simulator into one
PostgreSQL at the same time. No row of one trader id is touched by another, each trader's tables equal the
simulator's record of its venue accounts, and the firm-wide view nets their positions per canonical instrument."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal

import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import PROJECT_ROOT
from tests.e2e.many_nodes_support import (
    FIRM_CANONICAL,
    TRADER_TABLES,
    TRADERS,
    check_equal_to_simulator,
    order_statuses,
    snapshot,
    start_nodes,
)
from tests.e2e.test_durability import migrate, rows, wait_for

pytestmark = [pytest.mark.timeout(420), pytest.mark.e2e]

ORDERS = {"MN-1": 3, "MN-2": 6, "MN-3": 6, "MN-4": 6}  # MN-1 is done first and stopped while the others trade


def test_four_nodes_share_one_database_without_touching_each_others_rows(tmp_path, pg_server_dsn) -> None:
    with temporary_database(pg_server_dsn) as dsn, \
            SimulatorThread(SimConfig.default(venues=("binance", "bybit", "okx"))) as sim:
        runs = start_nodes(tmp_path, sim, migrate(dsn), ORDERS)
        try:
            first = runs["MN-1"]
            wait_for("MN-1's orders", lambda: order_statuses(dsn, "MN-1") == Counter({"FILLED": ORDERS["MN-1"]}),
                     first, timeout=180)
            code, out = first.stop()
            assert code == 0, out
            before = snapshot(dsn, "MN-1")
            assert before["fills"] and before["order_events"] and before["unified_positions"]
            for trader_id, run in runs.items():
                wait_for(f"{trader_id}'s orders",
                         lambda t=trader_id: order_statuses(dsn, t) == Counter({"FILLED": ORDERS[t]}), run, timeout=180)
            for trader_id, run in runs.items():
                if trader_id != "MN-1":
                    code, out = run.stop()
                    assert code == 0, f"{trader_id}: {out}"
            assert snapshot(dsn, "MN-1") == before  # three nodes went on writing; not one MN-1 row changed
        finally:
            for run in runs.values():
                run.kill()

        for trader in TRADERS:
            check_equal_to_simulator(sim, dsn, trader, ORDERS[trader.trader_id])
            venues = {r["venue"] for r in rows(dsn, "SELECT DISTINCT venue FROM fills WHERE trader_id = $1",
                                                trader.trader_id)}
            assert venues == {venue.upper() for venue, _ in trader.markets}, trader.trader_id
        for table in TRADER_TABLES:  # every row belongs to one of the four trader ids
            owners = {r["trader_id"] for r in rows(dsn, f"SELECT DISTINCT trader_id FROM {table}")}
            assert owners <= set(ORDERS), table
        nodes = {r["trader_id"]: r for r in rows(dsn, "SELECT trader_id, stopped_at FROM nodes")}
        assert set(nodes) == set(ORDERS) and all(r["stopped_at"] is not None for r in nodes.values())

        per_trader = {r["trader_id"]: r["net_quantity"] for r in rows(
            dsn, "SELECT trader_id, net_quantity FROM unified_positions WHERE canonical_id = $1", FIRM_CANONICAL)}
        assert set(per_trader) == {"MN-2", "MN-3", "MN-4"}
        assert per_trader["MN-2"] > 0 and per_trader["MN-3"] < 0 and per_trader["MN-4"] > 0
        firm = rows(dsn, "SELECT net_quantity, trader_positions, open_traders FROM unified_positions_all "
                         "WHERE canonical_id = $1", FIRM_CANONICAL)[0]
        assert firm["net_quantity"] == sum(per_trader.values()) == Decimal("0.012") - Decimal("0.003") \
            + Decimal("0.03")
        assert firm["open_traders"] == 3 and '"MN-3": -0.003' in firm["trader_positions"]

        listing = subprocess.run([sys.executable, "-m", "backend.live.cli", "positions", "--all-traders"],
                                 env={**os.environ, "LIVE_DATABASE_URL": dsn}, cwd=PROJECT_ROOT,
                                 capture_output=True, text=True, timeout=60)
        assert listing.returncode == 0, listing.stdout + listing.stderr
        line = next(line for line in listing.stdout.splitlines() if FIRM_CANONICAL in line)
        assert "0.039" in line and "MN-3: -0.003" in listing.stdout, listing.stdout
