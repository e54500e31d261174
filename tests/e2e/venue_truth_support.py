"""Shared by tests/e2e/test_venue_truth*.py and bench/faults.py: six account types, a script that leaves resting
orders, fills made while the node is down, and the comparison of PostgreSQL with the simulator's record."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec

from backend.live.config.loader import LiveConfigLoader
from backend.live.config.schema import LiveConfig
from backend.simulator.config import DEMO_ACCOUNT_ID
from tests.e2e.live_support import (
    FILL_COLUMNS,
    MARKETS,
    PROJECT_ROOT,
    live_config,
    rows,
    simulator_fills,
    simulator_orders,
)
from tests.waiting import wait_until

CLIENTS = ("BINANCE_SPOT", "BINANCE_FUTURES", "BYBIT", "OKX")
# (venue, market): (instrument id, simulator symbol, order quantity)
ACCOUNT_TYPES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("binance", "spot"): ("BTCUSDT.BINANCE", "BTCUSDT", "0.01000"),
    ("binance", "usdt_futures"): ("BTCUSDT-PERP.BINANCE_FUTURES", "BTCUSDT", "0.010"),
    ("bybit", "spot"): ("BTCUSDT-SPOT.BYBIT", "BTCUSDT", "0.010000"),
    ("bybit", "linear"): ("BTCUSDT-LINEAR.BYBIT", "BTCUSDT", "0.010"),
    ("okx", "spot"): ("BTC-USDT.OKX", "BTC-USDT", "0.01000000"),
    ("okx", "swap"): ("BTC-USDT-SWAP.OKX", "BTC-USDT-SWAP", "1"),
}
SPOT = {("binance", "spot"), ("bybit", "spot"), ("okx", "spot")}


def fresh_adapter_caches() -> None:
    """Forget the HTTP clients and instrument providers NautilusTrader's Bybit and OKX factories cache per key and
    URL: a stopped node cancels them, and a second node in the same process (a restart inside one test; an operator
    restarts the process) would get the canceled ones ("Request canceled: Adapter disconnecting")."""
    from nautilus_trader.adapters.bybit import factories as bybit
    from nautilus_trader.adapters.okx import factories as okx

    for cached in (bybit.get_cached_bybit_http_client, bybit.get_cached_bybit_instrument_provider,
                   okx.get_cached_okx_http_client, okx.get_cached_okx_instrument_provider):
        cached.cache_clear()


def market_and_resting_actions() -> list[dict[str, Any]]:
    """A market BUY on every account type, then a limit BUY 3 % below the market that rests."""
    actions = [{"op": "market", "instrument_id": i, "side": "BUY", "quantity": q} for i, _, q in ACCOUNT_TYPES.values()]
    actions += [{"op": "limit", "instrument_id": i, "side": "BUY", "quantity": q, "offset_bps": -300}
                for i, _, q in ACCOUNT_TYPES.values()]
    return actions


def venue_truth_config(tmp_path: Path, env: dict[str, str], dsn: str, actions: list[dict[str, Any]],
                       **reconciliation: Any) -> LiveConfig:
    """The shipped simulator config on all six account types, written to ``tmp_path / "live.json"`` (so a
    ``live run`` subprocess reads the same file) and loaded; the venue audit runs every 2 s with a short settle time
    unless ``reconciliation`` says otherwise. Runs with the same ``tmp_path`` share the OMS journal directory."""
    fresh_adapter_caches()
    config = live_config(tmp_path, env, dsn, CLIENTS, actions)
    path = tmp_path / "live.json"
    raw = json.loads(path.read_text())
    raw["trading_node"]["reconciliation"] = {"audit_interval_secs": 2.0, "audit_settle_secs": 0.5, **reconciliation}
    path.write_text(json.dumps(raw))
    config = LiveConfigLoader(path, env=env).load()
    return config


def live_run_process(tmp_path: Path, env: dict[str, str], dsn: str) -> subprocess.Popen[bytes]:
    """``live run`` on the config ``venue_truth_config`` wrote to ``tmp_path``, as an operator starts it."""
    return subprocess.Popen([sys.executable, "-m", "backend.live.cli", "run", "--config", str(tmp_path / "live.json")],
                            env={**os.environ, **env, "LIVE_DATABASE_URL": dsn}, cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=(tmp_path / "stderr.log").open("wb"))


def wait_for_rows(dsn: str, query: str, count: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll until ``query`` returns at least ``count`` rows (the process must stay alive meanwhile)."""
    deadline = time.monotonic() + timeout
    while len(_rows_once_migrated(dsn, query)) < count:
        if process.poll() is not None:
            raise AssertionError(f"live run exited with {process.returncode} before {count} rows of {query!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {count} rows of {query!r}")
        time.sleep(0.1)


def _rows_once_migrated(dsn: str, query: str) -> list[dict[str, Any]]:
    try:
        return rows(dsn, query)
    except asyncpg.UndefinedTableError:  # the process has not migrated the database yet
        return []


