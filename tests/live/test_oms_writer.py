"""The batched writer on a real PostgreSQL: statuses, fills, idempotency, late events, bursts."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from backend.live.database import Database
from backend.live.oms.convert import convert_order_event
from backend.live.oms.journal import Journal
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


class SwitchablePool:
    """A pool that refuses connections while ``down`` (as during a database outage), else the real pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.down = True

    def acquire(self) -> Any:
        if self.down:
            raise ConnectionRefusedError("connection refused (test outage)")
        return self.pool.acquire()


def lifecycles(orders: int) -> list[dict[str, Any]]:
    return [e for n in range(orders) for e in limit_order_lifecycle(n, [("1.000000", "60000.00")])]


async def test_postgres_down_at_shutdown_leaves_the_items_in_the_journal_and_the_next_start_writes_them(
    db: Database, tmp_path, caplog
) -> None:
    import logging

    events = lifecycles(3)
    writer = OmsWriter(SwitchablePool(db.pool), journal=Journal(tmp_path), retry_initial_secs=0.01,
                       retry_max_secs=0.05)
    writer.start()
    for payload in events:
        writer.submit(convert_order_event(payload, REF))
    with caplog.at_level(logging.ERROR, logger="backend.live.oms.writer"):
        left = await writer.stop(timeout_secs=0.3)
    assert left == len(events) and writer.stats.retries > 0
    (line,) = [r.getMessage() for r in caplog.records if "at shutdown" in r.getMessage()]
    assert f"{len(events)} items wait in the OMS journal {tmp_path}" in line
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == 0

    recovering = OmsWriter(db.pool, journal=Journal(tmp_path))
    recovering.start()
    assert await recovering.stop() == 0
    assert recovering.stats.recovered == len(events)
    assert recovering.stats.events_written == len(events)
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(events)
    assert await db.pool.fetchval("SELECT count(*) FROM unified_orders WHERE status = 'FILLED'") == 3
    again = OmsWriter(db.pool, journal=Journal(tmp_path))
    again.start()
    await again.stop()
    assert again.stats.recovered == 0


async def test_a_crash_between_commit_and_committed_mark_writes_again_without_duplicates(db: Database, tmp_path) -> None:
    events = lifecycles(4)
    writer = OmsWriter(db.pool, journal=Journal(tmp_path))
    writer.start()
    for payload in events:
        writer.submit(convert_order_event(payload, REF))
    await writer.stop()
    before = await snapshot(db)
    (tmp_path / "committed").unlink()  # the process died right after PostgreSQL committed
    replaying = OmsWriter(db.pool, journal=Journal(tmp_path))
    replaying.start()
    await replaying.stop()
    assert replaying.stats.recovered == len(events)
    assert (replaying.stats.events_written, replaying.stats.duplicates_ignored) == (0, len(events))
    assert await snapshot(db) == before


async def test_a_long_outage_keeps_memory_bounded_and_everything_is_written_when_the_database_is_back(
    db: Database, tmp_path
) -> None:
    pool = SwitchablePool(db.pool)
    writer = OmsWriter(pool, journal=Journal(tmp_path, segment_max_bytes=8192), memory_max_items=5,
                       batch_max_rows=3, retry_initial_secs=0.01, retry_max_secs=0.02)
    writer.start()
    events = lifecycles(10)
    for payload in events:
        writer.submit(convert_order_event(payload, REF))
    assert writer.queue_depth == len(events) and writer.journal_depth == len(events)
    assert len(writer._queue) <= 5  # the rest waits in the journal only
    pool.down = False
    await writer.stop()
    assert writer.journal_depth == 0
    assert writer.stats.events_written == len(events)
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(events)
    assert await db.pool.fetchval("SELECT count(*) FROM unified_orders WHERE status = 'FILLED'") == 10
    assert len(list(tmp_path.glob("*.wal"))) == 1  # written segments were deleted


