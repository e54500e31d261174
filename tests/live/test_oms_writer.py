"""The batched writer on a real PostgreSQL: statuses, fills, idempotency, late events, bursts."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from backend.live.database import Database
from backend.live.oms.convert import convert_order_event
from backend.live.oms.writer import OmsWriter
from tests.live.order_scripts import REF, limit_order_lifecycle

TABLES = ("unified_orders", "order_events", "fills")


async def write(db: Database, payloads: list[dict[str, Any]], batch_max_rows: int = 2000) -> OmsWriter:
    writer = OmsWriter(db.pool, batch_max_rows=batch_max_rows)
    writer.start()
    for payload in payloads:
        writer.submit(convert_order_event(payload, REF))
    await writer.stop()
    return writer


async def order(db: Database, client_order_id: str) -> dict[str, Any]:
    row = await db.pool.fetchrow("SELECT * FROM unified_orders WHERE client_order_id = $1", client_order_id)
    assert row is not None
    return dict(row)


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    result = {}
    for table in TABLES:
        rows = await db.pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3")  # noqa: S608 - fixed table names
        result[table] = [tuple(v for k, v in r.items() if k != "recorded_at") for r in rows]
    return result


async def test_partial_then_full_fill_derives_quantity_price_and_status_from_fills(db: Database) -> None:
    events = limit_order_lifecycle(1, [("0.250000", "60000.00"), ("0.750000", "59990.00")])
    await write(db, events[:4])
    partial = await order(db, "O-1")
    assert partial["status"] == "PARTIALLY_FILLED"
    assert partial["filled_qty"] == Decimal("0.250000")
    await write(db, events[4:])
    filled = await order(db, "O-1")
    assert filled["status"] == "FILLED"
    assert filled["filled_qty"] == Decimal("1.000000")
    # (0.25 * 60000 + 0.75 * 59990) / 1 = 59992.5, exact
    assert filled["avg_px"] == Decimal("59992.5")
    assert filled["venue_order_id"] == "1001" and filled["account_id"] == "BINANCE-001"
    fills = await db.pool.fetch("SELECT trade_id, quantity, price, commission FROM fills ORDER BY trade_id")
    assert [(r["trade_id"], r["quantity"], r["price"]) for r in fills] == [
        ("T-1-0", Decimal("0.250000"), Decimal("60000.00")),
        ("T-1-1", Decimal("0.750000"), Decimal("59990.00")),
    ]
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(events)


async def test_replaying_every_event_changes_nothing(db: Database) -> None:
    events = [e for n in range(5) for e in limit_order_lifecycle(n, [("0.500000", "60000.00")], cancel=n % 2 == 0)]
    await write(db, events)
    before = await snapshot(db)
    writer = await write(db, events)
    assert await snapshot(db) == before
    assert writer.stats.events_written == 0
    assert writer.stats.duplicates_ignored == len(events)


async def test_duplicates_inside_one_batch_are_written_once(db: Database) -> None:
    events = limit_order_lifecycle(1, [("1.000000", "60000.00")])
    writer = await write(db, events + events)
    assert writer.stats.events_written == len(events)
    assert (await order(db, "O-1"))["filled_qty"] == Decimal("1.000000")


async def test_status_never_moves_backwards_when_events_arrive_late(db: Database) -> None:
    events = limit_order_lifecycle(1, [("1.000000", "60000.00")])
    initialized, submitted, accepted, filled = events
    await write(db, [initialized, filled])
    await write(db, [accepted, submitted])  # late
    row = await order(db, "O-1")
    assert row["status"] == "FILLED"
    assert row["first_event_ns"] == initialized["ts_event"]
    assert row["last_event_ns"] == filled["ts_event"]


async def test_pending_cancel_then_canceled(db: Database) -> None:
    events = limit_order_lifecycle(1, [("0.400000", "60000.00")], cancel=True)
    await write(db, events[:-1])
    assert (await order(db, "O-1"))["status"] == "PENDING_CANCEL"
    await write(db, events[-1:])
    row = await order(db, "O-1")
    assert row["status"] == "CANCELED"
    assert row["filled_qty"] == Decimal("0.400000")


async def test_burst_of_thousands_of_fills_is_persisted_completely(db: Database) -> None:
    rng = random.Random(7)
    events: list[dict[str, Any]] = []
    expected_fills = 0
    for n in range(300):
        count = rng.randint(1, 20)
        qty = Decimal("1.000000") / count
        qty = qty.quantize(Decimal("0.000001"))
        fills = [(str(qty), f"{60000 + rng.randint(-50, 50)}.00") for _ in range(count - 1)]
        fills.append((str(Decimal("1.000000") - qty * (count - 1)), "60000.00"))
        expected_fills += count
        events.extend(limit_order_lifecycle(n, fills))
    writer = await write(db, events, batch_max_rows=500)
    assert writer.queue_depth == 0
    assert await db.pool.fetchval("SELECT count(*) FROM fills") == expected_fills
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(events)
    statuses = await db.pool.fetch("SELECT status, count(*) FROM unified_orders GROUP BY status")
    assert {r["status"]: r["count"] for r in statuses} == {"FILLED": 300}
    mismatched = await db.pool.fetchval(
        "SELECT count(*) FROM unified_orders o WHERE filled_qty <> "
        "(SELECT sum(quantity) FROM fills f WHERE f.client_order_id = o.client_order_id)"
    )
    assert mismatched == 0


async def test_a_row_the_database_refuses_goes_to_dead_letters_and_the_rest_is_written(db: Database) -> None:
    good = limit_order_lifecycle(1, [("1.000000", "60000.00")])
    bad = limit_order_lifecycle(2, [])
    bad[0] = dict(bad[0], quantity="-1")  # violates quantity > 0
    writer = await write(db, bad[:1] + good)
    assert writer.stats.dead_letters == 1
    assert (await order(db, "O-1"))["status"] == "FILLED"
    letter = await db.pool.fetchrow("SELECT kind, event_id, error FROM dead_letters")
    assert letter["kind"] == "order_event" and letter["event_id"] == bad[0]["event_id"]
    assert "quantity_check" in letter["error"]


async def test_one_batch_and_one_event_per_batch_give_the_same_tables(fresh_dsn: str, pg_server_dsn: str) -> None:
    """Folding a batch's changes per order gives exactly what applying the events one at a time gives."""
    events = [
        e for n in range(6)
        for e in limit_order_lifecycle(
            n, [("0.300000", "60000.00")] + ([] if n == 2 else [("0.700000", "60001.00")]), cancel=n == 2
        )
    ]
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)  # late and early events mixed
    snapshots = []
    for batch_size in (len(shuffled), 1):
        db = await Database.connect(fresh_dsn, max_size=2)
        try:
            async with db.pool.acquire() as conn:
                await conn.execute("TRUNCATE unified_orders, order_events, fills")
            await write(db, shuffled, batch_max_rows=batch_size)
            snapshots.append(await snapshot(db))
        finally:
            await db.close()
    assert snapshots[0] == snapshots[1]
    assert len(snapshots[0]["unified_orders"]) == 6


