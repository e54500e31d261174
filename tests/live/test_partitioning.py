"""Growth over time: the append-only tables are partitioned by month (migration 0007) with idempotency kept exactly,
partitions are created ahead and old ones dropped (``backend/live/partitions.py``), and the main queries of ``live``
and ``live serve`` read their newest rows from indexes in order with partition pruning (EXPLAIN of the real
statements over seeded tables)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.live import sql
from backend.live.database import Database, load_migrations, migrate
from backend.live.partitions import apply_retention, ensure_partitions, maintain

TRADERS = ["T-A", "T-B", "T-C", "T-D"]
ROWS_PER_TRADER = 5_000

SEED_FILLS = """
INSERT INTO fills (trader_id, venue, account_id, instrument_id, trade_id, client_order_id, venue_order_id, strategy_id,
    canonical_id, side, quantity, base_quantity, price, commission, commission_currency, liquidity_side, event_id,
    ts_event, ts_event_ns)
SELECT t, 'BINANCE', 'BINANCE-001', 'BTCUSDT.BINANCE', g::text, 'O-' || (g / 2), g::text, 'S-1', 'BTC/USDT', 'BUY',
       0.001, 0.001, 60000, 0.01, 'USDT', 'TAKER', gen_random_uuid(), to_timestamp($3 + g * $4),
       ($3 + g * $4)::bigint * 1000000000
FROM generate_series(1, $2) g, unnest($1::text[]) t
"""
SEED_ORDERS = """
INSERT INTO unified_orders (trader_id, client_order_id, venue_order_id, venue, account_id, instrument_id,
    canonical_id, side, order_type, quantity, lifecycle_status, lifecycle_rank, first_event_at, first_event_ns,
    last_event_at, last_event_ns)
SELECT t, 'O-' || g, g::text, 'BINANCE', 'BINANCE-001', 'BTCUSDT.BINANCE', 'BTC/USDT', 'BUY', 'MARKET', 0.001,
       CASE WHEN g % 100 = 0 THEN 'ACCEPTED' ELSE 'FILLED' END, CASE WHEN g % 100 = 0 THEN 30 ELSE 100 END,
       to_timestamp($3 + g * $4), ($3 + g * $4)::bigint * 1000000000,
       to_timestamp($3 + g * $4 + 1), ($3 + g * $4 + 1)::bigint * 1000000000
FROM generate_series(1, $2) g, unnest($1::text[]) t
"""
SEED_POSITION_HISTORY = """
INSERT INTO position_history (trader_id, canonical_id, net_quantity, realized_pnl, unrealized_pnl, venue_positions,
    recorded_at, recorded_ns)
SELECT t, 'C' || (g % 50) || '/USDT', g, 0, 0, '{}', to_timestamp($3 + g * $4), ($3 + g * $4)::bigint * 1000000000
FROM generate_series(1, $2) g, unnest($1::text[]) t
"""


NOW = datetime.now(UTC)
SEED_START = (NOW - timedelta(days=120)).timestamp()  # four months of rows, up to now
SEED_STEP = 120 * 86400 / ROWS_PER_TRADER


@pytest.fixture
async def seeded(db: Database) -> Database:
    async with db.pool.acquire() as conn:
        await ensure_partitions(conn, since=(NOW - timedelta(days=130)).date())
    for statement in (SEED_FILLS, SEED_ORDERS, SEED_POSITION_HISTORY):
        await db.pool.execute(statement, TRADERS, ROWS_PER_TRADER, SEED_START, SEED_STEP)
    await db.pool.execute("ANALYZE")
    return db


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def plan_of(db: Database, query: str, *args: Any) -> list[dict[str, Any]]:
    document = await db.pool.fetchval("EXPLAIN (FORMAT JSON) " + query, *args)
    return list(nodes(json.loads(document)[0]["Plan"]))


def listed(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The part of a listing's plan under its LIMIT: the rows shown (the matching count is a subplan of its own)."""
    return list(nodes(next(n for n in plan if n["Node Type"] == "Limit")))


