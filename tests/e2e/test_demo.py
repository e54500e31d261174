"""``live demo`` (what ``make demo`` runs): the simulator as its own process, a node trading on all six account types,
and the tables printed at the end. Runs twice against one fresh test database (instead of the embedded one): the
second run's tables must agree with each other and with its own simulator session."""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console

from backend.live.demo import run_demo
from tests.conftest import temporary_database
from tests.e2e.live_support import fetch

pytestmark = pytest.mark.timeout(300)


def rows(dsn: str, query: str) -> list[Any]:
    return asyncio.run(fetch(dsn, query))


@pytest.fixture(scope="module")
def two_demos(pg_server_dsn, tmp_path_factory) -> dict[str, Any]:
    """``make demo`` twice on one database; what the second one printed and left in the tables."""
    with temporary_database(pg_server_dsn) as dsn, pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIVE_DATABASE_URL", dsn)
        outputs, exit_codes = [], []
        for run in range(2):
            output = io.StringIO()
            exit_codes.append(asyncio.run(run_demo(Console(file=output, width=250), duration_secs=12,
                                                   work_dir=tmp_path_factory.mktemp(f"demo{run}"))))
            outputs.append(output.getvalue())
            if run == 0:
                first_orders = {r["client_order_id"] for r in rows(dsn, "SELECT client_order_id FROM unified_orders")}
        return {
            "exit_codes": exit_codes, "outputs": outputs, "first_orders": first_orders,
            "orders": rows(dsn, "SELECT client_order_id, account_id, status, lifecycle_rank FROM unified_orders"),
            "fills": rows(dsn, "SELECT canonical_id, side, base_quantity, commission, commission_currency, instrument_id "
                                "FROM fills"),
            "positions": rows(dsn, "SELECT canonical_id, net_quantity, venue_positions FROM unified_positions"),
            "balances": rows(dsn, "SELECT DISTINCT account_id FROM account_balances"),
        }


def test_demo_trades_on_every_venue_and_prints_the_tables(two_demos):
    assert two_demos["exit_codes"] == [0, 0], two_demos["outputs"]
    printed = two_demos["outputs"][1]
    for title in ("Clients (8)", "Orders (", "Fills (", "Positions (", "Balances ("):
        assert title in printed
    accounts = {r["account_id"] for r in two_demos["orders"]}
    assert len(accounts) == 4  # Binance spot, Binance futures, Bybit unified, OKX unified
    assert {"FILLED", "CANCELED", "REJECTED"} <= {r["status"] for r in two_demos["orders"]}
    assert len({r["instrument_id"] for r in two_demos["fills"]}) >= 6  # a market order on all six account types
    (position,) = [p for p in two_demos["positions"] if p["canonical_id"] == "BTC/USDT:USDT"]
    assert position["venue_positions"].count('"venue"') == 3  # Binance, Bybit and OKX entries
    assert len(two_demos["balances"]) == 4


def test_after_two_demos_the_fills_add_up_to_the_positions(two_demos):
    """Net bought minus sold per instrument, less commissions the venue took in the base currency (spot buys pay
    theirs in BTC), is the position shown."""
    net: dict[str, Decimal] = defaultdict(Decimal)
    for fill in two_demos["fills"]:
        net[fill["canonical_id"]] += fill["base_quantity"] if fill["side"] == "BUY" else -fill["base_quantity"]
        if fill["commission_currency"] == fill["canonical_id"].split("/")[0]:
            net[fill["canonical_id"]] -= fill["commission"]
    positions = {p["canonical_id"]: p["net_quantity"] for p in two_demos["positions"]}
    assert {k: v for k, v in net.items() if v} == {k: v for k, v in positions.items() if v}
    assert all(positions.get(k, Decimal(0)) == v for k, v in net.items())


def test_the_second_demo_shows_no_order_of_the_first_simulator_session(two_demos):
    assert two_demos["first_orders"]  # the first demo traded
    assert not two_demos["first_orders"] & {r["client_order_id"] for r in two_demos["orders"]}
    assert "Starting over: removed" in two_demos["outputs"][1]
