"""Many nodes, one database: what PostgreSQL takes from four ``live run`` processes (distinct trader ids) trading
against the simulator at once, against one node alone, measured in the same run on the same server.

Usage: python bench/many_nodes.py [--orders 60] [--interval 0.05]
Each node submits ``--orders`` market orders, one every ``--interval`` s (tests/e2e/many_nodes_support.py: MN-1
Binance spot, MN-2 Binance futures, MN-3 Bybit, MN-4 OKX). The baseline is MN-2 alone; each phase writes into a
fresh database on $LIVE_TEST_DATABASE_URL's server (else an embedded PostgreSQL). The window of a phase runs from
its first stored order event to its last; prints, per phase, order events/s and rows/s stored in the whole database
(every trader table), commits/s from pg_stat_database, the ratio of the four nodes to one, and checks that each
trader's fills equal the simulator's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.live.database import start_embedded_server  # noqa: E402
from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig  # noqa: E402
from backend.simulator.harness import SimulatorThread  # noqa: E402
from tests.conftest import temporary_database  # noqa: E402
from tests.e2e.live_support import simulator_fills  # noqa: E402
from tests.e2e.many_nodes_support import (  # noqa: E402
    TRADER_TABLES,
    TRADERS,
    order_statuses,
    start_nodes,
    stored_fills,
)
from tests.e2e.test_durability import migrate, rows, wait_for  # noqa: E402

DB_STATS = ("SELECT xact_commit, tup_inserted + tup_updated AS tuples FROM pg_stat_database "
            "WHERE datname = current_database()")


def phase(server: str, orders: dict[str, int], interval: float) -> dict[str, float]:
    with temporary_database(server) as dsn, tempfile.TemporaryDirectory() as directory, \
            SimulatorThread(SimConfig.default(venues=("binance", "bybit", "okx"))) as sim:
        migrate(dsn)
        before = rows(dsn, DB_STATS)[0]
        runs = start_nodes(Path(directory), sim, dsn, orders, interval)
        try:
            for trader_id, run in runs.items():
                wait_for(f"{trader_id}'s orders", lambda t=trader_id: order_statuses(dsn, t) == Counter(
                    {"FILLED": orders[t]}), run, timeout=600)
            for trader_id, run in runs.items():
                code, out = run.stop()
                if code != 0:
                    raise SystemExit(f"{trader_id} exited {code}:\n{out}")
        finally:
            for run in runs.values():
                run.kill()
        time.sleep(1.0)  # pg_stat_database lags the commits by up to a second
        after = rows(dsn, DB_STATS)[0]
        window = rows(dsn, "SELECT extract(epoch FROM max(recorded_at) - min(recorded_at))::float8 AS secs, "
                           "count(*) AS events FROM order_events")[0]
        stored = sum(rows(dsn, f"SELECT count(*) AS n FROM {table}")[0]["n"] for table in TRADER_TABLES)
        for trader in TRADERS:
            if trader.trader_id in orders and stored_fills(dsn, trader.trader_id) != simulator_fills(
                    sim, DEMO_ACCOUNT_ID, trader.markets):
                raise SystemExit(f"{trader.trader_id}: the fills differ from the simulator's")
    secs = max(window["secs"], 1e-3)
    return {"nodes": len(orders), "secs": secs, "events": window["events"], "rows": stored,
            "events_per_s": window["events"] / secs, "rows_per_s": stored / secs,
            "commits_per_s": (after["xact_commit"] - before["xact_commit"]) / secs,
            "tuples_per_s": (after["tuples"] - before["tuples"]) / secs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=60, help="market orders per node")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between a node's orders")
    args = parser.parse_args()
    server = os.environ.get("LIVE_TEST_DATABASE_URL") or start_embedded_server(Path(tempfile.mkdtemp()) / "pg")
    one = phase(server, {"MN-2": args.orders}, args.interval)
    four = phase(server, {t.trader_id: args.orders for t in TRADERS}, args.interval)
    for name, r in (("1 node (MN-2)", one), ("4 nodes", four)):
        print(f"{name:>14}: {r['events']:5d} order events in {r['secs']:5.1f} s = {r['events_per_s']:7.0f} events/s, "
              f"{r['rows_per_s']:7.0f} rows/s stored ({r['rows']} rows), {r['commits_per_s']:6.0f} commits/s, "
              f"{r['tuples_per_s']:7.0f} tuples written/s")
    print(f"4 nodes vs 1: {four['events_per_s'] / one['events_per_s']:.1f}x order events/s, "
          f"{four['rows_per_s'] / one['rows_per_s']:.1f}x rows/s into one database; every trader's fills equal "
          "the simulator's")


if __name__ == "__main__":
    main()
