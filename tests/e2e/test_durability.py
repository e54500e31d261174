"""Nothing accepted is lost at any instant, and one trader id runs once: ``live run`` subprocesses against the
simulator, with PostgreSQL behind a TCP proxy the test cuts (a database outage the machine's server never sees).

The ground truth is the node's own record: ``RecordingStrategy`` appends every order event id it receives to a
file and fsyncs it before returning (it runs after the OMS handlers, which see each event first).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest

from backend.live.database import Database
from backend.live.oms.journal import Journal
from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import (
    FILL_COLUMNS,
    LOCAL_SIM_CONFIG,
    PROJECT_ROOT,
    fetch,
    simulator_fills,
    simulator_orders,
)

pytestmark = [pytest.mark.timeout(420), pytest.mark.e2e]

BINANCE_MARKETS = (("binance", "spot"), ("binance", "usdt_futures"))
BYBIT_MARKETS = (("bybit", "spot"), ("bybit", "linear"))
SPOT_BTC, PERP_BTC = "BTCUSDT.BINANCE", "BTCUSDT-PERP.BINANCE_FUTURES"
BINANCE = {"BINANCE_SPOT", "BINANCE_FUTURES"}


class PgProxy:
    """A TCP proxy in front of PostgreSQL. ``cut()`` closes every connection and refuses new ones (accepts and
    closes them at once) until ``restore()``: to the node, the database is down."""

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        port = parts.port or 5432
        self._target: tuple[int, Any] = (socket.AF_UNIX, f"{socket_dir}/.s.PGSQL.{port}") if socket_dir.startswith("/") \
            else (socket.AF_INET, (parts.hostname or "127.0.0.1", port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        query = "&".join(f"{k}={v[0]}" for k, v in parse_qs(parts.query).items() if k != "host")
        netloc = f"{parts.username or 'postgres'}{':' + parts.password if parts.password else ''}@127.0.0.1:{self.port}"
        self.dsn = urlunsplit(parts._replace(netloc=netloc, query=query))
        self.up = True
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.socket(self._target[0], socket.SOCK_STREAM)
            try:
                upstream.connect(self._target[1])
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                s.close()

    def cut(self) -> None:
        self.up = False
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self._listener.close()


def market_orders(count: int) -> list[dict[str, Any]]:
    """Alternating buys and sells of spot and perpetual BTC: every order fills at once."""
    return [{"op": "market", "instrument_id": SPOT_BTC if n % 2 == 0 else PERP_BTC,
             "side": "BUY" if n % 4 < 2 else "SELL", "quantity": "0.00100" if n % 2 == 0 else "0.002"}
            for n in range(count)]


def write_config(directory: Path, trader_id: str, actions: list[dict[str, Any]], clients: set[str],
                 record: Path, interval_secs: float = 0.15) -> Path:
    raw = json.loads(LOCAL_SIM_CONFIG.read_text())
    node = raw["trading_node"]
    node["data_clients"] = {k: v for k, v in node["data_clients"].items() if k in clients}
    node["exec_clients"] = {k: v for k, v in node["exec_clients"].items() if k in clients}
    node["timeouts"].update(connection_secs=20, post_stop_secs=0.5, disconnection_secs=2)
    strategy = node["strategies"][0]
    strategy["strategy_path"] = "tests.e2e.recording_strategy:RecordingStrategy"
    strategy["config_path"] = "tests.e2e.recording_strategy:RecordingStrategyConfig"
    strategy["config"].update(actions=actions, interval_secs=interval_secs, record_path=str(record))
    raw["trader_id"] = trader_id
    raw["oms"] = {"shutdown_flush_secs": 2, "journal_directory": str(directory / "journal")}
    raw["logging"] = {"level": "INFO", "log_directory": str(directory / "logs"), "file_level": "INFO"}
    path = directory / f"{trader_id}-{record.stem}.json"
    path.write_text(json.dumps(raw))
    return path


class LiveRun:
    """``live run`` as a subprocess, its output collected while it runs."""

    def __init__(self, config: Path, sim: SimulatorThread, dsn: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backend.live.cli", "run", "--config", str(config)],
            env={**os.environ, **sim.env, "LIVE_DATABASE_URL": dsn}, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.pid = self.process.pid
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def running(self) -> bool:
        return any(" RUNNING with " in line for line in self.lines)

    def wait(self, timeout: float = 90) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self._reader.join(5)
            raise AssertionError(f"live run did not stop within {timeout:.0f} s:\n{self.output}") from None
        self._reader.join(5)
        return code, self.output

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        return self.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait()


def start(config: Path, sim: SimulatorThread, dsn: str) -> LiveRun:
    return LiveRun(config, sim, dsn)


def recorded(record: Path) -> list[str]:
    return [line.split()[0] for line in record.read_text().splitlines()] if record.exists() else []


def wait_for(what: str, predicate, run: LiveRun | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if run is not None and run.process.poll() is not None:
            raise AssertionError(f"live run ended ({run.process.returncode}) while waiting for {what}:\n{run.output}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f":\n{run.output}" if run else ""))
        time.sleep(0.05)


def rows(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    return asyncio.run(fetch(dsn, query, *args))


def migrate(dsn: str) -> str:
    """The tables exist before the first node starts (the tests poll them meanwhile)."""
    async def connect() -> None:
        await (await Database.connect(dsn)).close()

    asyncio.run(connect())
    return dsn


def stored_event_ids(dsn: str, trader_id: str) -> Counter:
    return Counter(str(r["event_id"]) for r in rows(dsn, "SELECT event_id FROM order_events WHERE trader_id = $1",
                                                      trader_id))


def stored_fills(dsn: str, trader_id: str) -> set[tuple]:
    return {tuple(r.values()) for r in rows(dsn, f"SELECT {FILL_COLUMNS} FROM fills WHERE trader_id = $1", trader_id)}


@pytest.fixture
def setup(tmp_path, pg_server_dsn):
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        proxy = PgProxy(migrate(dsn))
        try:
            yield tmp_path, sim, dsn, proxy
        finally:
            proxy.close()


def test_kill_9_at_random_moments_loses_and_doubles_no_order_event(setup) -> None:
    """Rounds of ``kill -9``: while trading, 0-5 s into a database outage, and right after a burst (mid-batch);
    each restart writes what the journal holds. Every event the node published is stored exactly once, and the
    fills equal the venue's."""
    tmp_path, sim, dsn, proxy = setup
    record = tmp_path / "events.log"
    config = write_config(tmp_path, "DUR-001", market_orders(12), BINANCE, record, interval_secs=0.1)
    rng = random.Random(int(os.environ.get("DURABILITY_SEED", "12")))
    for moment in ("trading", "outage", "burst", "outage", "trading"):
        before = len(recorded(record))
        run = start(config, sim, proxy.dsn)
        try:
            wait_for("order events", lambda: len(recorded(record)) >= before + 3, run)  # noqa: B023
            if moment == "outage":
                proxy.cut()
                time.sleep(rng.uniform(0, 5))
            elif moment == "burst":
                time.sleep(rng.uniform(0, 0.05))
            else:
                time.sleep(rng.uniform(0.1, 1.5))
        finally:
            run.kill()  # SIGKILL: no handler, no flush, no close
            proxy.restore()
        assert run.process.returncode == -signal.SIGKILL
    # a last run with the database up, stopped gracefully once RUNNING: it writes what the killed runs left in the
    # journal, and its reconciliation brings the fills of orders whose events the kills cut off
    run = start(write_config(tmp_path, "DUR-001", [], BINANCE, record), sim, proxy.dsn)
    events = recorded(record)
    wait_for("RUNNING", lambda: run.running, run)
    wait_for("every recorded event in PostgreSQL", lambda: set(events) <= set(stored_event_ids(dsn, "DUR-001")), run)
    code, out = run.stop()
    assert code == 0, out
    stored = stored_event_ids(dsn, "DUR-001")
    assert set(events) - set(stored) == set()  # none lost
    assert max(stored.values()) == 1  # none doubled
    assert len(events) >= 5 * 3
    assert stored_fills(dsn, "DUR-001") == simulator_fills(sim, DEMO_ACCOUNT_ID, BINANCE_MARKETS)
    assert rows(dsn, "SELECT kind, error FROM dead_letters") == []