def scans(plan: list[dict[str, Any]], table: str) -> list[tuple[str, str | None]]:
    return [(n["Node Type"], n.get("Index Name")) for n in plan if n.get("Relation Name", "").startswith(table)]


def partition_scans(plan: list[dict[str, Any]], table: str) -> dict[str, str]:
    """{partition: how it is read} for a partitioned table (its partitions are named ``<table>_p<YYYYMM>``)."""
    return {n["Relation Name"]: n["Node Type"] for n in plan
            if n.get("Relation Name", "").startswith(table + "_")}


def month_partitions(since: datetime) -> set[str]:
    months, month = set(), since.replace(day=1)
    while month <= NOW:
        months.add(f"fills_p{month:%Y%m}")
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def sorted_tables(plan: list[dict[str, Any]]) -> list[str]:
    """The tables a Sort node sorts directly (a sort of the LIMITed subquery's few rows is fine)."""
    return [child.get("Relation Name", "") for n in plan if n["Node Type"] == "Sort" for child in n.get("Plans", [])
            if child.get("Relation Name")]


async def test_live_fills_reads_the_newest_fills_from_an_index(seeded: Database) -> None:
    plan = listed(await plan_of(seeded, sql.SELECT_FILLS, "T-B", None, None, 100))
    read = partition_scans(plan, "fills")
    assert len(read) >= 4 and set(read.values()) == {"Index Scan"}, plan  # every month, each from its index
    assert any(n["Node Type"] == "Merge Append" for n in plan) and not sorted_tables(plan)
    assert all(n["Index Name"].endswith("trader_id_ts_event_ns_trade_id_idx") for n in plan
               if n.get("Relation Name", "").startswith("fills_") and n["Plan Rows"] > 10), plan


async def test_live_fills_since_reads_only_the_partitions_of_those_months(seeded: Database) -> None:
    since = NOW - timedelta(days=20)
    plan = await plan_of(seeded, sql.SELECT_FILLS, "T-B", None, since, 100)  # the rows and their count
    read = set(partition_scans(plan, "fills"))
    older = month_partitions(NOW - timedelta(days=125)) - month_partitions(since)
    assert len(older) >= 3 and {r["name"] for r in await seeded.pool.fetch(sql.LIST_MONTH_PARTITIONS, "fills")} >= older
    assert month_partitions(since) <= read and not read & older, plan  # the older months are pruned


@pytest.mark.parametrize("trader_id, index", [("T-C", r"fills_(p\d{6}|default)_trader_id_ts_event_ns_event_id_idx"),
                                               (None, r"fills_(p\d{6}|default)_ts_event_ns_event_id_idx")])
