"""OMS ingest: a realistic mix through the real writer, against one INSERT per event and a plain COPY (the ceiling).

Usage: python bench/oms_ingest.py [--orders 3000] [--replayed 0.1] [--rounds 3]
The mix: order lifecycles (initialized, submitted, accepted, 1-4 partial fills, a fifth of them canceled after a
partial fill), an account state after every fill (two balances each, as a spot venue sends them), and a share of
replayed order events (duplicates a reconnect or a restart delivers again). The writer runs as the node runs it,
journal on, into a fresh database; it must store every row it stores today (orders, events, fills, account
history and balances). The baselines, each into a fresh database, write only the order events' rows:
one autocommitted INSERT per event, and one COPY of all of them. Prints events/s for each (the writer's figure
counts order events; its account states come on top) and the ratios. The server is $LIVE_TEST_DATABASE_URL's,
else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.live.database import Database, start_embedded_server  # noqa: E402
from backend.live.models import AccountRow, AccountStateRow, BalanceRow  # noqa: E402
from backend.live.oms.convert import ConvertedEvent, convert_order_event  # noqa: E402
from backend.live.oms.journal import Journal, WriteItem  # noqa: E402
from backend.live.oms.writer import OmsWriter  # noqa: E402
from backend.live.timeutil import ns_to_datetime  # noqa: E402
from bench.oms_writer import drop_database, fresh_database, run_naive  # noqa: E402
from tests.live.order_scripts import REF, limit_order_lifecycle  # noqa: E402

TRADER, ACCOUNT_ID = "TESTER-000", "BINANCE-001"
EVENT_COLUMNS = ("trader_id", "event_id", "client_order_id", "event_type", "ts_event", "ts_event_ns", "ts_init_ns",
                 "payload")


def account_state(ts_ns: int, btc: Decimal, usdt: Decimal) -> AccountStateRow:
    at = ns_to_datetime(ts_ns)
    balances = tuple(BalanceRow(TRADER, ACCOUNT_ID, currency, total, total, Decimal(0), at, ts_ns)
                     for currency, total in (("BTC", btc), ("USDT", usdt)))
    return AccountStateRow(trader_id=TRADER, event_id=str(uuid.uuid4()), account_id=ACCOUNT_ID, margin_model="CASH",
                           base_currency=None, balances=balances, margins=(), ts_event=at, ts_event_ns=ts_ns)


def build_mix(orders: int, replayed: float, seed: int = 11) -> tuple[list[WriteItem], int]:
    """The items in arrival order, and how many distinct order events they hold."""
    rng = random.Random(seed)
    items: list[WriteItem] = [AccountRow(TRADER, ACCOUNT_ID, "BINANCE", "SPOT", "CEFI", "BINANCE_SPOT", "CASH", None)]
    btc, usdt = Decimal(0), Decimal(10_000_000)
    distinct = 0
    for n in range(orders):
        parts = rng.randint(1, 4)
        cancel = rng.random() < 0.2
        size = Decimal("0.100000") / parts
        fills = [(str(size.quantize(Decimal("0.000001"))), f"{60000 + rng.randint(-20, 20)}.00")
                 for _ in range(parts - 1 if cancel and parts > 1 else parts)]
        for payload in limit_order_lifecycle(n, fills, cancel=cancel):
            event = convert_order_event(payload, REF)
            items.append(event)
            distinct += 1
            if event.fill is not None:
                btc += event.fill.quantity
                usdt -= event.fill.quantity * event.fill.price
                items.append(account_state(event.event.ts_event_ns, btc, usdt))
    events = [i for i in items if isinstance(i, ConvertedEvent)]
    for event in rng.sample(events, int(len(events) * replayed)):
        items.insert(rng.randrange(items.index(event) + 1, len(items) + 1), event)
    return items, distinct


async def run_writer(dsn: str, items: list[WriteItem], journal_dir: Path) -> float:
    db = await Database.connect(dsn, max_size=2)
    writer = OmsWriter(db.pool, journal=Journal(journal_dir))
    writer.start()
    started = time.perf_counter()
    for item in items:
        writer.submit(item)
    await writer.stop()
    elapsed = time.perf_counter() - started
    await db.close()
    return elapsed


async def run_copy(dsn: str, events: list[ConvertedEvent]) -> float:
    db = await Database.connect(dsn, max_size=2)
    started = time.perf_counter()
    async with db.pool.acquire() as conn:
        await conn.copy_records_to_table("order_events", records=[msgspec.structs.astuple(e.event) for e in events],
                                         columns=EVENT_COLUMNS)
    elapsed = time.perf_counter() - started
    await db.close()
    return elapsed


async def counts(dsn: str) -> dict[str, int]:
    db = await Database.connect(dsn, max_size=1)
    result = {}
    for table in ("order_events", "unified_orders", "fills", "account_state_history", "account_balances"):
        result[table] = await db.pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
    await db.close()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--replayed", type=float, default=0.1, help="share of order events delivered twice")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the writer and COPY, interleaved; medians")
    args = parser.parse_args()

    server = os.environ.get("LIVE_TEST_DATABASE_URL") or start_embedded_server(Path(tempfile.mkdtemp()) / "pg")
    items, distinct = build_mix(args.orders, args.replayed)
    events = [i for i in items if isinstance(i, ConvertedEvent)]
    unique_events = list({e.event.event_id: e for e in events}.values())
    states = sum(isinstance(i, AccountStateRow) for i in items)
    fills = sum(e.fill is not None for e in unique_events)
    print(f"mix: {len(events)} order events ({distinct} distinct, {len(events) - distinct} replayed; {fills} fills) "
          f"and {states} account states from {args.orders} orders")

    journal_root = Path(tempfile.mkdtemp(prefix="oms-ingest-bench-", dir="."))
    timings: dict[str, list[float]] = {"writer": [], "insert": [], "copy": []}
    try:
        for round_number in range(args.rounds):
            for label in timings:
                if label == "insert" and timings[label]:
                    continue  # the slow baseline once is enough
                name, dsn = await fresh_database(server)
                try:
                    if label == "writer":
                        timings[label].append(await run_writer(dsn, items, journal_root / str(round_number)))
                        stored = await counts(dsn)
                        assert stored["order_events"] == distinct and stored["fills"] == fills, stored
                        assert stored["unified_orders"] == args.orders, stored
                        assert stored["account_state_history"] == states, stored
                    elif label == "insert":
                        timings[label].append(await run_naive(dsn, unique_events))
                    else:
                        timings[label].append(await run_copy(dsn, unique_events))
                finally:
                    await drop_database(server, name)
    finally:
        shutil.rmtree(journal_root, ignore_errors=True)
    writer, insert, copy = (len(events if k == "writer" else unique_events) / statistics.median(v)
                            for k, v in timings.items())
    print(f"  OmsWriter, journal on (orders, events, fills, accounts) {writer:>10,.0f} order events/s "
          f"(+{states / statistics.median(timings['writer']):,.0f} account states/s)")
    print(f"  one INSERT per event (event row only)                  {insert:>10,.0f} events/s")
    print(f"  plain COPY of the event rows (the ceiling)             {copy:>10,.0f} events/s")
    print(f"ratio: OmsWriter is {writer / insert:.1f}x one INSERT per event (target >= 25x) and "
          f"{writer / copy:.0%} of the plain COPY (target >= 40%)")


if __name__ == "__main__":
    asyncio.run(main())