async def test_a_trade_id_reused_for_another_order_is_a_dead_letter_not_a_silent_drop(db: Database) -> None:
    first = limit_order_lifecycle(1, [("1.000000", "60000.00")])
    second = limit_order_lifecycle(2, [("1.000000", "60001.00")])
    second[-1] = {**second[-1], "trade_id": first[-1]["trade_id"]}  # the venue reused trade id T-1-0
    writer = await write(db, first + second)
    assert writer.stats.dead_letters == 1
    (letter,) = await db.pool.fetch("SELECT kind, error FROM dead_letters")
    assert letter["kind"] == "fill"
    assert letter["error"] == "trade id T-1-0 of BTCUSDT.BINANCE on BINANCE-001 is already recorded for order O-1"
    assert (await order(db, "O-1"))["filled_qty"] == Decimal("1.000000")
    assert (await order(db, "O-2"))["filled_qty"] == Decimal("0")


async def test_postgres_down_at_shutdown_spills_to_a_file_and_the_next_start_writes_it(db: Database, tmp_path) -> None:
    import asyncpg

    # A pool whose server never answers: every write attempt fails with a connection error and is retried.
    unreachable = await asyncpg.create_pool("postgresql://postgres@127.0.0.1:1/none", min_size=0, max_size=1)
    events = [e for n in range(3) for e in limit_order_lifecycle(n, [("1.000000", "60000.00")])]
    writer = OmsWriter(unreachable, retry_initial_secs=0.01, retry_max_secs=0.05)
    writer.start()
    for payload in events:
        writer.submit(convert_order_event(payload, REF))
    spill = await writer.stop(timeout_secs=0.5, spill_dir=tmp_path)
    await unreachable.close()
    assert spill is not None and spill.exists()
    assert writer.stats.retries > 0 and writer.queue_depth == 0

    recovering = OmsWriter(db.pool)
    recovering.start()
    assert await recovering.recover(tmp_path) == len(events)
    await recovering.stop()
    assert not spill.exists()
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(events)
    assert await db.pool.fetchval("SELECT count(*) FROM unified_orders WHERE status = 'FILLED'") == 3
    # a second recovery (e.g. a crash after writing, before deleting) would change nothing: the writes are idempotent
    assert await OmsWriter(db.pool).recover(tmp_path) == 0