def test_sigterm_with_postgres_down_exits_0_and_the_journal_is_written_on_restart(setup) -> None:
    tmp_path, sim, dsn, proxy = setup
    record = tmp_path / "events.log"
    run = start(write_config(tmp_path, "DUR-001", market_orders(8), BINANCE, record, interval_secs=0.3), sim,
                proxy.dsn)
    try:
        wait_for("the first events in PostgreSQL", lambda: len(stored_event_ids(dsn, "DUR-001")) >= 3, run)
        proxy.cut()
        during = len(recorded(record))
        wait_for("events during the outage", lambda: len(recorded(record)) >= during + 4, run)
        code, out = run.stop()
    finally:
        run.kill()
    assert code == 0, out
    assert "Traceback" not in out, out
    waiting = [line for line in out.splitlines() if "items wait in the OMS journal" in line]
    assert len(waiting) == 1, out
    left = int(re.search(r"(\d+) items wait", waiting[0])[1])
    journal = Journal(tmp_path / "journal" / "DUR-001")
    pending = journal.open()
    journal.close()
    assert len(pending) == left > 0
    missing = set(recorded(record)) - set(stored_event_ids(dsn, "DUR-001"))
    assert missing and missing <= {r.item.event.event_id for r in pending if hasattr(r.item, "event")}

    proxy.restore()
    restart = start(write_config(tmp_path, "DUR-001", [], BINANCE, record), sim, proxy.dsn)
    wait_for("RUNNING", lambda: restart.running, restart)
    wait_for("the journal written", lambda: set(recorded(record)) <= set(stored_event_ids(dsn, "DUR-001")), restart)
    code, out = restart.stop()
    assert code == 0, out
    assert stored_fills(dsn, "DUR-001") == simulator_fills(sim, DEMO_ACCOUNT_ID, BINANCE_MARKETS)
    statuses = Counter(r["status"] for r in rows(dsn, "SELECT status FROM unified_orders WHERE trader_id = $1",
                                                  "DUR-001"))
    venue_orders = simulator_orders(sim, DEMO_ACCOUNT_ID, BINANCE_MARKETS)
    assert statuses == Counter({"FILLED": len(venue_orders)}) and len(venue_orders) >= 2
    assert rows(dsn, "SELECT kind, error FROM dead_letters") == []