class TcpProxy:
    """A TCP relay to PostgreSQL on a free local port, in its own thread: ``down()`` drops every connection and
    refuses new ones (a database outage as the node sees it), ``up()`` serves again."""

    def __init__(self, target_dsn: str) -> None:
        parts = urlsplit(target_dsn)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.dsn = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-proxy", daemon=True)
        self._thread.start()
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.up()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def up(self) -> None:
        async def serve() -> None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self._run(serve())

    def down(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
        self._run(close())

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}


def fill_resting_orders(sim: Any) -> None:
    """Move every market 5 % down: the resting limit BUYs fill while the node is not listening."""
    for (venue, market), (_, symbol, _) in ACCOUNT_TYPES.items():
        exchange = sim.exchange(venue, market)
        price = sim.call(lambda e=exchange, s=symbol: e.markets[s].last_price)
        sim.call(exchange.set_price, symbol, (price * Decimal("0.95")).quantize(Decimal("0.1")))


def open_resting_orders(sim: Any) -> int:
    return sum(len(sim.call(sim.exchange(v, m).open_orders, DEMO_ACCOUNT_ID)) for v, m in ACCOUNT_TYPES)


class Comparison(msgspec.Struct):
    lost: int  # venue trades not in fills
    phantom: int  # fills rows whose trade id the venue never issued
    wrong_status: int  # orders whose status differs from the venue's (or missing from the OMS)
    wrong_position: int  # account positions (spot: net of fills) that differ from the venue's
    details: list[str]


SIM_STATUS = {"NEW": "ACCEPTED", "PARTIALLY_FILLED": "PARTIALLY_FILLED", "FILLED": "FILLED", "CANCELED": "CANCELED",
              "EXPIRED": "EXPIRED"}


def compare_with_simulator(sim: Any, dsn: str) -> Comparison:
    """PostgreSQL against the simulator: fills by venue trade id (every column), order statuses, positions."""
    venue_fills = simulator_fills(sim, DEMO_ACCOUNT_ID, ACCOUNT_TYPES)
    stored = {tuple(r.values()) for r in rows(dsn, f"SELECT {FILL_COLUMNS} FROM fills")}
    details = [f"lost fill {f}" for f in sorted(venue_fills - stored, key=str)]
    details += [f"phantom fill {f}" for f in sorted(stored - venue_fills, key=str)]
    lost, phantom = len(venue_fills - stored), len(stored - venue_fills)

    orders = simulator_orders(sim, DEMO_ACCOUNT_ID, ACCOUNT_TYPES)
    statuses = {(r["instrument_id"], r["venue_order_id"]): r["status"]
                for r in rows(dsn, "SELECT instrument_id, venue_order_id, status FROM unified_orders")}
    wrong_status = 0
    for key, order in orders.items():
        if statuses.get(key) != SIM_STATUS[order.status]:
            wrong_status += 1
            details.append(f"order {key}: OMS {statuses.get(key)}, venue {order.status}")

    positions: dict[str, tuple[str, Decimal]] = {}
    for record in rows(dsn, "SELECT venue_positions::text AS v FROM unified_positions"):
        for entry in msgspec.json.decode(record["v"]).values():
            signed = Decimal(str(entry["quantity"])) * (-1 if entry["side"] == "SHORT" else 1)
            positions[entry["instrument_id"]] = signed
    wrong_position = 0
    for (venue, market), (instrument_id, symbol, _) in ACCOUNT_TYPES.items():
        if (venue, market) in SPOT:  # the holding trading left: fills net of the fees paid in the base asset
            base = instrument_id.replace("-", "")[:3]
            expected = sum((f[4] if f[3] == "BUY" else -f[4] for f in venue_fills if f[0] == instrument_id),
                           Decimal(0))
            expected -= sum((f[6] for f in venue_fills if f[0] == instrument_id and f[7] == base), Decimal(0))
        else:
            expected = sim.call(sim.exchange(venue, market).position, DEMO_ACCOUNT_ID, symbol).quantity
        if positions.get(instrument_id, Decimal(0)) != expected:
            wrong_position += 1
            details.append(f"position {instrument_id}: OMS {positions.get(instrument_id)}, venue {expected}")
    return Comparison(lost, phantom, wrong_status, wrong_position, details)


def reconciliation_events(dsn: str) -> list[dict[str, Any]]:
    return rows(dsn, "SELECT kind, instrument_id, client_order_id, trade_id, oms_value, venue_value, action, resolved, source "
                     "FROM reconciliation_events ORDER BY id")


async def wait_for(predicate: Any, what: str, timeout: float = 30.0) -> None:
    """``tests.waiting.wait_until`` with this module's patience."""
    await wait_until(predicate, what, timeout=timeout, interval=0.1)


assert set(ACCOUNT_TYPES) <= set(MARKETS)
