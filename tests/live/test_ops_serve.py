"""``live serve``'s JSON API over a real database: filters, keyset paging, every bad parameter at once, read-only."""

from __future__ import annotations

import json

import aiohttp
import asyncpg
import pytest

from backend.live.serve.app import DashboardServer, open_read_only_pool

ORDERS = [  # trader, client_order_id, venue, instrument, canonical, rank, status, last_event_ns
    ("A-001", "O-1", "BINANCE", "BTCUSDT.BINANCE", "BTC/USDT", 100, "FILLED", 1_000),
    ("A-001", "O-2", "BINANCE", "BTCUSDT.BINANCE", "BTC/USDT", 30, "ACCEPTED", 2_000),
    ("A-001", "O-3", "OKX", "BTC-USDT-SWAP.OKX", "BTC/USDT:USDT", 30, "ACCEPTED", 3_000),
    ("B-002", "O-1", "BYBIT", "BTCUSDT-LINEAR.BYBIT", "BTC/USDT:USDT", 30, "ACCEPTED", 4_000),
]


@pytest.fixture
async def api(db, fresh_dsn):
    async with db.pool.acquire() as conn:
        for trader, order_id, venue, instrument, canonical, rank, status, ns in ORDERS:
            await conn.execute(
                "INSERT INTO unified_orders (trader_id, client_order_id, venue, instrument_id, canonical_id, side, "
                "order_type, quantity, price, lifecycle_status, lifecycle_rank, first_event_at, first_event_ns, "
                "last_event_at, last_event_ns) VALUES ($1, $2, $3, $4, $5, 'BUY', 'LIMIT', 0.010, 50000.10, $6, $7, "
                "to_timestamp($8 / 1e9), $8, to_timestamp($8 / 1e9), $8)",
                trader, order_id, venue, instrument, canonical, status, rank, ns)
        await conn.execute(
            "INSERT INTO accounts (trader_id, account_id, venue, account_type) VALUES ('A-001', 'OKX-master', 'OKX', "
            "'SWAP'), ('A-001', 'BINANCE-spot', 'BINANCE', 'SPOT')")
        await conn.execute(
            "INSERT INTO account_balances (trader_id, account_id, currency, total, free, locked, updated_at, updated_ns) "
            "VALUES ('A-001', 'OKX-master', 'USDT', 1000.123456789012345678, 900, 100.123456789012345678, now(), 1), "
            "('A-001', 'BINANCE-spot', 'USDT', 5, 5, 0.00000000, now(), 1)")
        await conn.execute(
            "INSERT INTO unified_positions (trader_id, canonical_id, net_quantity, venue_positions, updated_at, "
            "updated_ns) VALUES ('A-001', 'BTC/USDT:USDT', 0.03, $1::jsonb, now(), 1)",
            json.dumps({"OKX-master": {"venue": "OKX", "account_id": "OKX-master", "instrument_id": "BTC-USDT-SWAP.OKX",
                                       "side": "LONG", "quantity": "3", "base_quantity": "0.03"}}))
    pool = await open_read_only_pool(fresh_dsn)
    server = DashboardServer(pool, "127.0.0.1", 0)
    url = await server.start()
    async with aiohttp.ClientSession() as session:
        yield url, session, pool
    await server.stop()
    await pool.close()


async def _get(session, url):
    async with session.get(url) as response:
        return response.status, await response.json()


async def test_orders_filter_by_trader_venue_instrument_and_status(api):
    url, session, _ = api
    _, body = await _get(session, url + "/api/orders")
    assert [(o["trader_id"], o["client_order_id"]) for o in body["items"]] == [
        ("B-002", "O-1"), ("A-001", "O-3"), ("A-001", "O-2"), ("A-001", "O-1")]
    assert body["items"][0]["quantity"] == "0.010" and body["items"][0]["price"] == "50000.10"
    _, body = await _get(session, url + "/api/orders?trader=A-001&status=open")
    assert [o["client_order_id"] for o in body["items"]] == ["O-3", "O-2"]
    _, body = await _get(session, url + "/api/orders?venue=okx")
    assert [o["client_order_id"] for o in body["items"]] == ["O-3"]
    _, body = await _get(session, url + "/api/orders?instrument=BTC/USDT:USDT")
    assert [o["trader_id"] for o in body["items"]] == ["B-002", "A-001"]
    _, body = await _get(session, url + "/api/orders?status=filled&since=1970-01-01T00:00:00Z")
    assert [o["client_order_id"] for o in body["items"]] == ["O-1"]


