"""The main queries of ``live`` and ``live serve`` read their newest rows from an index in order (no sort of the
whole table, no sequential scan), checked on EXPLAIN plans of the real statements over seeded tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from backend.live import sql
from backend.live.database import Database

TRADERS = ["T-A", "T-B", "T-C", "T-D"]
ROWS_PER_TRADER = 5_000

SEED_FILLS = """
INSERT INTO fills (trader_id, venue, account_id, instrument_id, trade_id, client_order_id, venue_order_id, strategy_id,
    canonical_id, side, quantity, base_quantity, price, commission, commission_currency, liquidity_side, event_id,
    ts_event, ts_event_ns)
SELECT t, 'BINANCE', 'BINANCE-001', 'BTCUSDT.BINANCE', g::text, 'O-' || (g / 2), g::text, 'S-1', 'BTC/USDT', 'BUY',
       0.001, 0.001, 60000, 0.01, 'USDT', 'TAKER', gen_random_uuid(), to_timestamp(1.7e9 + g * 60),
       (1.7e9 + g * 60)::bigint * 1000000000
FROM generate_series(1, $2) g, unnest($1::text[]) t
"""
SEED_ORDERS = """
INSERT INTO unified_orders (trader_id, client_order_id, venue_order_id, venue, account_id, instrument_id,
    canonical_id, side, order_type, quantity, lifecycle_status, lifecycle_rank, first_event_at, first_event_ns,
    last_event_at, last_event_ns)
SELECT t, 'O-' || g, g::text, 'BINANCE', 'BINANCE-001', 'BTCUSDT.BINANCE', 'BTC/USDT', 'BUY', 'MARKET', 0.001,
       CASE WHEN g % 100 = 0 THEN 'ACCEPTED' ELSE 'FILLED' END, CASE WHEN g % 100 = 0 THEN 30 ELSE 100 END,
       to_timestamp(1.7e9 + g * 60), (1.7e9 + g * 60)::bigint * 1000000000,
       to_timestamp(1.7e9 + g * 60 + 1), (1.7e9 + g * 60 + 1)::bigint * 1000000000
FROM generate_series(1, $2) g, unnest($1::text[]) t
"""
SEED_POSITION_HISTORY = """
INSERT INTO position_history (trader_id, canonical_id, net_quantity, realized_pnl, unrealized_pnl, venue_positions,
    recorded_at, recorded_ns)
SELECT t, 'C' || (g % 50) || '/USDT', g, 0, 0, '{}', to_timestamp(1.7e9 + g * 60), (1.7e9 + g * 60)::bigint * 1000000000
FROM generate_series(1, $2) g, unnest($1::text[]) t
"""


@pytest.fixture
async def seeded(db: Database) -> Database:
    for statement in (SEED_FILLS, SEED_ORDERS, SEED_POSITION_HISTORY):
        await db.pool.execute(statement, TRADERS, ROWS_PER_TRADER)
    await db.pool.execute("ANALYZE")
    return db


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def plan_of(db: Database, query: str, *args: Any) -> list[dict[str, Any]]:
    document = await db.pool.fetchval("EXPLAIN (FORMAT JSON) " + query, *args)
    return list(nodes(json.loads(document)[0]["Plan"]))


def scans(plan: list[dict[str, Any]], table: str) -> list[tuple[str, str | None]]:
    return [(n["Node Type"], n.get("Index Name")) for n in plan if n.get("Relation Name", "").startswith(table)]


def sorted_tables(plan: list[dict[str, Any]]) -> list[str]:
    """The tables a Sort node sorts directly (a sort of the LIMITed subquery's few rows is fine)."""
    return [child.get("Relation Name", "") for n in plan if n["Node Type"] == "Sort" for child in n.get("Plans", [])
            if child.get("Relation Name")]


async def test_live_fills_reads_the_newest_fills_from_an_index(seeded: Database) -> None:
    plan = await plan_of(seeded, sql.SELECT_FILLS, "T-B", None, None, 100)
    assert scans(plan, "fills") == [("Index Scan", "fills_trader_time_ns")], plan
    assert not sorted_tables(plan)


@pytest.mark.parametrize("trader_id, index", [("T-C", "fills_trader_page"), (None, "fills_page")])
async def test_api_fills_pages_come_from_an_index(seeded: Database, trader_id: str | None, index: str) -> None:
    plan = await plan_of(seeded, sql.SERVE_FILLS, trader_id, None, None, None, None, None, 100)
    assert scans(plan, "fills") == [("Index Scan", index)], plan
    assert plan[0]["Node Type"] == "Limit" and not any(n["Node Type"] == "Sort" for n in plan)
    cursor = 1_700_000_000_000_000_000 + 2_500 * 60 * 1_000_000_000  # the next page starts inside the index
    plan = await plan_of(seeded, sql.SERVE_FILLS, trader_id, None, None, None, cursor,
                         "00000000-0000-0000-0000-000000000000", 100)
    assert scans(plan, "fills") == [("Index Scan", index)], plan


async def test_live_orders_reads_the_newest_orders_from_an_index(seeded: Database) -> None:
    plan = await plan_of(seeded, sql.SELECT_ORDERS, "T-A", False, None, None, 100)
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
    assert [kind for kind, _ in scans(plan, "position_history")] in (["Index Scan"], ["Bitmap Heap Scan"]), plan
    assert not any(n["Node Type"] == "Seq Scan" for n in plan)
