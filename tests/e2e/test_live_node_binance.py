"""LiveTradingNode end to end on Binance spot (HMAC key) and USDT-M futures (Ed25519 key) in ONE node, against the
simulator: the unified tables in PostgreSQL must equal what the simulator reports, in exact decimals, and replaying
every captured event must change nothing."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import live_config, order_outcomes, rows, run_live, stored_balances

pytestmark = pytest.mark.timeout(180)

SPOT_BTC, SPOT_ETH = "BTCUSDT.BINANCE", "ETHUSDT.BINANCE"
PERP_BTC, PERP_ETH = "BTCUSDT-PERP.BINANCE_FUTURES", "ETHUSDT-PERP.BINANCE_FUTURES"

ACTIONS = [
    # rejected by the venue: the simulator is told to reject the next order before the node starts
    {"op": "market", "instrument_id": SPOT_ETH, "side": "BUY", "quantity": "0.0100"},
    # fills in three parts: the book holds 0.004 BTC per level
    {"op": "market", "instrument_id": SPOT_BTC, "side": "BUY", "quantity": "0.01000"},
    {"op": "limit", "instrument_id": SPOT_ETH, "side": "BUY", "quantity": "0.1000", "offset_bps": -500},
    {"op": "cancel", "instrument_id": SPOT_ETH},
    # a post-only buy above the ask would take liquidity: the venue rejects it
    {"op": "limit", "instrument_id": SPOT_BTC, "side": "BUY", "quantity": "0.00100", "offset_bps": 100,
     "post_only": True},
    {"op": "market", "instrument_id": PERP_BTC, "side": "BUY", "quantity": "0.010"},
    {"op": "limit", "instrument_id": PERP_ETH, "side": "SELL", "quantity": "0.100", "offset_bps": 500},
    {"op": "modify", "instrument_id": PERP_ETH, "quantity": "0.200", "offset_bps": 400},
    {"op": "cancel", "instrument_id": PERP_ETH},
    {"op": "market", "instrument_id": PERP_BTC, "side": "SELL", "quantity": "0.004", "reduce_only": True},
]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, pg_server_dsn):
    """One node run shared by the assertions below (a node run costs seconds; the checks cost nothing)."""
    sim_config = SimConfig.default(venues=("binance",))
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(sim_config) as sim:
        spot, futures = sim.exchange("binance", "spot"), sim.exchange("binance", "usdt_futures")
        sim.call(spot.set_liquidity, "BTCUSDT", Decimal("0.004"))
        sim.call(sim.server.runtimes["binance"].faults.reject_next_orders, 1)
        config = live_config(tmp_path_factory.mktemp("cfg"), sim.env, dsn, ["BINANCE_SPOT", "BINANCE_FUTURES"],
                             ACTIONS)
        run = run_live(config, dsn, settled=lambda node: len(node.cache.orders()) == 7
                       and all(o.is_closed for o in node.cache.orders()))
        simulated = {
            "spot_fills": sim.call(spot.fills, DEMO_ACCOUNT_ID),
            "futures_fills": sim.call(futures.fills, DEMO_ACCOUNT_ID),
            "spot_orders": sim.call(spot.order_history, DEMO_ACCOUNT_ID),
            "futures_orders": sim.call(futures.order_history, DEMO_ACCOUNT_ID),
            "spot_account": sim.call(spot.account, DEMO_ACCOUNT_ID),
            "futures_account": sim.call(futures.account, DEMO_ACCOUNT_ID),
            "btc_position": sim.call(futures.position, DEMO_ACCOUNT_ID, "BTCUSDT"),
        }
        yield run, simulated, dsn



def test_order_statuses_in_the_oms(outcome):
    run, simulated, dsn = outcome
    assert order_outcomes(dsn) == Counter({
        (SPOT_ETH, "BUY", "MARKET", "REJECTED"): 1,
        (SPOT_BTC, "BUY", "MARKET", "FILLED"): 1,
        (SPOT_ETH, "BUY", "LIMIT", "CANCELED"): 1,
        (SPOT_BTC, "BUY", "LIMIT", "REJECTED"): 1,
        (PERP_BTC, "BUY", "MARKET", "FILLED"): 1,
        (PERP_ETH, "SELL", "LIMIT", "CANCELED"): 1,
        (PERP_BTC, "SELL", "MARKET", "FILLED"): 1,
    })
    # the OMS agrees with NautilusTrader's own view of every order
    assert {r["client_order_id"]: r["status"] for r in rows(dsn, "SELECT client_order_id, status FROM unified_orders")} \
        == run.cache_orders


def test_fills_equal_the_simulators_trades(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT instrument_id, trade_id, venue_order_id, side, quantity, price, commission, "
                      "commission_currency, liquidity_side FROM fills")
    expected = set()
    for instrument_suffix, fills in ((".BINANCE", simulated["spot_fills"]), ("-PERP.BINANCE_FUTURES",
                                                                              simulated["futures_fills"])):
        for f in fills:
            expected.add((f.symbol + instrument_suffix, str(f.trade_id), str(f.order_id), f.side, f.quantity, f.price,
                          f.fee, f.fee_asset, "MAKER" if f.is_maker else "TAKER"))
    got = {(r["instrument_id"], r["trade_id"], r["venue_order_id"], r["side"], r["quantity"], r["price"],
            r["commission"], r["commission_currency"], r["liquidity_side"]) for r in records}
    assert got == expected
    assert len([f for f in simulated["spot_fills"] if f.symbol == "BTCUSDT"]) == 3  # the partial fills


def test_filled_quantity_and_average_price_come_from_the_venue(outcome):
    run, simulated, dsn = outcome
    records = {(r["instrument_id"], r["venue_order_id"]): r for r in rows(
        dsn, "SELECT instrument_id, venue_order_id, filled_qty, avg_px FROM unified_orders WHERE filled_qty > 0")}
    filled = [(f"{o.symbol}.BINANCE", o) for o in simulated["spot_orders"] if o.filled_quantity > 0]
    filled += [(f"{o.symbol}-PERP.BINANCE_FUTURES", o) for o in simulated["futures_orders"] if o.filled_quantity > 0]
    assert len(filled) == len(records) == 3
    for instrument_id, order in filled:
        row = records[(instrument_id, str(order.order_id))]
        assert row["filled_qty"] == order.filled_quantity
        assert row["avg_px"] == order.avg_price


def test_partial_fill_events_are_recorded(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT e.event_type, count(*) AS n FROM order_events e JOIN unified_orders o "
                      "USING (trader_id, client_order_id) WHERE o.instrument_id = $1 AND o.order_type = 'MARKET' "
                      "GROUP BY 1", SPOT_BTC)
    counts = {r["event_type"]: r["n"] for r in records}
    assert counts["OrderFilled"] == 3
    assert counts["OrderSubmitted"] == 1 and counts["OrderAccepted"] == 1


def test_modify_is_recorded(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT quantity, price FROM unified_orders WHERE instrument_id = $1 AND order_type = 'LIMIT'",
                 PERP_ETH)
    order = next(o for o in simulated["futures_orders"] if o.symbol == "ETHUSDT")
    assert records == [{"quantity": order.quantity, "price": order.price}]
    assert order.quantity == Decimal("0.200")


def test_unified_position_equals_the_simulators(outcome):
    run, simulated, dsn = outcome
    (row,) = rows(dsn, "SELECT net_quantity, avg_entry_price, venue_positions FROM unified_positions "
                        "WHERE canonical_id = 'BTC/USDT:USDT'")
    position = simulated["btc_position"]
    assert position.quantity == Decimal("0.006")
    assert row["net_quantity"] == position.quantity
    assert row["avg_entry_price"] == position.entry_price
    import json

    (entry,) = json.loads(row["venue_positions"]).values()
    assert (entry["venue"], entry["instrument_id"], Decimal(entry["base_quantity"])) == ("BINANCE", PERP_BTC,
                                                                                        position.quantity)


def test_spot_balances_equal_the_simulators(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT b.currency, b.total, b.free, b.locked FROM account_balances b "
                      "JOIN accounts a USING (trader_id, account_id) WHERE a.account_type = 'SPOT'")
    got = {r["currency"]: (r["total"], r["free"], r["locked"]) for r in records}
    balances = simulated["spot_account"].balances
    expected = {asset: (b.total, b.free, b.locked) for asset, b in balances.items() if asset in got}
    assert set(got) >= {"USDT", "BTC"}
    assert got == expected
    assert got["BTC"][0] == Decimal("2") + sum(f.quantity - (f.fee if f.fee_asset == "BTC" else 0)
                                             for f in simulated["spot_fills"] if f.symbol == "BTCUSDT")


def test_futures_balance_equals_the_simulators_wallet(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, "SELECT b.currency, b.total FROM account_balances b "
                      "JOIN accounts a USING (trader_id, account_id) WHERE a.account_type = 'USDT_FUTURES'")
    got = {r["currency"]: r["total"] for r in records}
    margin = simulated["futures_account"].margins["USDT"]
    assert got["USDT"] == margin.wallet_balance, margin
    fees = sum(f.fee for f in simulated["futures_fills"])
    realized = sum(f.realized_pnl for f in simulated["futures_fills"])
    assert margin.wallet_balance == Decimal("100000") - fees + realized


def test_tables_equal_nautilus_cache_balances(outcome):
    run, simulated, dsn = outcome
    assert stored_balances(dsn) == run.cache_balances


def test_replaying_every_event_changes_nothing(outcome):
    run, simulated, dsn = outcome
    assert len(run.captured) > 20
    assert run.tables_after_replay == run.tables_after_run
    assert run.tables_after_run["dead_letters"] == []


def test_health_reports_every_client_connected_and_hearing_from_its_venue(outcome):
    run, simulated, dsn = outcome
    assert {(h.client, h.kind) for h in run.health} == {(c, k) for c in ("BINANCE_SPOT", "BINANCE_FUTURES")
                                                       for k in ("data", "exec")}
    for health in run.health:
        assert health.connected and not health.stale and health.reconnects == 0, health
        assert health.last_message_age_secs is not None and health.last_message_age_secs < 10, health
