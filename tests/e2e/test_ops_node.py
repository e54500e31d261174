"""The node's endpoints on a running LiveTradingNode against the simulator: /health/ready says 200 when all is well
and 503 naming the part that fails (the venue's private stream, PostgreSQL), /metrics agrees with PostgreSQL, the
bind is loopback, and no secret appears in any answer or log line."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import msgspec
import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from prometheus_client.parser import text_string_to_metric_families

from backend.live.database import Database
from backend.live.ops.logs import configure_logging, log_file_path
from backend.live.ops.node_ops import all_secrets
from backend.live.trading_node import LiveTradingNode
from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import live_config, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SPOT_BTC = "BTCUSDT.BINANCE"
ACTIONS = [
    {"op": "market", "instrument_id": SPOT_BTC, "side": "BUY", "quantity": "0.01000"},
    {"op": "market", "instrument_id": SPOT_BTC, "side": "SELL", "quantity": "0.00400"},
    {"op": "limit", "instrument_id": SPOT_BTC, "side": "BUY", "quantity": "0.00100", "offset_bps": -800},
]


class TcpProxy:
    """127.0.0.1:<port> forwarded to PostgreSQL; ``cut()`` drops every connection and refuses new ones until
    ``restore()`` (PostgreSQL unreachable, as after a network partition)."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-proxy", daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()
        self.cut_off = False
        self.port = 0

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def dsn(self, dsn: str) -> str:
        parts = urlsplit(dsn)
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    def cut(self) -> None:
        self.cut_off = True

        def close_all() -> None:
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
        self._loop.call_soon_threadsafe(close_all)

    def restore(self) -> None:
        self.cut_off = False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                dst.transport.abort()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def _ready_failing(session: aiohttp.ClientSession, url: str) -> dict[str, str]:
    status, text = await _get(session, url + "/health/ready")
    body = json.loads(text)
    assert (status == 200) == (not body["failing"]), (status, body)
    return body["failing"]


async def _eventually_failing(session, url: str, part: str, timeout: float) -> dict[str, str]:
    seen: dict[str, dict[str, str]] = {}

    async def check() -> bool:
        seen["failing"] = await _ready_failing(session, url)
        return part in seen["failing"]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"/health/ready never named {part!r} within {timeout:.0f} s: {seen['failing']}")
        await asyncio.sleep(0.25)
    return seen["failing"]


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, pg_server_dsn):
    tmp = tmp_path_factory.mktemp("ops")
    server = urlsplit(pg_server_dsn)
    with temporary_database(pg_server_dsn) as dsn, TcpProxy(server.hostname or "127.0.0.1", server.port or 5432) as proxy, \
            SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        config = live_config(tmp, sim.env, proxy.dsn(dsn), ["BINANCE_SPOT"], ACTIONS, trader_id="OPS-001")
        config = msgspec.structs.replace(
            config, ops=msgspec.structs.replace(config.ops, port=0, journal_grace_secs=1.0, probe_interval_secs=0.25),
            health=msgspec.structs.replace(config.health, stale_after_secs=3.0))
        console = tmp / "console.jsonl"
        results: dict[str, Any] = {"secrets": all_secrets(config), "log_file": log_file_path(tmp / "logs", "OPS-001", "json")}
        root = logging.getLogger()
        saved = list(root.handlers), root.level
        with console.open("w") as stream:
            configure_logging(level="INFO", fmt="json", trader_id="OPS-001", log_directory=str(tmp / "logs"),
                              secrets=results["secrets"], stream=stream)
            try:
                asyncio.run(_scenario(config, dsn, sim, proxy, results))
            finally:
                if "trading_node" in results:
                    results.pop("trading_node").dispose()
                for handler in root.handlers[:]:
                    root.removeHandler(handler)
                    handler.close()
                for handler in saved[0]:
                    root.addHandler(handler)
                root.setLevel(saved[1])
        results["console"] = console.read_text()
        yield results