def test_a_damaged_spill_file_names_the_line(tmp_path) -> None:
    import pytest

    from backend.live.oms.spill import read_spill

    path = tmp_path / "oms-spill-1.jsonl"
    path.write_text('["order_event", {"nonsense": 1}]\n')
    with pytest.raises(ValueError, match="oms-spill-1.jsonl:1: not a spilled OMS row"):
        read_spill(path)


class SwitchablePool:
    """A pool that refuses connections while ``down`` (as during a database outage), else the real pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.down = True

    def acquire(self) -> Any:
        if self.down:
            raise ConnectionRefusedError("connection refused (test outage)")
        return self.pool.acquire()


async def test_a_long_outage_moves_the_queue_to_disk_and_it_is_written_when_the_database_is_back(
    db: Database, tmp_path
) -> None:
    import asyncio

    from backend.live.oms.spill import spill_files

    pool = SwitchablePool(db.pool)
    writer = OmsWriter(pool, retry_initial_secs=0.01, retry_max_secs=0.02, spill_dir=tmp_path, spill_after_secs=0.1)
    writer.start()
    events = [e for n in range(4) for e in limit_order_lifecycle(n, [("1.000000", "60000.00")])]
    for payload in events[:10]:
        writer.submit(convert_order_event(payload, REF))
    await writer.flush()  # returns once every row is durable: here, on disk
    assert writer.queue_depth == 0 and writer.stats.spilled == 10
    assert len(spill_files(tmp_path)) == 1
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == 0

    # a process killed now would lose nothing: the next start's recover() writes the file (tested above); here the
    # database comes back while the writer still runs, and the next batch brings the spilled rows back with it
    pool.down = False
    for payload in events[10:]:
        writer.submit(convert_order_event(payload, REF))
    await writer.stop()
    await asyncio.sleep(0)
    assert spill_files(tmp_path) == []
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(events)
    assert await db.pool.fetchval("SELECT count(*) FROM unified_orders WHERE status = 'FILLED'") == 4


async def test_a_fill_stored_before_its_order_was_initialized_still_ends_filled(db: Database) -> None:
    initialized, submitted, accepted, filled = limit_order_lifecycle(1, [("1.000000", "60000.00")])
    await write(db, [accepted, filled])  # the quantity is not known yet: the fill cannot say "fully filled"
    assert (await order(db, "O-1"))["status"] == "PARTIALLY_FILLED"
    await write(db, [initialized, submitted])
    row = await order(db, "O-1")
    assert (row["status"], row["quantity"], row["filled_qty"]) == ("FILLED", Decimal("1.000000"), Decimal("1.000000"))
