"""What ``live orders`` / ``fills`` / ``positions`` / ``balances`` print: the last rows matching the filters, at the
instrument's precision, in tables that fit the terminal; bad filters refused naming what is accepted."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from rich.console import Console

from backend.live import report
from backend.live.cli import EXIT_OK, main
from backend.live.cli_filters import limit_arg, since_arg, venue_arg
from backend.live.database import Database

TRADER = "LIST-001"
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ACCOUNT = "BINANCE_FUTURES-USDT_FUTURES-master"


async def seed(db: Database, orders: int = 5) -> None:
    """``orders`` BTCUSDT-PERP orders a minute apart, each with one fill; the instrument's tick is 0.1."""
    async with db.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO instruments (trader_id, instrument_id, canonical_id, venue, venue_symbol, kind, base_currency,"
            " quote_currency, settle_currency, price_increment, size_increment) VALUES ($1, 'BTCUSDT-PERP.BINANCE_FUTURES',"
            " 'BTC/USDT:USDT', 'BINANCE', 'BTCUSDT', 'perpetual', 'BTC', 'USDT', 'USDT', 0.1, 0.001)", TRADER)
        await conn.execute("INSERT INTO accounts (trader_id, account_id, venue, account_type, margin_model)"
                           " VALUES ($1, $2, 'BINANCE', 'USDT_FUTURES', 'MARGIN')", TRADER, ACCOUNT)
        for n in range(orders):
            at = START + timedelta(minutes=n)
            await conn.execute(
                "INSERT INTO unified_orders (trader_id, client_order_id, venue, account_id, instrument_id, canonical_id,"
                " side, order_type, quantity, price, lifecycle_status, lifecycle_rank, filled_qty, avg_px,"
                " first_event_at, first_event_ns, last_event_at, last_event_ns) VALUES ($1, $2, 'BINANCE', $3,"
                " 'BTCUSDT-PERP.BINANCE_FUTURES', 'BTC/USDT:USDT', 'BUY', 'LIMIT', 0.010, 50000.10000000, 'FILLED',"
                " 100, 0.010, 50003.25666666666666666666667, $4, $5, $4, $5)",
                TRADER, f"O-{n}", ACCOUNT, at, int(at.timestamp() * 1e9))
            await conn.execute(
                "INSERT INTO fills (trader_id, venue, account_id, instrument_id, trade_id, client_order_id, canonical_id,"
                " side, quantity, base_quantity, price, commission, commission_currency, liquidity_side, event_id,"
                " ts_event, ts_event_ns) VALUES ($1, 'BINANCE', $2, 'BTCUSDT-PERP.BINANCE_FUTURES', $3, $4,"
                " 'BTC/USDT:USDT', 'BUY', 0.010, 0.010, 50003.2, 0.25, 'USDT', 'TAKER', gen_random_uuid(), $5, $6)",
                TRADER, ACCOUNT, f"T-{n}", f"O-{n}", at, int(at.timestamp() * 1e9))
        await conn.execute(
            "INSERT INTO unified_positions (trader_id, canonical_id, net_quantity, avg_entry_price, realized_pnl,"
            " pnl_currency, venue_positions, updated_at, updated_ns) VALUES ($1, 'BTC/USDT:USDT', 0.050,"
            " 50003.25666666666666666666667, -0.532048, 'USDT', $2, $3, 1)",
            TRADER, '{"%s": {"base_quantity": "0.050"}}' % ACCOUNT, START)


async def listing(db: Database, which: str, width: int = 400, **filters) -> str:
    output = io.StringIO()
    await report.print_tables(db, TRADER, Console(file=output, width=width), [which], **filters)
    return output.getvalue()


async def test_prices_at_the_instruments_tick_quantities_as_stored(db):
    await seed(db, orders=1)
    orders, positions = await listing(db, "orders"), await listing(db, "positions")
    assert "50003.3" in orders and "50003.25666" not in orders  # avg_px at the 0.1 tick
    assert "50000.1 " in orders and "50000.10000000" not in orders
    assert "50003.3" in positions and "50003.25666666666666666666667" not in positions
    assert "0.050 " in positions and "0.010 " in orders


async def test_limit_shows_the_most_recent_rows_and_says_how_many_matched(db):
    await seed(db, orders=5)
    out = await listing(db, "orders", limit=2)
    assert "Orders (last 2 of 5)" in out
    assert "O-3" in out and "O-4" in out and "O-2" not in out
    assert out.index("O-3") < out.index("O-4")  # oldest first
    assert "Fills (5)" in await listing(db, "fills", limit=None)


async def test_since_keeps_the_rows_from_that_time_on(db):
    await seed(db, orders=5)
    since = START + timedelta(minutes=3)
    orders, fills = await listing(db, "orders", since=since), await listing(db, "fills", since=since)
    assert "Orders (2)" in orders and "O-2" not in orders
    assert "Fills (2)" in fills and "T-2" not in fills
    assert "Positions (0)" in await listing(db, "positions", since=since)
    assert "Balances (0)" in await listing(db, "balances", since=since)


async def test_a_narrow_terminal_drops_optional_columns_not_ids(db):
    await seed(db, orders=1)
    out = await listing(db, "orders", width=100)
    assert all(len(line) <= 100 for line in out.splitlines())
    assert "O-0" in out and "BTC/USDT:USDT" in out  # ids whole
    assert "not shown to fit 100 columns: order_type" in out


def test_unknown_venue_is_refused_with_the_known_ones():
    assert venue_arg("bybit") == "BYBIT"
    for venue in ("KRAKEN", "BINANCE_FUTURES"):
        with pytest.raises(argparse.ArgumentTypeError, match="known venues: BINANCE, BYBIT, OKX"):
            venue_arg(venue)


def test_since_takes_a_time_or_an_age():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert since_arg("2h", now) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert since_arg("2026-12-01T10:00") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert since_arg("2026-12-01T10:00+01:00") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError, match="neither a time"):
        since_arg("yesterday")
    assert limit_arg("0") is None and limit_arg("5") == 5


def test_every_listing_takes_limit_and_since(fresh_dsn, monkeypatch, capsys):
    monkeypatch.setenv("LIVE_DATABASE_URL", fresh_dsn)
    for which in ("orders", "fills", "positions", "balances"):
        assert main([which, "--trader-id", TRADER, "--limit", "3", "--since", "1d"]) == EXIT_OK
    out = capsys.readouterr().out
    for title in ("Orders (0)", "Fills (0)", "Positions (0)", "Balances (0)", "Margins (0)"):
        assert title in out
    with pytest.raises(SystemExit) as exited:
        main(["orders", "--venue", "KRAKEN"])
    assert exited.value.code == 2
    assert "known venues: BINANCE, BYBIT, OKX" in capsys.readouterr().err


def test_cell_never_prints_an_exponent():
    assert report.cell(Decimal("1E+1")) == "10" and report.cell(Decimal("0E-8")) == "0"
    assert report.cell(Decimal("99499.44990110")) == "99499.44990110"
    assert report.cell(Decimal("2849.67000000"), Decimal("0.01")) == "2849.67"