def test_sigterm_half_started_with_postgres_down_exits_0_with_one_line(setup) -> None:
    """PostgreSQL goes away while the node is still starting (clients connecting, reconciliation): the stop abandons
    the start, says in one line what waits in the journal, and exits 0 without a traceback."""
    tmp_path, sim, dsn, proxy = setup
    record = tmp_path / "events.log"
    run = start(write_config(tmp_path, "DUR-001", market_orders(2), BINANCE, record), sim, proxy.dsn)
    try:
        wait_for("the node lock", lambda: any("Node lock for trader id DUR-001 taken" in line for line in run.lines),
                 run)
        proxy.cut()
        code, out = run.stop()
    finally:
        run.kill()
    assert code == 0, out
    assert "Traceback" not in out, out
    assert len([line for line in out.splitlines() if "wait in the OMS journal" in line]) == 1, out


def test_a_node_whose_lock_another_node_took_stops_trading_and_exits_1(setup) -> None:
    """The lock's connection dies (its server session killed) and another holder takes the trader id before the
    node's heartbeat retakes it: the node stops, saying so, with exit 1."""
    tmp_path, sim, dsn, proxy = setup
    run = start(write_config(tmp_path, "DUR-001", [], BINANCE, tmp_path / "events.log"), sim, dsn)

    async def usurp() -> None:
        import asyncpg

        from backend.live.node_lock import lock_key

        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'live-node DUR-001'")
            for _ in range(100):
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key("DUR-001")):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the killed session's lock was not released")
            code, out = await asyncio.to_thread(run.wait, 60)
        finally:
            await conn.close()
        assert code == 1, out
        assert "Node stopped trading: trader id DUR-001 is already held by another node (not recorded in the nodes " \
            "table)" in out, out
        assert "Traceback" not in out, out

    try:
        wait_for("RUNNING", lambda: run.running, run)
        asyncio.run(usurp())
    finally:
        run.kill()


