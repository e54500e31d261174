"""OMS latency: from ``submit`` (the bus handler) to the commit of the item's row, at fixed rates.

Usage: python bench/oms_latency.py [--rates 1000 5000] [--seconds 5] [--flush-ms 10 2]
Feeds bench/oms_ingest.py's realistic mix (order lifecycles with partial fills, an account state per fill, replayed
duplicates) through the real writer, journal on, into a fresh database per run, paced every millisecond; prints
p50 / p99 / max of submit -> commit per rate and ``oms.flush_interval_ms``, beside the rate reached (the baseline:
a writer that keeps up reaches the rate it is fed). Target: p99 <= 20 ms at 5k/s. The server is
$LIVE_TEST_DATABASE_URL's, else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.live.database import Database, start_embedded_server  # noqa: E402
from backend.live.oms.journal import Journal, WriteItem  # noqa: E402
from backend.live.oms.writer import OmsWriter  # noqa: E402
from bench.oms_ingest import build_mix  # noqa: E402
from bench.oms_writer import drop_database, fresh_database  # noqa: E402


class TimedWriter(OmsWriter):
    """The writer, noting when each item's batch committed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.committed_at: dict[int, float] = {}

    async def _write_with_retry(self, batch: list[WriteItem]) -> None:
        await super()._write_with_retry(batch)
        now = time.perf_counter()
        for item in batch:
            self.committed_at.setdefault(id(item), now)


async def run(dsn: str, items: list[WriteItem], rate: float, flush_ms: float, journal_dir: Path
              ) -> tuple[list[float], float]:
    db = await Database.connect(dsn, max_size=2)
    writer = TimedWriter(db.pool, journal=Journal(journal_dir), flush_interval_ms=flush_ms)
    writer.start()
    submitted: dict[int, float] = {}
    started = time.perf_counter()
    per_tick = max(1, round(rate / 1000))
    for index in range(0, len(items), per_tick):
        now = time.perf_counter()
        for item in items[index:index + per_tick]:
            submitted[id(item)] = now
            writer.submit(item)
        due = started + (index + per_tick) / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    await writer.stop()
    elapsed = time.perf_counter() - started
    await db.close()
    latencies = sorted((writer.committed_at[key] - at) * 1000 for key, at in submitted.items())
    return latencies, len(items) / elapsed


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=float, nargs="+", default=[1000, 5000])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--flush-ms", type=float, nargs="+", default=[10, 2])
    args = parser.parse_args()
    server = os.environ.get("LIVE_TEST_DATABASE_URL") or start_embedded_server(Path(tempfile.mkdtemp()) / "pg")
    journal_root = Path(tempfile.mkdtemp(prefix="oms-latency-bench-", dir="."))
    print("submit -> commit of each item (order events and account states), journal on")
    try:
        for flush_ms in args.flush_ms:
            for rate in args.rates:
                mix, _ = build_mix(int(rate * args.seconds / 4.5), 0.1)  # about 4.5 items per order
                items = mix[1:int(rate * args.seconds) + 1]
                name, dsn = await fresh_database(server)
                try:
                    account_row = mix[:1]
                    latencies, reached = await run(dsn, account_row + items, rate, flush_ms,
                                                   journal_root / f"{flush_ms}-{rate}")
                finally:
                    await drop_database(server, name)
                print(f"  flush_interval_ms {flush_ms:>4g}, {rate:>6,.0f} items/s fed ({reached:>6,.0f} reached): "
                      f"p50 {statistics.median(latencies):6.1f} ms, p99 {percentile(latencies, 0.99):6.1f} ms, "
                      f"max {latencies[-1]:6.1f} ms ({len(latencies)} items)")
    finally:
        shutil.rmtree(journal_root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