async def test_api_fills_pages_come_from_an_index(seeded: Database, trader_id: str | None, index: str) -> None:
    plan = await plan_of(seeded, sql.SERVE_FILLS, trader_id, None, None, None, None, None, 100)
    read = partition_scans(plan, "fills")
    assert read and set(read.values()) == {"Index Scan"}, plan
    assert plan[0]["Node Type"] == "Limit" and not any(n["Node Type"] == "Sort" for n in plan)
    assert all(re.fullmatch(index, n["Index Name"]) for n in plan  # (an empty month may be read from any index)
               if n.get("Relation Name", "").startswith("fills_") and n["Plan Rows"] > 10), plan
    cursor = int((SEED_START + ROWS_PER_TRADER // 2 * SEED_STEP) * 1e9)  # the next page starts inside the index
    plan = await plan_of(seeded, sql.SERVE_FILLS, trader_id, None, None, None, cursor,
                         "00000000-0000-0000-0000-000000000000", 100)
    assert set(partition_scans(plan, "fills").values()) == {"Index Scan"}, plan


async def test_live_orders_reads_the_newest_orders_from_an_index(seeded: Database) -> None:
    plan = listed(await plan_of(seeded, sql.SELECT_ORDERS, "T-A", False, None, None, 100))
    assert scans(plan, "unified_orders") == [("Index Scan", "unified_orders_trader_first")], plan
    assert not sorted_tables(plan)


@pytest.mark.parametrize("trader_id, index", [("T-D", "unified_orders_trader_page"), (None, "unified_orders_page")])
async def test_api_orders_pages_come_from_an_index(seeded: Database, trader_id: str | None, index: str) -> None:
    plan = await plan_of(seeded, sql.SERVE_ORDERS, trader_id, None, None, None, None, None, None, None, 100)
    assert scans(plan, "unified_orders") == [("Index Scan", index)], plan
    assert not any(n["Node Type"] == "Sort" for n in plan)


async def test_a_positions_history_is_read_from_its_index(seeded: Database) -> None:
    plan = await plan_of(seeded, "SELECT net_quantity, recorded_at FROM position_history WHERE trader_id = $1 "
                                 "AND canonical_id = $2 ORDER BY recorded_ns DESC LIMIT 50", "T-A", "C7/USDT")
    kinds = set(partition_scans(plan, "position_history").values())
    assert kinds and kinds <= {"Index Scan", "Bitmap Heap Scan"}, plan
    assert not any(n["Node Type"] == "Seq Scan" for n in plan)


# --- idempotency on partitioned tables, partitions ahead, retention ------------------------------------------------

def fill_args(trade_id: str, ts: datetime, event_id: str | None = None) -> tuple:
    return ("T-1", "BINANCE", "BINANCE-001", "BTCUSDT.BINANCE", trade_id, "O-1", "1", "S-1", "BTC/USDT", "BUY",
            Decimal("0.001"), Decimal("0.001"), Decimal("60000.1"), Decimal("0.01"), "USDT", "TAKER",
            event_id or str(uuid.uuid4()), ts, int(ts.timestamp() * 1e9))


def event_args(event_id: str, ts: datetime) -> tuple:
    return ("T-1", event_id, "O-1", "OrderSubmitted", ts, int(ts.timestamp() * 1e9), 1, "{}")


async def test_a_replayed_event_and_a_trade_reported_again_change_nothing(db: Database) -> None:
    ts = NOW - timedelta(days=3)
    event_id = str(uuid.uuid4())
    for _ in range(2):  # a replay: the same event, the same id and time
        await db.pool.execute(sql.INSERT_AUDIT_ORDER_EVENT, *event_args(event_id, ts))
    # the same venue trade as another event (a reconciliation report, the audit): new event id, another time
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("77", ts))
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("77", ts + timedelta(days=40)))
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == 1
    rows = await db.pool.fetch("SELECT trade_id, ts_event FROM fills")
    assert [(r["trade_id"], r["ts_event"]) for r in rows] == [("77", ts)]
    assert await db.pool.fetchval("SELECT count(*) FROM fill_keys") == 1


async def test_deleted_or_truncated_fills_can_be_stored_again(db: Database) -> None:
    ts = NOW - timedelta(days=1)
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("1", ts))
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("2", ts))
    await db.pool.execute("DELETE FROM fills WHERE trade_id = '1'")
    assert [r["trade_id"] for r in await db.pool.fetch("SELECT trade_id FROM fill_keys")] == ["2"]
    await db.pool.execute("TRUNCATE fills")
    assert await db.pool.fetchval("SELECT count(*) FROM fill_keys") == 0
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("2", ts))
    assert await db.pool.fetchval("SELECT count(*) FROM fills") == 1


async def test_rows_without_their_month_wait_in_the_default_partition_and_move_when_it_is_created(db: Database) -> None:
    far = datetime(NOW.year + 2, 5, 17, 12, tzinfo=UTC)  # beyond the months created ahead
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("9", far))
    assert await db.pool.fetchval("SELECT count(*) FROM fills_default") == 1
    async with db.pool.acquire() as conn:
        created = await ensure_partitions(conn, months_ahead=0, since=far.date())
    assert f"fills_p{far:%Y%m}" in created
    assert await db.pool.fetchval("SELECT count(*) FROM fills_default") == 0
    assert await db.pool.fetchval(f"SELECT count(*) FROM fills_p{far:%Y%m}") == 1
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("9", far))  # still idempotent after the move
    assert await db.pool.fetchval("SELECT count(*) FROM fills") == 1


