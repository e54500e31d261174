"""Perpetual funding settles while LiveTradingNode runs, on Binance USD-M, Bybit linear and OKX swap at once: the
OMS's fills and orders stay exactly the venue's trades (funding is never a fill, whatever message carries it: Binance
``ACCOUNT_UPDATE`` FUNDING_FEE, Bybit ``execType=Funding`` on the execution topic, OKX's account push), while the
stored balances equal the simulator's wallets after funding and the account history holds the states before and
after each settlement."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.core import funding
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import FILL_COLUMNS, live_config, rows, run_live, simulator_fills, stored_balances
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(180)

BINANCE_PERP, BYBIT_LINEAR, OKX_SWAP = "BTCUSDT-PERP.BINANCE_FUTURES", "BTCUSDT-LINEAR.BYBIT", "BTC-USDT-SWAP.OKX"
PERPETUALS = {  # venue -> (market, simulator symbol, issuer of the NautilusTrader account id)
    "binance": ("usdt_futures", "BTCUSDT", "BINANCE_FUTURES"),
    "bybit": ("linear", "BTCUSDT", "BYBIT"),
    "okx": ("swap", "BTC-USDT-SWAP", "OKX"),
}
MARKETS = [(venue, market) for venue, (market, _, _) in PERPETUALS.items()]
ACTIONS = [
    {"op": "market", "instrument_id": BINANCE_PERP, "side": "BUY", "quantity": "0.010"},  # pays a positive rate
    {"op": "market", "instrument_id": BYBIT_LINEAR, "side": "SELL", "quantity": "0.020"},  # receives it
    {"op": "market", "instrument_id": OKX_SWAP, "side": "BUY", "quantity": "3"},  # 3 contracts of 0.01 BTC: pays
]
RATE = Decimal("0.001")


def issuer(account_id: str) -> str:
    """The venue part of a NautilusTrader account id (``BYBIT-UNIFIED`` -> ``BYBIT``)."""
    return account_id.split("-", 1)[0]


def usdt_totals(node: Any) -> dict[str, Decimal]:
    """USDT wallet per NautilusTrader account (venue name), as the node's cache holds it."""
    totals = {}
    for account in node.cache.accounts():
        for currency, balance in account.balances().items():
            if currency.code == "USDT":
                totals[account.id.get_issuer()] = balance.total.as_decimal()
    return totals


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, pg_server_dsn):
    with temporary_database(pg_server_dsn) as dsn, \
            SimulatorThread(SimConfig.default(venues=tuple(PERPETUALS), tick_interval_ms=0)) as sim:
        exchanges = {venue: sim.exchange(venue, market) for venue, (market, _, _) in PERPETUALS.items()}
        for venue, (_, symbol, _) in PERPETUALS.items():
            sim.call(exchanges[venue].funding.set_rate, symbol, RATE)
        wallets: dict[str, dict[str, Decimal]] = {"before": {}, "after": {}}
        payments: dict[str, Any] = {}
        fills_before: dict[str, Any] = {}

        def wallet(venue: str) -> Decimal:
            return sim.call(exchanges[venue].account, DEMO_ACCOUNT_ID).balances["USDT"].total

        async def settle_funding_mid_run(node: Any) -> None:
            await wait_until(lambda: len(node.cache.orders()) == len(ACTIONS)
                             and all(o.is_closed for o in node.cache.orders()), "the three positions to open",
                             timeout=40)
            for venue, (_, _, nautilus_venue) in PERPETUALS.items():
                expected = wallet(venue)
                await wait_until(lambda v=nautilus_venue, e=expected: usdt_totals(node).get(v) == e,
                                 f"{venue}'s account after the trade", timeout=20, describe=lambda: str(usdt_totals(node)))
                wallets["before"][venue] = expected
            fills_before.update({v: sim.call(exchanges[v].fills, DEMO_ACCOUNT_ID) for v in PERPETUALS})
            for venue, (_, symbol, _) in PERPETUALS.items():
                [payments[venue]] = sim.call(funding.settle_now, exchanges[venue], [symbol])
                wallets["after"][venue] = wallet(venue)
            for venue, (_, _, nautilus_venue) in PERPETUALS.items():
                await wait_until(lambda v=nautilus_venue, e=wallets["after"][venue]: usdt_totals(node).get(v) == e,
                                 f"{venue}'s account after funding", timeout=20,
                                 describe=lambda: str(usdt_totals(node)))

        config = live_config(tmp_path_factory.mktemp("cfg"), sim.env, dsn, ["BINANCE_FUTURES", "BYBIT", "OKX"],
                             ACTIONS, trader_id="FUNDING-001")
        run = run_live(config, dsn, during=settle_funding_mid_run)
        simulated = {
            "fills": simulator_fills(sim, DEMO_ACCOUNT_ID, MARKETS),
            "fills_before": fills_before,
            "fills_after": {v: sim.call(exchanges[v].fills, DEMO_ACCOUNT_ID) for v in PERPETUALS},
            "wallets": wallets,
            "payments": payments,
        }
        yield run, simulated, dsn


