"""LiveTradingNode end to end on Bybit (spot + linear) and OKX (spot + swap), with Binance futures in the same node
for a cross-venue position: long on Binance futures and OKX swap, short on Bybit linear. PostgreSQL must equal the
simulator in exact decimals (the OKX swap in contracts x ctVal), and replaying every event must change nothing."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import (
    FILL_COLUMNS,
    live_config,
    order_outcomes,
    rows,
    run_live,
    simulator_fills,
    simulator_orders,
    stored_balances,
)

pytestmark = pytest.mark.timeout(180)

BYBIT_SPOT, BYBIT_LINEAR, BYBIT_ETH_LINEAR = "BTCUSDT-SPOT.BYBIT", "BTCUSDT-LINEAR.BYBIT", "ETHUSDT-LINEAR.BYBIT"
OKX_SPOT, OKX_SWAP, OKX_ETH_SWAP = "BTC-USDT.OKX", "BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"
BINANCE_PERP = "BTCUSDT-PERP.BINANCE_FUTURES"
MARKETS = [("bybit", "spot"), ("bybit", "linear"), ("okx", "spot"), ("okx", "swap"), ("binance", "usdt_futures")]

ACTIONS = [
    # rejected by Bybit: the simulator is told to reject its next order before the node starts
    {"op": "market", "instrument_id": BYBIT_LINEAR, "side": "BUY", "quantity": "0.001"},
    # fills in three parts: the book holds 0.004 BTC per level
    {"op": "market", "instrument_id": BYBIT_SPOT, "side": "BUY", "quantity": "0.010000"},
    {"op": "limit", "instrument_id": BYBIT_ETH_LINEAR, "side": "BUY", "quantity": "0.10", "offset_bps": -500},
    {"op": "modify", "instrument_id": BYBIT_ETH_LINEAR, "quantity": "0.20", "offset_bps": -400},
    {"op": "cancel", "instrument_id": BYBIT_ETH_LINEAR},
    {"op": "market", "instrument_id": BYBIT_LINEAR, "side": "SELL", "quantity": "0.020"},
    {"op": "market", "instrument_id": OKX_SWAP, "side": "BUY", "quantity": "3"},  # 3 contracts x 0.01 = 0.03 BTC
    {"op": "market", "instrument_id": OKX_SPOT, "side": "BUY", "quantity": "0.01000000"},
    {"op": "limit", "instrument_id": OKX_ETH_SWAP, "side": "SELL", "quantity": "1", "offset_bps": 500},
    {"op": "modify", "instrument_id": OKX_ETH_SWAP, "quantity": "2", "offset_bps": 400},
    {"op": "cancel", "instrument_id": OKX_ETH_SWAP},
    # a post-only buy above the ask would take liquidity: OKX rejects it
    {"op": "limit", "instrument_id": OKX_SPOT, "side": "BUY", "quantity": "0.00100000", "offset_bps": 100,
     "post_only": True},
    {"op": "market", "instrument_id": BINANCE_PERP, "side": "BUY", "quantity": "0.010"},
]
ORDER_COUNT = 9


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, pg_server_dsn):
    with temporary_database(pg_server_dsn) as dsn, \
            SimulatorThread(SimConfig.default(venues=("binance", "bybit", "okx"))) as sim:
        sim.call(sim.exchange("bybit", "spot").set_liquidity, "BTCUSDT", Decimal("0.004"))
        sim.call(sim.server.runtimes["bybit"].faults.reject_next_orders, 1)
        config = live_config(tmp_path_factory.mktemp("cfg"), sim.env, dsn, ["BYBIT", "OKX", "BINANCE_FUTURES"],
                             ACTIONS)
        run = run_live(config, dsn, settled=lambda node: len(node.cache.orders()) == ORDER_COUNT
                       and all(o.is_closed for o in node.cache.orders()))
        simulated = {
            "fills": simulator_fills(sim, DEMO_ACCOUNT_ID, MARKETS),
            "orders": simulator_orders(sim, DEMO_ACCOUNT_ID, MARKETS),
            "positions": {
                (venue, market): sim.call(sim.exchange(venue, market).position, DEMO_ACCOUNT_ID, symbol)
                for venue, market, symbol in (("bybit", "linear", "BTCUSDT"), ("okx", "swap", "BTC-USDT-SWAP"),
                                              ("binance", "usdt_futures", "BTCUSDT"))
            },
            "bybit_wallet": sim.call(sim.exchange("bybit", "spot").account, DEMO_ACCOUNT_ID).balances,
            "okx_wallet": sim.call(sim.exchange("okx", "spot").account, DEMO_ACCOUNT_ID).balances,
        }
        yield run, simulated, dsn



def test_order_statuses_in_the_oms(outcome):
    run, simulated, dsn = outcome
    assert order_outcomes(dsn) == Counter({
        (BYBIT_LINEAR, "BUY", "MARKET", "REJECTED"): 1,
        (BYBIT_SPOT, "BUY", "MARKET", "FILLED"): 1,
        (BYBIT_ETH_LINEAR, "BUY", "LIMIT", "CANCELED"): 1,
        (BYBIT_LINEAR, "SELL", "MARKET", "FILLED"): 1,
        (OKX_SWAP, "BUY", "MARKET", "FILLED"): 1,
        (OKX_SPOT, "BUY", "MARKET", "FILLED"): 1,
        (OKX_ETH_SWAP, "SELL", "LIMIT", "CANCELED"): 1,
        (OKX_SPOT, "BUY", "LIMIT", "REJECTED"): 1,
        (BINANCE_PERP, "BUY", "MARKET", "FILLED"): 1,
    })
    statuses = {r["client_order_id"]: r["status"] for r in rows(dsn, "SELECT client_order_id, status FROM unified_orders")}
    assert statuses == {k: v for k, v in run.cache_orders.items() if k in statuses}


def test_fills_equal_the_simulators_trades(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, f"SELECT {FILL_COLUMNS} FROM fills")
    assert {tuple(r.values()) for r in records} == simulated["fills"]
    assert len([f for f in simulated["fills"] if f[0] == BYBIT_SPOT]) == 3  # the partial fills


def test_amends_reach_the_oms_with_the_venues_figures(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT instrument_id, venue_order_id, quantity, price FROM unified_orders "
                      "WHERE order_type = 'LIMIT' AND status = 'CANCELED'")
    assert len(records) == 2
    for row in records:
        order = simulated["orders"][(row["instrument_id"], row["venue_order_id"])]
        assert (row["quantity"], row["price"]) == (order.quantity, order.price)
    assert {r["instrument_id"]: r["quantity"] for r in records} == {BYBIT_ETH_LINEAR: Decimal("0.20"),
                                                                 OKX_ETH_SWAP: Decimal("2")}


def test_filled_quantity_and_average_price_come_from_the_venue(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT instrument_id, venue_order_id, filled_qty, avg_px FROM unified_orders "
                      "WHERE filled_qty > 0")
    assert len(records) == 5
    for row in records:
        order = simulated["orders"][(row["instrument_id"], row["venue_order_id"])]
        assert (row["filled_qty"], row["avg_px"]) == (order.filled_quantity, order.avg_price)


def test_cross_venue_position_nets_in_base_units_with_one_entry_per_venue_account(outcome):
    run, simulated, dsn = outcome
    (row,) = rows(dsn, "SELECT net_quantity, venue_positions FROM unified_positions "
                        "WHERE canonical_id = 'BTC/USDT:USDT'")
    positions = simulated["positions"]
    bybit, okx, binance = positions[("bybit", "linear")], positions[("okx", "swap")], positions[("binance",
                                                                                                   "usdt_futures")]
    assert (bybit.quantity, okx.quantity, binance.quantity) == (Decimal("-0.020"), Decimal("3"), Decimal("0.010"))
    entries = {e["venue"]: e for e in json.loads(row["venue_positions"]).values()}
    assert {v: (e["side"], Decimal(e["quantity"]), Decimal(e["base_quantity"])) for v, e in entries.items()} == {
        "BYBIT": ("SHORT", Decimal("0.020"), Decimal("-0.020")),
        "OKX": ("LONG", Decimal("3"), Decimal("0.03")),  # contracts on the venue, BTC in the unified row
        "BINANCE": ("LONG", Decimal("0.010"), Decimal("0.010")),
    }
    assert row["net_quantity"] == Decimal("-0.020") + Decimal("0.03") + Decimal("0.010")
    for venue, position in (("BYBIT", bybit), ("OKX", okx), ("BINANCE", binance)):
        assert Decimal(entries[venue]["avg_entry_price"]) == position.entry_price


def test_balances_equal_the_simulators_wallets(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT a.venue, b.currency, b.total FROM account_balances b "
                      "JOIN accounts a USING (trader_id, account_id) WHERE a.venue IN ('BYBIT', 'OKX')")
    got = {(r["venue"], r["currency"]): r["total"] for r in records}
    for venue, wallet in (("BYBIT", simulated["bybit_wallet"]), ("OKX", simulated["okx_wallet"])):
        for asset in ("USDT", "BTC"):
            assert got[(venue, asset)] == wallet[asset].total, (venue, asset)


def test_tables_equal_nautilus_cache_balances(outcome):
    run, simulated, dsn = outcome
    assert stored_balances(dsn) == run.cache_balances


def test_replaying_every_event_changes_nothing(outcome):
    run, simulated, dsn = outcome
    assert run.tables_after_replay == run.tables_after_run
    assert run.tables_after_run["dead_letters"] == []