async def _scenario(config, dsn: str, sim, proxy: TcpProxy, results: dict[str, Any]) -> None:
    database = await Database.connect(proxy.dsn(dsn))
    live = LiveTradingNode(config, database)
    trading_node = live.build()
    try:
        await live.start(timeout_secs=40)
        url = live.ops.url
        results["url"], results["bind"] = url, live.ops.server.host
        strategy = trading_node.trader.strategies()[0]
        await wait_until(lambda: strategy.done and sum(o.is_closed for o in trading_node.cache.orders()) == 2,
                         "the script to finish")
        await live.writer.flush()
        async with aiohttp.ClientSession() as session:
            results["ready_when_well"] = await _ready_failing(session, url)
            results["health"] = json.loads((await _get(session, url + "/health"))[1])
            results["metrics"] = (await _get(session, url + "/metrics"))[1]
            check = await Database.connect(dsn, run_migrations=False)
            try:
                results["fills_in_db"] = await check.pool.fetchval(
                    "SELECT count(*) FROM fills WHERE trader_id = $1", live.trader_id)
            finally:
                await check.close()

            # The sockets drop and the venue's private stream stays silent after the reconnect: an order sent then
            # gets no answer, and the exec client is named.
            control = sim.env["SIM_BINANCE_SPOT_HTTP"].rstrip("/") + "/_sim/"
            async with session.post(control + "faults/user-stream/pause", json={}) as response:
                assert response.status == 200
            async with session.post(control + "faults/ws/drop", json={}) as response:
                assert response.status == 200
            await asyncio.sleep(2)
            instrument = trading_node.cache.instrument(InstrumentId.from_str(SPOT_BTC))
            strategy.submit_order(strategy.order_factory.market(instrument.id, OrderSide.BUY,
                                                                instrument.make_qty(Decimal("0.00100"))))
            try:
                results["failing_after_drop"] = await _eventually_failing(session, url, "exec_client:BINANCE_SPOT", 60)
            except AssertionError as exc:  # reported by its own test; the database phase still runs
                results["failing_after_drop"] = exc
            async with session.post(control + "faults/user-stream/resume", json={}) as response:
                assert response.status == 200

            # PostgreSQL unreachable: the database is named once the journal's grace is over.
            proxy.cut()
            results["failing_without_db"] = await _eventually_failing(session, url, "database", 30)
            results["health_without_db"] = json.loads((await _get(session, url + "/health"))[1])
            proxy.restore()
            await _eventually_failing_cleared(session, url, "database", 60)
            results["answers"] = [(await _get(session, url + path))[1] for path in
                                  ("/health", "/health/ready", "/health/live", "/metrics")]
    finally:
        await live.stop()
        await database.close()
        results["trading_node"] = trading_node  # disposed once the loop is closed


async def _eventually_failing_cleared(session, url: str, part: str, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while part in await _ready_failing(session, url):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"/health/ready still names {part!r} after {timeout:.0f} s")
        await asyncio.sleep(0.25)


def test_ready_is_200_when_all_is_well(outcome):
    assert outcome["ready_when_well"] == {}
    health = outcome["health"]
    assert health["trader_state"] == "RUNNING" and health["database"]["writable"] is True
    assert {(c["client"], c["kind"], c["connected"]) for c in health["clients"]} == {
        ("BINANCE_SPOT", "data", True), ("BINANCE_SPOT", "exec", True)}
    exec_client = next(c for c in health["clients"] if c["kind"] == "exec")
    assert exec_client["private_stream_alive"] is True and exec_client["private_stream_state"] == "active"


def test_the_bind_is_loopback_unless_configured(outcome):
    assert outcome["bind"] == "127.0.0.1" and urlsplit(outcome["url"]).hostname == "127.0.0.1"


def test_metrics_parse_and_the_fill_counter_equals_the_fills_table(outcome):
    samples = _samples(outcome["metrics"])
    assert outcome["fills_in_db"] >= 2
    assert samples[("live_fills_total", ())] == outcome["fills_in_db"]
    assert samples[("live_open_orders", (("venue", "BINANCE"),))] == 1
    assert samples[("live_order_events_total", (("type", "OrderFilled"), ("venue", "BINANCE")))] >= 2
    assert samples[("live_venue_order_round_trip_seconds_count", (("venue", "BINANCE"),))] == 3
    assert samples[("live_oms_event_to_commit_seconds_count", ())] >= 9
    assert samples[("live_client_connected", (("client", "BINANCE_SPOT"), ("kind", "exec"), ("venue", "BINANCE")))] == 1


def test_ready_names_the_client_whose_private_stream_died(outcome):
    failing = outcome["failing_after_drop"]
    if isinstance(failing, AssertionError):
        raise failing
    assert failing["exec_client:BINANCE_SPOT"].startswith("BINANCE private stream not alive: no answer from the venue")


def test_ready_names_the_database_when_postgresql_is_unreachable(outcome):
    failing = outcome["failing_without_db"]
    assert failing["database"].startswith("PostgreSQL not writable: unreachable for")
    assert outcome["health_without_db"]["database"]["writable"] is False


def test_no_secret_in_any_answer_or_log_line(outcome):
    lines = [line for line in outcome["console"].splitlines() if line.strip()]
    lines += outcome["log_file"].read_text().splitlines()
    assert lines, "the node logged nothing"
    for line in lines:
        json.loads(line)
    everything = "\n".join(lines + outcome["answers"])
    for secret in outcome["secrets"]:
        assert secret not in everything