def test_funding_moved_every_wallet_by_the_settled_amount(outcome):
    run, simulated, dsn = outcome
    payments, wallets = simulated["payments"], simulated["wallets"]
    assert payments["binance"].amount < 0 and payments["okx"].amount < 0 < payments["bybit"].amount
    for venue in PERPETUALS:
        assert wallets["after"][venue] == wallets["before"][venue] + payments[venue].amount, venue
        assert simulated["fills_after"][venue] == simulated["fills_before"][venue]  # the venue booked no trade


def test_oms_fills_and_orders_are_the_trades_only(outcome):
    run, simulated, dsn = outcome
    records = rows(dsn, f"SELECT {FILL_COLUMNS} FROM fills")
    assert {tuple(r.values()) for r in records} == simulated["fills"]
    assert len(records) == len(simulated["fills"])
    orders = rows(dsn, "SELECT instrument_id, side, status FROM unified_orders")
    assert sorted((o["instrument_id"], o["side"], o["status"]) for o in orders) == sorted(
        (a["instrument_id"], a["side"], "FILLED") for a in ACTIONS)  # no order invented from a funding message


def test_stored_balances_equal_the_wallets_after_funding(outcome):
    run, simulated, dsn = outcome
    got = {issuer(r["account_id"]): r["total"] for r in rows(
        dsn, "SELECT account_id, total FROM account_balances WHERE currency = 'USDT'")}
    for venue, (_, _, nautilus_venue) in PERPETUALS.items():
        assert got.get(nautilus_venue) == simulated["wallets"]["after"][venue], (venue, got)
    assert stored_balances(dsn) == run.cache_balances


def test_account_history_shows_each_settlement(outcome):
    run, simulated, dsn = outcome
    history: dict[str, list[Decimal]] = {}
    for r in rows(dsn, "SELECT account_id, balances FROM account_state_history ORDER BY ts_event_ns, seq"):
        balances = json.loads(r["balances"]) if isinstance(r["balances"], str) else r["balances"]
        if "USDT" in balances:
            history.setdefault(issuer(r["account_id"]), []).append(Decimal(balances["USDT"]["total"]))
    for venue, (_, _, nautilus_venue) in PERPETUALS.items():
        totals = history[nautilus_venue]
        before, after = simulated["wallets"]["before"][venue], simulated["wallets"]["after"][venue]
        assert before in totals and after in totals, (venue, totals)
        assert totals.index(after) > totals.index(before)  # the funding state follows the trade's
        assert totals[-1] == after


def test_replaying_every_event_changes_nothing(outcome):
    run, simulated, dsn = outcome
    assert run.tables_after_replay == run.tables_after_run
    assert run.tables_after_run["dead_letters"] == []