class CutOffPool:
    """The real pool, but the first transaction that writes fills loses its connection after the events were
    inserted (an outage in the middle of a batch): the transaction rolls back and the writer retries."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.cut = False

    def acquire(self) -> Any:
        import contextlib

        import asyncpg

        outer = self

        class Connection:
            def __init__(self, conn: Any) -> None:
                self._conn = conn

            def __getattr__(self, name: str) -> Any:
                return getattr(self._conn, name)

            async def copy_records_to_table(self, table: str, **kwargs: Any) -> Any:
                if table == "stage_fills" and not outer.cut:
                    outer.cut = True
                    raise asyncpg.exceptions.ConnectionDoesNotExistError("connection lost mid-batch (test)")
                return await self._conn.copy_records_to_table(table, **kwargs)

        @contextlib.asynccontextmanager
        async def acquire() -> Any:
            async with self.pool.acquire() as conn:
                yield Connection(conn)

        return acquire()


async def test_a_batch_cut_off_mid_transaction_and_retried_counts_its_rows_once(db: Database, tmp_path) -> None:
    from backend.live import sql

    assert sql.STAGE_FILLS == "stage_fills"
    events = lifecycles(5)
    pool = CutOffPool(db.pool)
    writer = OmsWriter(pool, journal=Journal(tmp_path), retry_initial_secs=0.01)
    writer.start()
    for payload in events:
        writer.submit(convert_order_event(payload, REF))
    await writer.stop()
    assert pool.cut and writer.stats.retries == 1
    assert writer.stats.events_written == len(events) == await db.pool.fetchval("SELECT count(*) FROM order_events")
    assert writer.stats.fills_written == 5 == await db.pool.fetchval("SELECT count(*) FROM fills")
    assert writer.stats.duplicates_ignored == 0


async def test_a_fill_stored_before_its_order_was_initialized_still_ends_filled(db: Database) -> None:
    initialized, submitted, accepted, filled = limit_order_lifecycle(1, [("1.000000", "60000.00")])
    await write(db, [accepted, filled])  # the quantity is not known yet: the fill cannot say "fully filled"
    assert (await order(db, "O-1"))["status"] == "PARTIALLY_FILLED"
    await write(db, [initialized, submitted])
    row = await order(db, "O-1")
    assert (row["status"], row["quantity"], row["filled_qty"]) == ("FILLED", Decimal("1.000000"), Decimal("1.000000"))


def random_account_states(seed: int) -> list[Any]:
    """Account rows and states of two accounts with equal times, late older states, unchanged repeats, margins that
    come and go, and replays: the cases where a state's place in the batch matters."""
    from backend.live.models import AccountRow, AccountStateRow, BalanceRow, MarginRow
    from backend.live.timeutil import ns_to_datetime

    rng = random.Random(seed)
    items: list[Any] = [AccountRow("T-1", a, "BYBIT", "SPOT+LINEAR", "CEFI", "BYBIT", "MARGIN", None)
                        for a in ("BYBIT-1", "BYBIT-2")]
    states = []
    for n in range(60):
        account = rng.choice(("BYBIT-1", "BYBIT-2"))
        ts = 10**12 + rng.randint(0, 12) * 10**6  # few distinct times: many ties, many late arrivals
        at = ns_to_datetime(ts)
        total = Decimal(rng.choice(("1000", "1000", "990.5", "1010")))
        locked = Decimal(rng.choice(("0", "0", "25")))
        balances = (BalanceRow("T-1", account, "USDT", total, total - locked, locked, at, ts),)
        margins = () if locked == 0 else (MarginRow("T-1", account, rng.choice(("BTCUSDT-LINEAR.BYBIT", "USDT")),
                                                    "USDT", locked, Decimal(1), at, ts),)
        states.append(AccountStateRow("T-1", f"00000000-0000-4000-8000-{n:012d}", account, "MARGIN", None, balances,
                                      margins, at, ts))
    items += states
    items += rng.sample(states, 10)  # replays inside the batch
    return items


async def test_account_states_in_one_batch_give_the_tables_of_one_state_at_a_time(fresh_dsn: str) -> None:
    """The batched account-state write decides what the one-state-at-a-time rules would have written."""
    tables = ("accounts", "account_balances", "account_margins", "account_state_history", "account_state_repeats")

    async def tables_after(items: list[Any], batch_max_rows: int) -> dict[str, list[tuple]]:
        db = await Database.connect(fresh_dsn, max_size=2)
        try:
            async with db.pool.acquire() as conn:
                await conn.execute(f"TRUNCATE {', '.join(tables)}")
            for _ in range(2):  # the second pass is a replay of everything: it changes nothing
                writer = OmsWriter(db.pool, batch_max_rows=batch_max_rows)
                writer.start()
                for item in items:
                    writer.submit(item)
                await writer.stop()
            result = {}
            for table in tables:
                rows = await db.pool.fetch(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
                result[table] = sorted(tuple(str(v) for k, v in r.items() if k not in ("recorded_at", "seq", "created_at"))
                                       for r in rows)
            return result
        finally:
            await db.close()

    for seed in range(3):
        items = random_account_states(seed)
        batched, one_by_one = await tables_after(items, 2000), await tables_after(items, 1)
        assert batched == one_by_one
        assert batched["account_state_repeats"] and batched["account_margins"] is not None
        assert len(batched["account_state_history"]) + len(batched["account_state_repeats"]) == 60


async def test_submits_from_a_timer_thread_and_the_loop_at_once_are_all_journaled_and_written(db: Database,
                                                                                              tmp_path) -> None:
    """NautilusTrader 1.231.0 runs clock-timer callbacks (a strategy's submit_order) on a Rust thread, so the OMS
    handlers run there and on the event loop at the same time: no append may break and every event lands once."""
    import asyncio
    import threading

    loop_events = lifecycles(40)
    thread_events = [e for n in range(100, 140) for e in limit_order_lifecycle(n, [("1.000000", "60000.00")])]
    writer = OmsWriter(db.pool, journal=Journal(tmp_path))
    writer.start()
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            for payload in thread_events:
                writer.submit(convert_order_event(payload, REF))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=from_thread)
    worker.start()
    for payload in loop_events:
        writer.submit(convert_order_event(payload, REF))
        await asyncio.sleep(0)
    await asyncio.to_thread(worker.join)
    await writer.stop()
    assert errors == []
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(loop_events) + len(thread_events)
    assert writer.journal.pending == 0
    reopened = Journal(tmp_path)
    assert reopened.open() == []  # every record whole and committed
    reopened.close()
