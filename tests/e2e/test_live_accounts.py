"""Account updates end to end: ONE LiveTradingNode run over every account type the simulator has (Binance spot, Binance
USDT-M futures, the Bybit unified account trading spot + linear, the OKX account trading spot + swap) leaves positions
open on each derivatives market and a resting order on each venue; then ``accounts``, ``account_balances`` and
``account_margins`` must equal, in exact decimals, what the simulator holds and what NautilusTrader applied.

What each venue's AccountState carries in NautilusTrader 1.231.0 (so what the tables can hold):

* Binance spot (CASH): ``outboundAccountPosition`` per changed asset: total / free / locked as the venue keeps them.
* Binance USDT-M futures (MARGIN): the REST ``/fapi/v2/account`` snapshot at connect carries per-asset margins (and a
  top-level ``updateTime`` of 0); every ``ACCOUNT_UPDATE`` push carries only the wallet balance, booked as
  free = total = wallet, locked = 0, and NO margins. NautilusTrader's ``MarginAccount.apply`` then replaces the
  account's margins with that empty list, so after the first push no margin is current.
* Bybit unified (MARGIN): every wallet push per coin: total = walletBalance, locked = totalOrderIM + totalPositionIM,
  and one account-wide margin per coin (no instrument): initial = totalOrderIM + totalPositionIM,
  maintenance = totalPositionMM.
* OKX (MARGIN): per currency total = cashBal, free = availBal; margins only from the account-level ``imr`` / ``mmr``,
  which the simulator leaves empty: no margins.

* OKX with account-level ``imr`` / ``mmr`` (checked by hand with a patched simulator): one margin in USD, no
  instrument, stored under the key ``USD``.

The market is held still (no random walk; the books' depth changes so quotes flow), so the mark-dependent figures of
the last push still hold when the simulator is read after the run.

The last tests write single states straight through the writer: a state without venue time, several states with one
venue time, a late older state, replays in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.events import AccountState

from backend.live import cli
from backend.live.accounts import convert_account_state
from backend.live.database import DSN_ENV_VAR, Database
from backend.live.models import AccountRow
from backend.live.oms.writer import OmsWriter
from backend.live.timeutil import ns_to_datetime
from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import LiveRun, fetch, live_config, run_live

pytestmark = pytest.mark.timeout(120)

BINANCE_SPOT, BINANCE_FUTURES = "BINANCE_SPOT-SPOT-master", "BINANCE_FUTURES-USDT_FUTURES-master"
BYBIT, OKX = "BYBIT-UNIFIED", "OKX-master"
ACCOUNT_TABLES = ("accounts", "account_balances", "account_margins", "account_state_history", "dead_letters")

ACTIONS = [
    # Binance spot: a resting buy locks USDT, a market buy pays its fee in BTC
    {"op": "limit", "instrument_id": "ETHUSDT.BINANCE", "side": "BUY", "quantity": "0.1000", "offset_bps": -500},
    {"op": "market", "instrument_id": "BTCUSDT.BINANCE", "side": "BUY", "quantity": "0.01000"},
    # Binance futures: long 0.010 BTC, a resting sell holds order margin
    {"op": "market", "instrument_id": "BTCUSDT-PERP.BINANCE_FUTURES", "side": "BUY", "quantity": "0.010"},
    {"op": "limit", "instrument_id": "ETHUSDT-PERP.BINANCE_FUTURES", "side": "SELL", "quantity": "0.100",
     "offset_bps": 500},
    # Bybit unified: spot buy, linear short 0.020 BTC, a resting linear buy
    {"op": "market", "instrument_id": "BTCUSDT-SPOT.BYBIT", "side": "BUY", "quantity": "0.010000"},
    {"op": "market", "instrument_id": "BTCUSDT-LINEAR.BYBIT", "side": "SELL", "quantity": "0.020"},
    {"op": "limit", "instrument_id": "ETHUSDT-LINEAR.BYBIT", "side": "BUY", "quantity": "0.10", "offset_bps": -500},
    # OKX: spot buy, swap long 3 contracts (0.03 BTC), a resting swap sell
    {"op": "market", "instrument_id": "BTC-USDT.OKX", "side": "BUY", "quantity": "0.01000000"},
    {"op": "market", "instrument_id": "BTC-USDT-SWAP.OKX", "side": "BUY", "quantity": "3"},
    {"op": "limit", "instrument_id": "ETH-USDT-SWAP.OKX", "side": "SELL", "quantity": "1", "offset_bps": 500},
]
RESTING = 4
MARKETS = (("binance", "spot"), ("binance", "usdt_futures"), ("bybit", "spot"), ("bybit", "linear"), ("okx", "spot"),
           ("okx", "swap"))


def _nudge_books(exchange: Any, extra: bool) -> None:
    """Every level one lot deeper (``extra``) or back to the configured depth: the book changes, its prices do not."""
    for symbol, market in exchange.markets.items():
        instrument = market.instrument
        exchange.set_liquidity(symbol, instrument.liquidity + (instrument.lot_size if extra else 0))


@contextlib.contextmanager
def steady_market(sim: SimulatorThread, every_secs: float = 0.2) -> Iterator[None]:
    """Keep the books changing without moving any price until the block ends: quote updates keep flowing (limit
    orders are priced from them; Binance sends a book ticker only on a change) while prices, and with them
    unrealized PnL and position margins, stay fixed."""
    stop = threading.Event()

    def run() -> None:
        extra = True
        while not stop.wait(every_secs):
            for venue, market in MARKETS:
                sim.call(_nudge_books, sim.exchange(venue, market), extra)
            extra = not extra

    thread = threading.Thread(target=run, name="steady-market", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for venue, market in MARKETS:
            sim.call(_nudge_books, sim.exchange(venue, market), False)


def _settled(node: Any) -> bool:
    orders = node.cache.orders()
    return len(orders) == len(ACTIONS) and sum(o.is_open for o in orders) == RESTING and all(
        o.is_closed or o.status_string() == "ACCEPTED" for o in orders)


@dataclass(frozen=True)
class Outcome:
    run: LiveRun
    simulated: dict[tuple[str, str], Any]  # (venue, market) -> the simulator's SimAccount
    fills: dict[tuple[str, str], list[Any]]  # (venue, market) -> the simulator's fills
    dsn: str


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, pg_server_dsn):
    sim_config = SimConfig.default(venues=("binance", "bybit", "okx"), tick_interval_ms=0)
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(sim_config) as sim:
        clients = ["BINANCE_SPOT", "BINANCE_FUTURES", "BYBIT", "OKX"]
        config = live_config(tmp_path_factory.mktemp("cfg"), sim.env, dsn, clients, ACTIONS)
        with steady_market(sim):
            run = run_live(config, dsn, settled=_settled)
        simulated = {(v, m): sim.call(sim.exchange(v, m).account, DEMO_ACCOUNT_ID) for v, m in MARKETS}
        fills = {(v, m): sim.call(sim.exchange(v, m).fills, DEMO_ACCOUNT_ID) for v, m in MARKETS}
        yield Outcome(run, simulated, fills, dsn)


def _rows(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    return asyncio.run(fetch(dsn, query, *args))


def _balances(dsn: str, account_id: str) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {r["currency"]: (r["total"], r["free"], r["locked"]) for r in _rows(
        dsn, "SELECT currency, total, free, locked FROM account_balances WHERE account_id = $1", account_id)}


def _margins(dsn: str, account_id: str) -> dict[str, tuple[str, Decimal, Decimal]]:
    return {r["margin_key"]: (r["currency"], r["initial"], r["maintenance"]) for r in _rows(
        dsn, "SELECT margin_key, currency, initial, maintenance FROM account_margins WHERE account_id = $1",
        account_id)}


def _states(run: LiveRun, account_id: str) -> list[AccountState]:
    """The account's states in the order NautilusTrader published them (the bus may deliver one event several
    times; each counts once)."""
    states = {e.id: e for e in run.captured if isinstance(e, AccountState) and e.account_id.value == account_id}
    return list(states.values())


def test_every_account_is_recorded_with_its_type(outcome):
    dsn = outcome.dsn
    rows = {r["account_id"]: r for r in _rows(dsn, "SELECT * FROM accounts")}
    assert {a: (r["venue"], r["account_type"], r["margin_model"], r["base_currency"], r["venue_type"],
                r["client_name"]) for a, r in rows.items()} == {
        BINANCE_SPOT: ("BINANCE", "SPOT", "CASH", None, "CEFI", "BINANCE_SPOT"),
        BINANCE_FUTURES: ("BINANCE", "USDT_FUTURES", "MARGIN", None, "CEFI", "BINANCE_FUTURES"),
        BYBIT: ("BYBIT", "SPOT+LINEAR", "MARGIN", None, "CEFI", "BYBIT"),
        OKX: ("OKX", "SPOT+SWAP", "MARGIN", None, "CEFI", "OKX"),
    }


def test_last_update_time_is_the_newest_state_of_each_account(outcome):
    """An account that stops reporting keeps its last update time: it is the newest state the venue sent."""
    run, dsn = outcome.run, outcome.dsn
    for r in _rows(dsn, "SELECT account_id, last_update_at, last_update_ns FROM accounts"):
        stamps = [s.ts_event or s.ts_init for s in _states(run, r["account_id"])]
        assert r["last_update_ns"] == max(stamps), r["account_id"]
        assert r["last_update_ns"] > min(stamps), r["account_id"]  # it advanced with the script
        assert r["last_update_at"] == ns_to_datetime(r["last_update_ns"])


def test_binance_spot_balances_equal_the_simulators(outcome):
    simulated, fills, dsn = outcome.simulated, outcome.fills, outcome.dsn
    wallet = simulated[("binance", "spot")].balances
    got = _balances(dsn, BINANCE_SPOT)
    assert got == {asset: (b.total, b.free, b.locked) for asset, b in wallet.items()}
    assert got["USDT"][2] > 0  # the resting buy
    btc_bought = sum(f.quantity - (f.fee if f.fee_asset == "BTC" else 0) for f in fills[("binance", "spot")])
    assert got["BTC"][0] == Decimal(2) + btc_bought < Decimal("2.01")  # the fee came off the BTC bought
    assert _margins(dsn, BINANCE_SPOT) == {}


def test_binance_futures_wallet_equals_the_simulators_and_carries_no_margin(outcome):
    run, simulated, fills, dsn = outcome.run, outcome.simulated, outcome.fills, outcome.dsn
    account = simulated[("binance", "usdt_futures")]
    wallet, margin = account.balances["USDT"], account.margins["USDT"]
    paid = sum(f.fee for f in fills[("binance", "usdt_futures")])
    assert wallet.total == Decimal(100000) - paid < Decimal(100000)
    # ACCOUNT_UPDATE: free = total = the wallet balance, locked 0 (the venue's order margin is not in the push)
    assert _balances(dsn, BINANCE_FUTURES) == {"USDT": (wallet.total, wallet.total, Decimal(0))}
    assert margin.open_order_margin > 0 and margin.position_initial_margin > 0  # held by the venue, never pushed
    assert _margins(dsn, BINANCE_FUTURES) == {}
    (connect_state,) = [s for s in _states(run, BINANCE_FUTURES) if s.margins]  # only the REST snapshot had one
    assert [(str(m.currency), m.initial.as_decimal()) for m in connect_state.margins] == [("USDT", Decimal(0))]


def test_bybit_unified_balances_and_margin_equal_the_simulators(outcome):
    simulated, fills, dsn = outcome.simulated, outcome.fills, outcome.dsn
    ledger = simulated[("bybit", "spot")].balances  # one wallet for spot and linear
    linear = simulated[("bybit", "linear")]
    position = linear.positions["BTCUSDT"]
    assert position.quantity == Decimal("-0.020")
    usdt = ledger["USDT"]
    assert usdt.locked > 0  # the resting linear buy's order margin
    held = usdt.locked + position.initial_margin  # totalOrderIM + totalPositionIM
    got = _balances(dsn, BYBIT)
    assert got == {asset: (b.total, b.total - (held if asset == "USDT" else 0), held if asset == "USDT" else b.locked)
                   for asset, b in ledger.items()}
    paid = sum(f.fee for f in fills[("bybit", "linear")] if f.fee_asset == "USDT") + sum(
        f.fee for f in fills[("bybit", "spot")] if f.fee_asset == "USDT")
    spent = sum(f.quantity * f.price for f in fills[("bybit", "spot")])
    assert got["USDT"][0] == Decimal(100000) - spent - paid
    assert _margins(dsn, BYBIT) == {"USDT": ("USDT", held, linear.margins["USDT"].maintenance_margin)}
    assert linear.margins["USDT"].maintenance_margin == position.maintenance_margin > 0


def test_okx_balances_equal_the_simulators_and_carry_no_margin(outcome):
    run, simulated, fills, dsn = outcome.run, outcome.simulated, outcome.fills, outcome.dsn
    ledger = simulated[("okx", "spot")].balances
    got = _balances(dsn, OKX)
    assert got == {asset: (b.total, b.free, b.locked) for asset, b in ledger.items()}
    assert got["USDT"][2] == simulated[("okx", "swap")].margins["USDT"].open_order_margin > 0  # the resting sell
    assert simulated[("okx", "swap")].positions["BTC-USDT-SWAP"].quantity == Decimal(3)
    paid = sum(f.fee for m in ("spot", "swap") for f in fills[("okx", m)] if f.fee_asset == "USDT")
    spent = sum(f.quantity * f.price for f in fills[("okx", "spot")])
    assert got["USDT"][0] == Decimal(100000) - spent - paid
    assert _margins(dsn, OKX) == {}
    assert not any(s.margins for s in _states(run, OKX))


def test_balances_equal_nautilus_cache_and_margins_the_last_applied_state(outcome):
    run, dsn = outcome.run, outcome.dsn
    for account_id, balances in run.cache_balances.items():
        assert _balances(dsn, account_id) == balances, account_id
        last = _states(run, account_id)[-1]
        assert _margins(dsn, account_id) == {
            (m.instrument_id.value if m.instrument_id else m.currency.code): (
                m.currency.code, m.initial.as_decimal(), m.maintenance.as_decimal())
            for m in last.margins}, account_id
    assert set(run.cache_balances) == {BINANCE_SPOT, BINANCE_FUTURES, BYBIT, OKX}


def test_history_ends_with_the_current_state(outcome):
    dsn = outcome.dsn
    for account_id in (BINANCE_SPOT, BINANCE_FUTURES, BYBIT, OKX):
        history = _rows(dsn, "SELECT balances, margins FROM account_state_history WHERE account_id = $1 "
                             "ORDER BY ts_event_ns, seq", account_id)
        assert len(history) >= 2, account_id
        newest = {c: tuple(Decimal(v[k]) for k in ("total", "free", "locked"))
                  for c, v in json.loads(history[-1]["balances"]).items()}
        current = _balances(dsn, account_id)
        assert {c: current[c] for c in newest} == newest, account_id
        assert {k: (v["currency"], Decimal(v["initial"]), Decimal(v["maintenance"]))
                for k, v in json.loads(history[-1]["margins"]).items()} == _margins(dsn, account_id), account_id


def test_replaying_every_account_state_changes_nothing(outcome):
    run = outcome.run
    assert len({e.id for e in run.captured if isinstance(e, AccountState)}) > 10
    for table in ACCOUNT_TABLES:
        assert run.tables_after_replay[table] == run.tables_after_run[table], table
    assert run.tables_after_run["dead_letters"] == []


def test_live_balances_prints_only_the_venue_asked_for(outcome, capsys, monkeypatch):
    run, dsn = outcome.run, outcome.dsn
    monkeypatch.setenv(DSN_ENV_VAR, dsn)
    assert cli.main(["balances", "--trader-id", run.node.trader_id, "--venue", "bybit"]) == cli.EXIT_OK
    printed = capsys.readouterr().out
    assert BYBIT in printed and "Balances (3)" in printed and "Margins (1)" in printed
    assert "BINANCE" not in printed and OKX not in printed
    usdt = _balances(dsn, BYBIT)["USDT"]
    assert format(usdt[0], "f") in printed and format(usdt[2], "f") in printed


# -- the writer's ordering of states: no venue time, equal times, late arrivals, replays ------------------------------
# Single-account states written straight through OmsWriter (no node): the cases the run above may or may not hit.

STATE_TABLES = ("accounts", "account_balances", "account_margins", "account_state_history", "account_state_repeats")


def _state(n: int, ts_event: int, total: str, locked: str = "0", initial: str | None = None) -> dict[str, Any]:
    """State number ``n`` of a Bybit-like account (USDT only), received at ``ts_init`` = 10^12 + n."""
    margins = [] if initial is None else [{"type": "MarginBalance", "initial": initial, "maintenance": "1",
                                           "currency": "USDT", "instrument_id": None}]
    free = str(Decimal(total) - Decimal(locked))
    return {"type": "AccountState", "account_id": BYBIT, "account_type": "MARGIN", "base_currency": None,
            "balances": [{"type": "AccountBalance", "total": total, "locked": locked, "free": free,
                          "currency": "USDT"}],
            "margins": margins, "reported": True, "info": {}, "event_id": f"00000000-0000-4000-8000-{n:012d}",
            "ts_event": ts_event, "ts_init": 10**12 + n}


async def _write(dsn: str, payloads: list[dict[str, Any]]) -> dict[str, list[tuple]]:
    """Write the account row and ``payloads`` in this order; return every row of the account tables."""
    database = await Database.connect(dsn)
    try:
        writer = OmsWriter(database.pool)
        writer.start()
        writer.submit(AccountRow("T", BYBIT, "BYBIT", "SPOT+LINEAR", "CEFI", "BYBIT", "MARGIN", None))
        for payload in payloads:
            writer.submit(convert_account_state("T", payload))
        await writer.stop()
        async with database.pool.acquire() as conn:
            return {t: sorted(tuple(str(v) for v in r.values()) for r in await conn.fetch(f"SELECT * FROM {t}"))
                    for t in STATE_TABLES}
    finally:
        await database.close()


def _current(dsn: str) -> tuple[list[tuple], list[tuple]]:
    balances = _rows(dsn, "SELECT total, locked, updated_ns FROM account_balances")
    margins = _rows(dsn, "SELECT margin_key, initial FROM account_margins")
    return [tuple(r.values()) for r in balances], [tuple(r.values()) for r in margins]


def test_a_state_without_venue_time_is_placed_at_its_arrival(fresh_dsn):
    """Binance futures' REST snapshot has updateTime 0: arriving after a push, it is the newest figure, as
    NautilusTrader applies it."""
    pushed, snapshot = _state(1, 5 * 10**11, "99990"), _state(2, 0, "99980")
    written = asyncio.run(_write(fresh_dsn, [pushed, snapshot]))
    assert _current(fresh_dsn)[0] == [(Decimal(99980), Decimal(0), 10**12 + 2)]
    assert [r["ts_event_ns"] for r in _rows(fresh_dsn, "SELECT ts_event_ns FROM account_state_history "
                                                       "ORDER BY ts_event_ns")] == [5 * 10**11, 10**12 + 2]
    assert asyncio.run(_write(fresh_dsn, [snapshot, pushed])) == written  # a replay, in any order, changes nothing


def test_of_states_with_one_venue_time_the_last_received_wins_and_replays_change_nothing(fresh_dsn):
    """A fill, an order locking funds and its cancel in one millisecond; then a repeat of the unchanged state at a
    later millisecond followed, in that millisecond, by a new lock."""
    t1, t2 = 10**12, 10**12 + 10**6
    states = [_state(1, t1, "99000"), _state(2, t1, "99000", locked="50", initial="50"), _state(3, t1, "99000"),
              _state(4, t2, "99000"), _state(5, t2, "99000", locked="70", initial="70")]
    after_three = asyncio.run(_write(fresh_dsn, states[:3]))
    assert _current(fresh_dsn) == ([(Decimal(99000), Decimal(0), t1)], [])  # the cancel, not the lock
    written = asyncio.run(_write(fresh_dsn, states[3:]))
    assert len(written["account_state_history"]) == 4 and len(written["account_state_repeats"]) == 1
    assert _current(fresh_dsn) == ([(Decimal(99000), Decimal(70), t2)], [("USDT", Decimal(70))])
    assert after_three["account_state_history"] == written["account_state_history"][:3]
    for order in (states, states[::-1]):
        assert asyncio.run(_write(fresh_dsn, order)) == written


def test_a_late_older_state_does_not_overwrite_a_newer_one(fresh_dsn):
    """A position's margin at t1; at t3 the position is closed (no margin) with the same balance as at t1; a state
    of t2 (still holding margin) arrives last. The account stays at t3: no margin, the t1/t3 balance."""
    t1, t2, t3 = 10**12, 2 * 10**12, 3 * 10**12
    states = [_state(1, t1, "99000", locked="40", initial="40"), _state(2, t3, "99000", locked="40"),
              _state(3, t2, "98000", locked="40", initial="60")]
    written = asyncio.run(_write(fresh_dsn, states))
    assert _current(fresh_dsn) == ([(Decimal(99000), Decimal(40), t3)], [])
    (account,) = _rows(fresh_dsn, "SELECT last_update_ns FROM accounts")
    assert account["last_update_ns"] == t3
    assert asyncio.run(_write(fresh_dsn, states[::-1])) == written
