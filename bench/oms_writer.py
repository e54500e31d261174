"""OMS writer throughput: our batched writer with the write-ahead journal on and off, and one INSERT per event,
measured in the same run on the same server.

Usage: python bench/oms_writer.py [--orders 2000] [--fills-per-order 4] [--rate 10000]
The server is $LIVE_TEST_DATABASE_URL's, else an embedded PostgreSQL under a temporary directory. Each variant
writes into a fresh database (the journal into a fresh directory on the working directory's disk). Prints events/s
for each and the ratios: a burst (everything submitted at once: the writer's ceiling) and a paced feed at
``--rate`` events/s (what a node sees), where the figure is the rate until the last event is committed.
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
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.live.database import Database, start_embedded_server  # noqa: E402
from backend.live.oms.convert import ConvertedEvent, convert_order_event  # noqa: E402
from backend.live.oms.journal import Journal  # noqa: E402
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


async def run_writer(dsn: str, events: list[ConvertedEvent], journal_dir: Path | None = None,
                     rate: float | None = None) -> float:
    db = await Database.connect(dsn, max_size=2)
    writer = OmsWriter(db.pool, journal=Journal(journal_dir) if journal_dir is not None else None)
    writer.start()
    started = time.perf_counter()
    if rate is None:
        for event in events:
            writer.submit(event)
    else:  # paced: each millisecond's share of events, submitted as the bus would deliver them
        per_tick = max(1, int(rate / 1000))
        for index in range(0, len(events), per_tick):
            for event in events[index:index + per_tick]:
                writer.submit(event)
            due = started + (index + per_tick) / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
    await writer.stop()
    elapsed = time.perf_counter() - started
    count = await db.pool.fetchval("SELECT count(*) FROM order_events")
    await db.close()
    assert count == len(events), f"writer stored {count} of {len(events)} events"
    return elapsed


def journal_append_cost(events: list[ConvertedEvent], directory: Path) -> tuple[float, int]:
    """Microseconds per ``Journal.append`` (what the event loop pays per item) and the fsyncs it took."""
    journal = Journal(directory)
    journal.open()
    started = time.perf_counter()
    for event in events:
        journal.append(event)
    elapsed = time.perf_counter() - started
    journal.wait_durable()
    fsyncs = journal.fsyncs
    journal.close()
    return elapsed / len(events) * 1e6, fsyncs


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
    parser.add_argument("--rate", type=float, default=10_000, help="events/s of the paced runs")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every variant, interleaved; medians shown")
    args = parser.parse_args()

    server = os.environ.get("LIVE_TEST_DATABASE_URL") or start_embedded_server(Path(tempfile.mkdtemp()) / "pg")
    qty = str((Decimal(1) / args.fills_per_order).quantize(Decimal("0.000001")))
    payloads = [
        e for n in range(args.orders)
        for e in limit_order_lifecycle(n, [(qty, "60000.00")] * args.fills_per_order)
    ]
    events = [convert_order_event(p, REF) for p in payloads]
    print(f"{len(events)} order events ({args.orders} orders x (3 + {args.fills_per_order} fills)), JSONB payloads")

    journal_root = Path(tempfile.mkdtemp(prefix="oms-journal-bench-", dir="."))
    variants = {
        "one INSERT per event (event row only)": lambda dsn: run_naive(dsn, events),
        "OmsWriter, journal off, burst": lambda dsn: run_writer(dsn, events),
        "OmsWriter, journal on, burst": lambda dsn: run_writer(dsn, events, journal_root / "burst"),
        f"OmsWriter, journal off, {args.rate:,.0f}/s": lambda dsn: run_writer(dsn, events, rate=args.rate),
        f"OmsWriter, journal on, {args.rate:,.0f}/s": lambda dsn: run_writer(dsn, events, journal_root / "paced",
                                                                            rate=args.rate),
    }
    timings: dict[str, list[float]] = {label: [] for label in variants}
    try:
        for _ in range(args.rounds):  # interleaved, so a busy moment of the machine hits every variant alike
            for label, runner in variants.items():
                if label.startswith("one INSERT") and timings[label]:
                    continue  # the slow baseline once is enough
                name, dsn = await fresh_database(server)
                try:
                    timings[label].append(await runner(dsn))
                finally:
                    await drop_database(server, name)
        append_us, fsyncs = journal_append_cost(events, journal_root / "append")
    finally:
        shutil.rmtree(journal_root, ignore_errors=True)
    results = {}
    for label, elapsed in timings.items():
        results[label] = len(events) / statistics.median(elapsed)
        print(f"  {label:42s} {results[label]:>10,.0f} events/s (median of {len(elapsed)}: "
              f"{statistics.median(elapsed):.2f}s)")
    naive, off, on, paced_off, paced_on = results.values()
    print(f"ratio: OmsWriter (journal on) is {on / naive:.1f}x the one-INSERT-per-event baseline")
    print(f"journal cost, burst: {1 - on / off:+.1%} of throughput ({on:,.0f} vs {off:,.0f} events/s)")
    print(f"journal cost at {args.rate:,.0f} events/s: {1 - paced_on / paced_off:+.1%} ({paced_on:,.0f} vs "
          f"{paced_off:,.0f} events/s until the last commit)")
    print(f"journal append on the event loop: {append_us:.1f} us/event = {append_us * args.rate / 1e4:.1f}% of one "
          f"core at {args.rate:,.0f} events/s; {fsyncs} fsyncs for {len(events)} appends (group commit)")


if __name__ == "__main__":
    asyncio.run(main())