async def test_pages_follow_the_cursor_without_repeats_or_gaps(api):
    url, session, _ = api
    seen, cursor = [], ""
    for _ in range(5):
        status, body = await _get(session, url + "/api/orders?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        seen += [(o["trader_id"], o["client_order_id"]) for o in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [("B-002", "O-1"), ("A-001", "O-3"), ("A-001", "O-2"), ("A-001", "O-1")]


async def test_every_bad_parameter_is_named_in_one_answer(api):
    url, session, _ = api
    status, body = await _get(session, url + "/api/orders?limit=0&since=yesterday&venue=KRAKEN&status=done&x=1"
                                             "&cursor=garbage")
    assert status == 400
    assert sorted(body["errors"]) == ["cursor", "limit", "since", "status", "venue", "x"]
    assert "KRAKEN" in body["errors"]["venue"] and "1 to 1000" in body["errors"]["limit"]


async def test_positions_carry_their_per_venue_breakdown_and_balances_stay_exact(api):
    url, session, _ = api
    _, body = await _get(session, url + "/api/positions?venue=OKX")
    assert [p["canonical_id"] for p in body["items"]] == ["BTC/USDT:USDT"]
    assert body["items"][0]["net_quantity"] == "0.03"
    assert body["items"][0]["venue_positions"][0]["instrument_id"] == "BTC-USDT-SWAP.OKX"
    _, body = await _get(session, url + "/api/positions?venue=BYBIT")
    assert body["items"] == []
    _, body = await _get(session, url + "/api/balances?venue=OKX")
    assert [(b["account_id"], b["total"], b["locked"]) for b in body["items"]] == [
        ("OKX-master", "1000.123456789012345678", "100.123456789012345678")]
    _, body = await _get(session, url + "/api/balances?venue=BINANCE")
    assert [(b["total"], b["locked"]) for b in body["items"]] == [("5", "0.00000000")]  # never 0E-8


async def test_nodes_show_heartbeat_version_and_health(api, fresh_dsn):
    url, session, _ = api
    writer = await asyncpg.connect(fresh_dsn)
    try:
        await writer.execute(
            "INSERT INTO nodes (trader_id, host, pid, version, started_at, last_heartbeat, stopped_at, lock_key) VALUES "
            "('A-001', 'box-a', 11, '0.2.0', now(), now(), NULL, 1), "
            "('B-002', 'box-b', 12, '0.2.0', now() - interval '1 hour', now() - interval '10 minutes', NULL, 2), "
            "('C-003', 'box-c', 13, '0.1.0', now() - interval '1 day', now() - interval '1 day', now(), 3)")
    finally:
        await writer.close()
    _, body = await _get(session, url + "/api/nodes")
    assert [(n["trader_id"], n["health"], n["version"]) for n in body["items"]] == [
        ("A-001", "running", "0.2.0"), ("B-002", "no heartbeat", "0.2.0"), ("C-003", "stopped", "0.1.0")]
    assert float(body["items"][1]["heartbeat_age_secs"]) >= 600
    _, body = await _get(session, url + "/api/nodes?trader=B-002")
    assert [n["host"] for n in body["items"]] == ["box-b"]


async def test_tables_that_do_not_exist_yet_answer_an_empty_list(api, fresh_dsn):
    url, session, _ = api
    admin = await asyncpg.connect(fresh_dsn)
    try:
        await admin.execute("DROP TABLE reconciliation_events")
    finally:
        await admin.close()
    status, body = await _get(session, url + "/api/reconciliation")
    assert (status, body) == (200, {"items": [], "next_cursor": None})
    status, body = await _get(session, url + "/api/openapi.json")
    assert status == 200 and body["openapi"].startswith("3.")
    assert {"/api/orders", "/api/fills", "/api/positions", "/api/balances", "/api/nodes"} <= set(body["paths"])
    _, body = await _get(session, url + "/api/traders")
    assert body["items"] == ["A-001", "B-002"]


async def test_the_service_cannot_write(api):
    _, _, pool = api
    with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
        await pool.execute("DELETE FROM unified_orders")


async def test_the_dashboard_page_is_served(api):
    url, session, _ = api
    async with session.get(url + "/") as response:
        assert response.status == 200 and "text/html" in response.headers["Content-Type"]
        assert "/api/orders" in await response.text()
