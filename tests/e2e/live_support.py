"""Running ``LiveTradingNode`` (the product, not a bare TradingNode) against the simulator, and reading the result.

A scenario is a venue's slice of ``configs/local-sim.json`` (so the shipped config is what gets tested) with the
scripted strategy's actions replaced by the test's. After the run the tests compare PostgreSQL with the simulator.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.model.events import AccountState

from backend.live.accounts import convert_account_state
from backend.live.config.loader import LiveConfigLoader
from backend.live.config.schema import LiveConfig
from backend.live.database import Database
from backend.live.oms.convert import convert_order_event
from backend.live.oms.writer import OmsWriter
from backend.live.trading_node import LiveTradingNode
from tests.waiting import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCAL_SIM_CONFIG = PROJECT_ROOT / "configs" / "local-sim.json"
TABLES = ("accounts", "instruments", "unified_orders", "order_events", "fills", "unified_positions",
          "position_history", "account_balances", "account_margins", "account_state_history",
          "account_state_repeats", "dead_letters")


def live_config(tmp_path: Path, env: dict[str, str], dsn: str, clients: Iterable[str],
                actions: list[dict[str, Any]], trader_id: str = "E2E-001") -> LiveConfig:
    """The shipped simulator config restricted to ``clients``, trading ``actions``, writing to ``dsn``."""
    raw = json.loads(LOCAL_SIM_CONFIG.read_text())
    clients = set(clients)
    node = raw["trading_node"]
    node["data_clients"] = {k: v for k, v in node["data_clients"].items() if k in clients}
    node["exec_clients"] = {k: v for k, v in node["exec_clients"].items() if k in clients}
    node["timeouts"].update(post_stop_secs=0.1, disconnection_secs=2)
    strategy = node["strategies"][0]
    strategy["config"]["actions"] = actions
    strategy["config"]["interval_secs"] = 0.3
    raw.update(trader_id=trader_id, database={"dsn": dsn}, oms={"journal_directory": str(tmp_path / "journal")})
    raw["logging"] = {"level": os.environ.get("E2E_LOG_LEVEL", "WARNING")}
    path = tmp_path / "live.json"
    path.write_text(json.dumps(raw))
    return LiveConfigLoader(path, env=env).load()


@dataclass
class LiveRun:
    node: LiveTradingNode
    captured: list[Any] = field(default_factory=list)
    tables_after_run: dict[str, list[tuple]] = field(default_factory=dict)
    tables_after_replay: dict[str, list[tuple]] = field(default_factory=dict)
    cache_orders: dict[str, Any] = field(default_factory=dict)  # client_order_id -> NautilusTrader order status
    cache_balances: dict[str, dict[str, tuple[Decimal, Decimal, Decimal]]] = field(default_factory=dict)
    health: list[Any] = field(default_factory=list)  # LiveTradingNode.health() just before the stop


async def table_snapshot(pool: Any) -> dict[str, list[tuple]]:
    """Every row of every unified table, in a stable order (for before/after comparisons)."""
    snapshot = {}
    async with pool.acquire() as conn:
        for table in TABLES:
            rows = await conn.fetch(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            snapshot[table] = sorted((tuple(str(v) for v in r.values()) for r in rows))
    return snapshot


def run_live(config: LiveConfig, dsn: str, settled: Callable[[Any], bool] | None = None,
             during: Callable[[Any], Awaitable[None]] | None = None) -> LiveRun:
    """Run the node until its script is done and ``settled(trading_node)`` holds, stop it (flushing everything),
    then replay every captured order and account event through a second writer. ``during(trading_node)`` runs on
    the node's loop while the script plays (e.g. to inject a fault at the right moment)."""
    holder: dict[str, Any] = {}

    async def main() -> LiveRun:
        database = await Database.connect(dsn)
        live = LiveTradingNode(config, database)
        trading_node = live.build()
        holder["node"] = trading_node
        run = LiveRun(node=live)
        trading_node.kernel.msgbus.subscribe(topic="events.order.*", handler=run.captured.append)
        trading_node.kernel.msgbus.subscribe(topic="events.account.*", handler=run.captured.append)
        try:
            await live.start(timeout_secs=40)
            strategy = trading_node.trader.strategies()[0]
            if during is not None:
                await during(trading_node)
            await wait_until(lambda: strategy.done, "the scripted strategy to finish", timeout=30)
            if settled is not None:
                await wait_until(lambda: settled(trading_node), "the orders to settle", timeout=30, describe=lambda: "; ".join(
                    f"{o.instrument_id} {o.side_string()} {o.type_string()} {o.status_string()}"
                    for o in trading_node.cache.orders()))
            await asyncio.sleep(0.5)  # the last account updates follow the fills
            run.health = live.health()
            run.cache_orders = {o.client_order_id.value: o.status_string() for o in trading_node.cache.orders()}
            for account in trading_node.cache.accounts():
                run.cache_balances[account.id.value] = {
                    c.code: (b.total.as_decimal(), b.free.as_decimal(), b.locked.as_decimal())
                    for c, b in account.balances().items()
                }
        finally:
            await live.stop()
        run.tables_after_run = await table_snapshot(database.pool)
        await _replay(live, database, run.captured)
        run.tables_after_replay = await table_snapshot(database.pool)
        await database.close()
        return run

    try:
        return asyncio.run(main())
    finally:
        if "node" in holder:
            holder["node"].dispose()


