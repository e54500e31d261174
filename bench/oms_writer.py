"""OMS writer throughput: our batched writer vs one INSERT per event, measured in the same run on the same server.

Usage: python bench/oms_writer.py [--orders 2000] [--fills-per-order 4]
The server is $LIVE_TEST_DATABASE_URL's, else an embedded PostgreSQL under a temporary directory. Each variant
writes into a fresh database. Prints events/s for both and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.live.database import Database, start_embedded_server  # noqa: E402
from backend.live.oms.convert import ConvertedEvent, convert_order_event  # noqa: E402
from backend.live.oms.writer import OmsWriter  # noqa: E402
from tests.live.order_scripts import REF, limit_order_lifecycle  # noqa: E402

NAIVE_INSERT = (
    "INSERT INTO order_events (trader_id, event_id, client_order_id, event_type, ts_event, ts_event_ns, ts_init_ns,"
    " payload) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8::jsonb)"
)


async def fresh_database(server_dsn: str) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name, urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))


async def drop_database(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def run_writer(dsn: str, events: list[ConvertedEvent]) -> float:
    db = await Database.connect(dsn, max_size=2)
    writer = OmsWriter(db.pool)
    writer.start()
    started = time.perf_counter()
    for event in events:
        writer.submit(event)
    await writer.stop()
    elapsed = time.perf_counter() - started
    count = await db.pool.fetchval("SELECT count(*) FROM order_events")
    await db.close()
    assert count == len(events), f"writer stored {count} of {len(events)} events"
    return elapsed


async def run_naive(dsn: str, events: list[ConvertedEvent]) -> float:
    """Baseline: one autocommitted INSERT of the event row per event (no order or fill rows at all)."""
    db = await Database.connect(dsn, max_size=2)
    started = time.perf_counter()
    async with db.pool.acquire() as conn:
        for event in events:
            await conn.execute(NAIVE_INSERT, *msgspec.structs.astuple(event.event))
    elapsed = time.perf_counter() - started
    await db.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--fills-per-order", type=int, default=4)
    args = parser.parse_args()

    server = os.environ.get("LIVE_TEST_DATABASE_URL") or start_embedded_server(Path(tempfile.mkdtemp()) / "pg")
    qty = str((Decimal(1) / args.fills_per_order).quantize(Decimal("0.000001")))
    payloads = [
        e for n in range(args.orders)
        for e in limit_order_lifecycle(n, [(qty, "60000.00")] * args.fills_per_order)
    ]
    events = [convert_order_event(p, REF) for p in payloads]
    print(f"{len(events)} order events ({args.orders} orders x (3 + {args.fills_per_order} fills)), JSONB payloads")

    results = {}
    for label, runner in (("one INSERT per event (event row only)", run_naive),
                          ("OmsWriter (events + orders + fills)", run_writer)):
        name, dsn = await fresh_database(server)
        try:
            elapsed = await runner(dsn, events)
        finally:
            await drop_database(server, name)
        results[label] = len(events) / elapsed
        print(f"  {label:42s} {results[label]:>10,.0f} events/s ({elapsed:.2f}s)")
    baseline, ours = results.values()
    print(f"ratio: OmsWriter is {ours / baseline:.1f}x the one-INSERT-per-event baseline")


if __name__ == "__main__":
    asyncio.run(main())