async def test_maintain_creates_months_ahead_and_retention_drops_old_months(db: Database) -> None:
    old = NOW - timedelta(days=200)
    async with db.pool.acquire() as conn:
        await ensure_partitions(conn, since=old.date())
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("old", old))
    await db.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("new", NOW))
    await db.pool.execute(sql.INSERT_AUDIT_ORDER_EVENT, *event_args(str(uuid.uuid4()), old))
    report = await maintain(db.pool, months_ahead=5, retention_months=3, detach_only=False)
    ahead = (NOW + timedelta(days=5 * 31)).replace(day=1)
    assert f"order_events_p{ahead:%Y%m}" in report.created
    assert f"fills_p{old:%Y%m}" in report.dropped and f"order_events_p{old:%Y%m}" in report.dropped
    assert all(name.rsplit("_p", 1)[1] < f"{NOW - timedelta(days=62):%Y%m}" for name in report.dropped)
    assert [r["trade_id"] for r in await db.pool.fetch("SELECT trade_id FROM fills")] == ["new"]
    assert [r["trade_id"] for r in await db.pool.fetch("SELECT trade_id FROM fill_keys")] == ["new"]
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == 0
    assert await db.pool.fetchval("SELECT to_regclass($1) IS NULL", f"fills_p{old:%Y%m}")
    assert report.default_rows == {"order_events": 0, "fills": 0, "account_state_history": 0, "position_history": 0}


async def test_retention_can_detach_and_keep_the_old_months(db: Database) -> None:
    old = NOW - timedelta(days=200)
    async with db.pool.acquire() as conn:
        await ensure_partitions(conn, since=old.date())
        detached, dropped = await apply_retention(conn, 3, detach_only=True)
    assert f"fills_p{old:%Y%m}" in detached and dropped == []
    assert await db.pool.fetchval("SELECT to_regclass($1) IS NOT NULL", f"fills_p{old:%Y%m}")  # a table of its own
    names = {r["name"] for r in await db.pool.fetch(sql.LIST_MONTH_PARTITIONS, "fills")}
    assert f"fills_p{old:%Y%m}" not in names


async def test_the_migration_keeps_existing_rows_and_their_idempotency(empty_dsn: str) -> None:
    migrations = load_migrations()
    before = [m for m in migrations if m.version < 7]
    database = await Database.connect(empty_dsn, run_migrations=False)
    try:
        await migrate(database.pool, before)
        ts = NOW - timedelta(days=75)
        await database.pool.execute(sql.INSERT_AUDIT_FILL.replace("ON CONFLICT DO NOTHING", ""), *fill_args("5", ts))
        event_id = str(uuid.uuid4())
        await database.pool.execute(sql.INSERT_AUDIT_ORDER_EVENT.replace(", ts_event) DO", ") DO"),
                                    *event_args(event_id, ts))
        await migrate(database.pool, migrations)
        assert await database.pool.fetchval(f"SELECT count(*) FROM fills_p{ts:%Y%m}") == 1
        assert await database.pool.fetchval("SELECT count(*) FROM fill_keys") == 1
        await database.pool.execute(sql.INSERT_AUDIT_FILL, *fill_args("5", NOW))
        await database.pool.execute(sql.INSERT_AUDIT_ORDER_EVENT, *event_args(event_id, ts))
        assert await database.pool.fetchval("SELECT count(*) FROM fills") == 1
        assert await database.pool.fetchval(f"SELECT count(*) FROM order_events_p{ts:%Y%m}") == 1
        assert await database.pool.fetchval("SELECT count(*) FROM order_events") == 1
    finally:
        await database.close()