async def _replay(live: LiveTradingNode, database: Database, captured: list[Any]) -> None:
    writer = OmsWriter(database.pool)
    writer.start()
    for event in captured:
        if isinstance(event, AccountState):
            writer.submit(convert_account_state(live.trader_id, AccountState.to_dict(event)))
        else:
            writer.submit(convert_order_event(type(event).to_dict(event), live.instruments.ref_for_id(event.instrument_id)))
    await writer.stop()


def _uuid_id(core_id: int) -> str:
    return str(uuid.UUID(int=core_id))


# Per (venue, market) as configs/local-sim.json names them: the NautilusTrader instrument id of a simulator symbol,
# and how the venue prints the simulator's order / trade ids (Bybit derivatives use UUIDs, as the real venue does).
MARKETS: dict[tuple[str, str], tuple[str, Callable[[int], str]]] = {
    ("binance", "spot"): ("{}.BINANCE", str),
    ("binance", "usdt_futures"): ("{}-PERP.BINANCE_FUTURES", str),
    ("bybit", "spot"): ("{}-SPOT.BYBIT", str),
    ("bybit", "linear"): ("{}-LINEAR.BYBIT", _uuid_id),
    ("okx", "spot"): ("{}.OKX", str),
    ("okx", "swap"): ("{}.OKX", str),
}


def simulator_fills(sim: Any, account_id: str, markets: Iterable[tuple[str, str]]) -> set[tuple]:
    """The simulator's trades as ``fills`` rows: (instrument_id, trade_id, venue_order_id, side, quantity, price,
    commission, commission currency, liquidity side)."""
    rows = set()
    for venue, market in markets:
        instrument_format, venue_id = MARKETS[(venue, market)]
        for f in sim.call(sim.exchange(venue, market).fills, account_id):
            rows.add((instrument_format.format(f.symbol), venue_id(f.trade_id), venue_id(f.order_id), f.side,
                      f.quantity, f.price, f.fee, f.fee_asset, "MAKER" if f.is_maker else "TAKER"))
    return rows


def simulator_orders(sim: Any, account_id: str, markets: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The simulator's orders keyed like ``unified_orders``: (instrument_id, venue_order_id)."""
    orders = {}
    for venue, market in markets:
        instrument_format, venue_id = MARKETS[(venue, market)]
        for o in sim.call(sim.exchange(venue, market).order_history, account_id):
            orders[(instrument_format.format(o.symbol), venue_id(o.order_id))] = o
    return orders


FILL_COLUMNS = ("instrument_id, trade_id, venue_order_id, side, quantity, price, commission, commission_currency, "
                "liquidity_side")


async def fetch(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    database = await Database.connect(dsn, run_migrations=False)
    try:
        return [dict(r) for r in await database.pool.fetch(query, *args)]
    finally:
        await database.close()


def rows(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    """Synchronous ``fetch`` for the assertions of module-scoped e2e runs."""
    return asyncio.run(fetch(dsn, query, *args))


def order_outcomes(dsn: str) -> Counter:
    """How many orders ended how: ``{(instrument_id, side, order_type, status): count}``."""
    return Counter((r["instrument_id"], r["side"], r["order_type"], r["status"])
                   for r in rows(dsn, "SELECT instrument_id, side, order_type, status FROM unified_orders"))


def stored_balances(dsn: str) -> dict[str, dict[str, tuple[Decimal, Decimal, Decimal]]]:
    """``account_balances`` as ``{account_id: {currency: (total, free, locked)}}`` (the shape of
    ``LiveRun.cache_balances``)."""
    balances: dict[str, dict[str, tuple[Decimal, Decimal, Decimal]]] = {}
    for r in rows(dsn, "SELECT account_id, currency, total, free, locked FROM account_balances"):
        balances.setdefault(r["account_id"], {})[r["currency"]] = (r["total"], r["free"], r["locked"])
    return balances