def order_statuses(dsn: str, trader_id: str) -> Counter:
    return Counter(r["status"] for r in rows(dsn, "SELECT status FROM unified_orders WHERE trader_id = $1", trader_id))


def test_one_trader_id_runs_once_and_other_trader_ids_run_alongside(tmp_path, pg_server_dsn) -> None:
    with temporary_database(pg_server_dsn) as dsn, \
            SimulatorThread(SimConfig.default(venues=("binance", "bybit"))) as sim:
        first_record, second_record, other_record = (tmp_path / f"{n}.log" for n in ("first", "second", "other"))
        first = start(write_config(tmp_path, "DUR-001", market_orders(4), BINANCE, first_record), sim, migrate(dsn))
        other = None
        try:
            wait_for("the first node's orders", lambda: order_statuses(dsn, "DUR-001") == Counter({"FILLED": 4}),
                     first)
            second = subprocess.run(
                [sys.executable, "-m", "backend.live.cli", "run", "--config",
                 str(write_config(tmp_path, "DUR-001", market_orders(4), BINANCE, second_record))],
                env={**os.environ, **sim.env, "LIVE_DATABASE_URL": dsn}, cwd=PROJECT_ROOT, capture_output=True,
                text=True, timeout=60)
            assert second.returncode == 1, second.stdout + second.stderr
            assert f"trader id DUR-001 is already running on host {socket.gethostname()}, pid {first.pid}, since " \
                in second.stdout + second.stderr
            assert recorded(second_record) == []  # it never traded

            before = rows(dsn, "SELECT * FROM order_events WHERE trader_id = 'DUR-001' ORDER BY event_id")
            bybit_orders = [{"op": "market", "instrument_id": i, "side": "BUY", "quantity": "0.001"}
                            for i in ("BTCUSDT-SPOT.BYBIT", "BTCUSDT-LINEAR.BYBIT")]
            other = start(write_config(tmp_path, "DUR-002", bybit_orders, {"BYBIT"}, other_record), sim, dsn)
            wait_for("the other node's orders", lambda: order_statuses(dsn, "DUR-002") == Counter({"FILLED": 2}),
                     other)
            nodes = subprocess.run([sys.executable, "-m", "backend.live.cli", "nodes"],
                                   env={**os.environ, "LIVE_DATABASE_URL": dsn}, cwd=PROJECT_ROOT,
                                   capture_output=True, text=True, timeout=60)
            assert nodes.returncode == 0, nodes.stderr
            listed = {line.split()[1]: line for line in nodes.stdout.splitlines() if "DUR-00" in line}
            assert set(listed) == {"DUR-001", "DUR-002"} and all("running" in line for line in listed.values())
            assert str(first.pid) in listed["DUR-001"] and str(other.pid) in listed["DUR-002"]
            code, out = other.stop()
            assert code == 0, out
            after = rows(dsn, "SELECT * FROM order_events WHERE trader_id = 'DUR-001' ORDER BY event_id")
            assert after == before  # the other trader id's node changed none of the first one's rows
            code, out = first.stop()
            assert code == 0, out
        finally:
            for run in (first, other):
                if run is not None:
                    run.kill()
        assert stored_fills(dsn, "DUR-001") == simulator_fills(sim, DEMO_ACCOUNT_ID, BINANCE_MARKETS)
        assert stored_fills(dsn, "DUR-002") == simulator_fills(sim, DEMO_ACCOUNT_ID, BYBIT_MARKETS)
        assert set(recorded(first_record)) <= set(stored_event_ids(dsn, "DUR-001"))
        assert set(recorded(other_record)) <= set(stored_event_ids(dsn, "DUR-002"))
        stopped = {r["trader_id"]: r for r in rows(dsn, "SELECT trader_id, stopped_at FROM nodes")}
        assert all(r["stopped_at"] is not None for r in stopped.values()) and len(stopped) == 2
