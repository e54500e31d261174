"""Four nodes, one database: four ``live run`` processes with distinct trader ids trade against one simulator into
one PostgreSQL (tests/e2e/test_many_nodes.py asserts the outcome, bench/many_nodes.py times it).

Each trader id trades its own venue accounts, so the simulator's record of those accounts is that trader's truth:
MN-1 Binance spot, MN-2 Binance USDT-M futures, MN-3 Bybit (spot + linear), MN-4 OKX (spot + swap). Three of them
hold BTC/USDT:USDT (long on Binance futures and OKX swap, short on Bybit linear): the firm-wide view nets them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from backend.simulator.config import DEMO_ACCOUNT_ID
from backend.simulator.harness import SimulatorThread
from tests.e2e.live_support import FILL_COLUMNS, MARKETS, simulator_fills, simulator_orders
from tests.e2e.test_durability import LiveRun, rows, write_config

# the tables with a trader_id column whose rows a node writes (nodes: the lock's heartbeat, checked apart)
TRADER_TABLES = ("accounts", "instruments", "unified_orders", "order_events", "fills", "unified_positions",
                 "position_history", "account_balances", "account_margins", "account_state_history")
ORDER_BY = {"order_events": "event_id", "fills": "trade_id", "position_history": "recorded_ns, canonical_id",
            "account_state_history": "event_id", "unified_orders": "client_order_id", "instruments": "instrument_id",
            "unified_positions": "canonical_id", "accounts": "account_id", "account_balances": "account_id, currency",
            "account_margins": "account_id, margin_key"}


@dataclass(frozen=True)
class Trader:
    trader_id: str
    clients: frozenset[str]
    markets: tuple[tuple[str, str], ...]
    orders: tuple[tuple[str, str, str], ...]  # (instrument id, side, quantity), repeated round-robin

    def actions(self, count: int) -> list[dict[str, Any]]:
        return [{"op": "market", "instrument_id": i, "side": s, "quantity": q}
                for i, s, q in (self.orders[n % len(self.orders)] for n in range(count))]


TRADERS = (
    Trader("MN-1", frozenset({"BINANCE_SPOT"}), (("binance", "spot"),),
           (("BTCUSDT.BINANCE", "BUY", "0.00100"), ("ETHUSDT.BINANCE", "BUY", "0.0100"))),
    Trader("MN-2", frozenset({"BINANCE_FUTURES"}), (("binance", "usdt_futures"),),
           (("BTCUSDT-PERP.BINANCE_FUTURES", "BUY", "0.002"),)),
    Trader("MN-3", frozenset({"BYBIT"}), (("bybit", "spot"), ("bybit", "linear")),
           (("BTCUSDT-LINEAR.BYBIT", "SELL", "0.001"), ("BTCUSDT-SPOT.BYBIT", "BUY", "0.001"))),
    Trader("MN-4", frozenset({"OKX"}), (("okx", "spot"), ("okx", "swap")),
           (("BTC-USDT-SWAP.OKX", "BUY", "1"), ("BTC-USDT.OKX", "BUY", "0.01000000"))),
)
FIRM_CANONICAL = "BTC/USDT:USDT"


def start_nodes(directory: Path, sim: SimulatorThread, dsn: str, orders: dict[str, int],
                interval_secs: float = 0.15) -> dict[str, LiveRun]:
    runs = {}
    for trader in TRADERS:
        if trader.trader_id in orders:
            config = write_config(directory, trader.trader_id, trader.actions(orders[trader.trader_id]),
                                  set(trader.clients), directory / f"{trader.trader_id}.log", interval_secs)
            runs[trader.trader_id] = LiveRun(config, sim, dsn)
    return runs


def order_statuses(dsn: str, trader_id: str) -> Counter:
    return Counter(r["status"] for r in rows(dsn, "SELECT status FROM unified_orders WHERE trader_id = $1", trader_id))


def snapshot(dsn: str, trader_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``trader_id`` in every table it writes."""
    return {table: rows(dsn, f"SELECT * FROM {table} WHERE trader_id = $1 ORDER BY {ORDER_BY[table]}", trader_id)
            for table in TRADER_TABLES}


def stored_fills(dsn: str, trader_id: str) -> set[tuple]:
    return {tuple(r.values()) for r in rows(dsn, f"SELECT {FILL_COLUMNS} FROM fills WHERE trader_id = $1", trader_id)}


def venue_net(sim: SimulatorThread, dsn: str, trader: Trader) -> dict[str, Decimal]:
    """The trader's net position per canonical instrument from the simulator's trades (in base units, contracts
    times the instrument's multiplier; a spot fee paid in the base asset is not held)."""
    refs = {r["instrument_id"]: (r["canonical_id"], r["contract_multiplier"], r["base_currency"]) for r in rows(
        dsn, "SELECT instrument_id, canonical_id, contract_multiplier, base_currency FROM instruments "
             "WHERE trader_id = $1", trader.trader_id)}
    net: dict[str, Decimal] = Counter()
    for venue, market in trader.markets:
        instrument_format = MARKETS[(venue, market)][0]
        for f in sim.call(sim.exchange(venue, market).fills, DEMO_ACCOUNT_ID):
            canonical_id, multiplier, base = refs[instrument_format.format(f.symbol)]
            net[canonical_id] += (f.quantity if f.side == "BUY" else -f.quantity) * multiplier
            if f.fee_asset == base:
                net[canonical_id] -= f.fee
    return dict(net)


def check_equal_to_simulator(sim: SimulatorThread, dsn: str, trader: Trader, orders: int) -> None:
    """The trader's orders, fills and positions equal the simulator's record of its venue accounts."""
    assert order_statuses(dsn, trader.trader_id) == Counter({"FILLED": orders}), trader.trader_id
    assert stored_fills(dsn, trader.trader_id) == simulator_fills(sim, DEMO_ACCOUNT_ID, trader.markets)
    venue_orders = simulator_orders(sim, DEMO_ACCOUNT_ID, trader.markets)
    stored = {(r["instrument_id"], r["venue_order_id"]) for r in rows(
        dsn, "SELECT instrument_id, venue_order_id FROM unified_orders WHERE trader_id = $1", trader.trader_id)}
    assert stored == set(venue_orders), trader.trader_id
    positions = {r["canonical_id"]: r["net_quantity"] for r in rows(
        dsn, "SELECT canonical_id, net_quantity FROM unified_positions WHERE trader_id = $1", trader.trader_id)}
    assert positions == venue_net(sim, dsn, trader), trader.trader_id
