"""``live demo`` (what ``make demo`` runs): the simulator as its own process, a node trading on all six account types,
and the tables printed at the end. Runs against a fresh test database instead of the embedded one."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from backend.live.demo import run_demo
from tests.e2e.live_support import fetch

pytestmark = pytest.mark.timeout(180)


def test_demo_trades_on_every_venue_and_prints_the_tables(fresh_dsn, tmp_path, monkeypatch):
    monkeypatch.setenv("LIVE_DATABASE_URL", fresh_dsn)
    output = io.StringIO()
    exit_code = asyncio.run(run_demo(Console(file=output, width=200), duration_secs=12, work_dir=tmp_path))
    printed = output.getvalue()
    assert exit_code == 0, printed
    for title in ("Clients (8)", "Orders (", "Fills (", "Positions (", "Balances ("):
        assert title in printed

    orders = asyncio.run(fetch(fresh_dsn, "SELECT account_id, status FROM unified_orders"))
    accounts = {r["account_id"] for r in orders}
    assert len(accounts) == 4  # Binance spot, Binance futures, Bybit unified, OKX unified
    statuses = {r["status"] for r in orders}
    assert {"FILLED", "CANCELED", "REJECTED"} <= statuses
    fills = asyncio.run(fetch(fresh_dsn, "SELECT DISTINCT instrument_id FROM fills"))
    assert len(fills) >= 6  # a market order on every one of the six account types
    (position,) = asyncio.run(fetch(fresh_dsn, "SELECT venue_positions FROM unified_positions "
                                               "WHERE canonical_id = 'BTC/USDT:USDT'"))
    assert position["venue_positions"].count('"venue"') == 3  # Binance, Bybit and OKX entries
    balances = asyncio.run(fetch(fresh_dsn, "SELECT DISTINCT account_id FROM account_balances"))
    assert len(balances) == 4
