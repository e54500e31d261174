"""`live fills` over a long history: the listing from its index (migration 0006, monthly partitions of 0007) against
the same statement without index scans (a sequential scan and a sort of every fill, as before), in the same run.

Usage: python bench/listings.py [--fills 200000] [--runs 5]
Seeds ``--fills`` fills of one trader spread over five months into a fresh database ($LIVE_TEST_DATABASE_URL's
server, else an embedded PostgreSQL) and prints the median execution time (EXPLAIN ANALYZE) of ``sql.SELECT_FILLS``
for the last 100 fills, both ways, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.live import sql  # noqa: E402
from backend.live.database import Database, start_embedded_server  # noqa: E402
from backend.live.partitions import ensure_partitions  # noqa: E402
from bench.oms_writer import drop_database, fresh_database  # noqa: E402
from tests.live.test_partitioning import SEED_FILLS  # noqa: E402

SECONDS = 150 * 86400


async def median_ms(db: Database, runs: int, settings: tuple[str, ...]) -> float:
    async with db.pool.acquire() as conn:
        for setting in settings:
            await conn.execute(setting)
        times = []
        for _ in range(runs):
            document = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.SELECT_FILLS, "T-A", None, None, 100)
            times.append(json.loads(document)[0]["Execution Time"])
        await conn.execute("RESET ALL")
    return statistics.median(times)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fills", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = os.environ.get("LIVE_TEST_DATABASE_URL") or start_embedded_server(Path(tempfile.mkdtemp()) / "pg")
    name, dsn = await fresh_database(server)
    try:
        db = await Database.connect(dsn, max_size=2)
        async with db.pool.acquire() as conn:
            await ensure_partitions(conn, since=(datetime.now(UTC) - timedelta(seconds=SECONDS)).date())
        await db.pool.execute(SEED_FILLS, ["T-A"], args.fills, time.time() - SECONDS, SECONDS / args.fills)
        await db.pool.execute("VACUUM ANALYZE fills")
        indexed = await median_ms(db, args.runs, ())
        scanned = await median_ms(db, args.runs, ("SET enable_indexscan = off", "SET enable_bitmapscan = off",
                                                  "SET enable_indexonlyscan = off"))
        await db.close()
    finally:
        await drop_database(server, name)
    print(f"live fills, last 100 of {args.fills} fills: {indexed:.1f} ms from the index, {scanned:.1f} ms by "
          f"sequential scan + sort: {scanned / indexed:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
