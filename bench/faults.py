"""Fault scenarios, each run N times on all six account types (Binance spot + USDT-M, Bybit spot + linear, OKX spot
+ swap) against the simulator; prints per scenario the fills lost, phantom fills, wrong statuses and wrong positions
summed over the runs (PostgreSQL against the simulator's record: fills by venue trade id, order statuses,
positions including spot holdings), and the differences left unresolved in ``reconciliation_events``.

Scenarios (the same code as the e2e tests in tests/e2e/test_venue_truth*.py):
  restart   resting orders fill while the node is stopped; the next start (warm start, reconciliation, audit)
  kill9     ``live run`` killed with SIGKILL mid-script; resting orders fill while no node runs; restart
  outage    PostgreSQL unreachable mid-script, then SIGTERM; resting orders fill; restart
  unheard   every user stream paused while the resting orders fill; one audit on demand; streams resume

Needs a PostgreSQL server (each run gets a fresh database):

    LIVE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/faults.py [-n 5]
        [--scenario restart --scenario kill9 ...]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tests.e2e.test_venue_truth import fill_never_heard_of, restart_with_fills_while_down  # noqa: E402
from tests.e2e.test_venue_truth_crash import killed_mid_trading, sigterm_during_outage  # noqa: E402
from tests.e2e.venue_truth_support import Comparison, compare_with_simulator, reconciliation_events  # noqa: E402


class TempDirs:
    """The ``mktemp`` of pytest's ``tmp_path_factory``, for the scenario generators."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self._root))


def _result(outcome: tuple[Any, ...]) -> tuple[Comparison, int]:
    sim, dsn = outcome[0], outcome[1]
    comparison = outcome[2] if isinstance(outcome[2], Comparison) else compare_with_simulator(sim, dsn)
    unresolved = sum(not e["resolved"] for e in reconciliation_events(dsn))
    return comparison, unresolved


SCENARIOS: dict[str, Callable[[Any, str], Iterator[tuple[Any, ...]]]] = {
    "restart": restart_with_fills_while_down,
    "kill9": killed_mid_trading,
    "outage": sigterm_during_outage,
    "unheard": fill_never_heard_of,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="runs per scenario")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    args = parser.parse_args()
    server = os.environ.get("LIVE_TEST_DATABASE_URL") or os.environ.get("LIVE_DATABASE_URL")
    if not server:
        parser.error("set LIVE_TEST_DATABASE_URL (a PostgreSQL server; each run creates and drops a database)")
    os.environ.setdefault("E2E_LOG_LEVEL", "ERROR")
    logging.basicConfig(level=logging.ERROR)
    names = args.scenario or list(SCENARIOS)
    print(f"{'scenario':<9} {'runs':>4} {'lost':>5} {'phantom':>8} {'wrong status':>13} {'wrong position':>15} "
          f"{'unresolved':>11} {'secs/run':>9}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="faults-") as root:
        dirs = TempDirs(Path(root))
        for name in names:
            totals = [0, 0, 0, 0, 0]
            started = time.monotonic()
            for _ in range(args.runs):
                scenario = SCENARIOS[name](dirs, server)
                try:
                    comparison, unresolved = _result(next(scenario))
                finally:
                    scenario.close()
                for i, value in enumerate((comparison.lost, comparison.phantom, comparison.wrong_status,
                                           comparison.wrong_position, unresolved)):
                    totals[i] += value
                for detail in comparison.details:
                    print(f"  {name}: {detail}", file=sys.stderr)
            failed = failed or any(totals)
            per_run = (time.monotonic() - started) / args.runs
            print(f"{name:<9} {args.runs:>4} {totals[0]:>5} {totals[1]:>8} {totals[2]:>13} {totals[3]:>15} "
                  f"{totals[4]:>11} {per_run:>9.1f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
