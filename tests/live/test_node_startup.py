"""Start-up diagnostics alone: waiting for RUNNING against a stand-in kernel, and the one-line causes read from a
NautilusTrader log file (secrets masked, signatures dropped)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nautilus_trader.model.identifiers import ClientId, Venue

from backend.live.config.loader import validate_config
from backend.live.node.health import ClientState
from backend.live.node.startup import StartupProbe, describe_failure, parse_log_errors, wait_until_running

TIMEOUTS = SimpleNamespace(connection_secs=0.3, reconciliation_secs=0.2, portfolio_secs=0.2)
SECRET = "s3cr3t-value"


@dataclass
class Engine:
    connected: bool = True

    def check_connected(self) -> bool:
        return self.connected


@dataclass
class Kernel:
    trader: Any = field(default_factory=lambda: SimpleNamespace(is_running=False))
    data_engine: Engine = field(default_factory=Engine)
    exec_engine: Engine = field(default_factory=Engine)


async def _idle() -> None:
    await asyncio.sleep(30)


async def test_returns_none_once_the_trader_runs() -> None:
    kernel = Kernel()
    run_task = asyncio.create_task(_idle())
    asyncio.get_running_loop().call_later(0.15, setattr, kernel.trader, "is_running", True)
    assert await wait_until_running(kernel, run_task, [], TIMEOUTS, timeout_secs=5) is None
    run_task.cancel()



async def test_clients_not_connected_by_the_connection_timeout_end_the_wait(monkeypatch) -> None:
    monkeypatch.setattr("backend.live.node.startup.GRACE_SECS", 0.0)
    kernel = Kernel(exec_engine=Engine(connected=False))
    run_task = asyncio.create_task(_idle())
    started = asyncio.get_running_loop().time()
    assert await wait_until_running(kernel, run_task, [], TIMEOUTS) == ""
    assert 0.3 <= asyncio.get_running_loop().time() - started < 2
    run_task.cancel()


async def test_a_node_task_that_ended_ends_the_wait_at_once() -> None:
    run_task = asyncio.create_task(asyncio.sleep(0))
    await run_task
    assert await wait_until_running(Kernel(), run_task, [], TIMEOUTS) == ""


async def test_a_check_that_names_a_cause_ends_the_wait_with_it() -> None:
    run_task = asyncio.create_task(_idle())
    probes: list[StartupProbe] = []

    def check(probe: StartupProbe) -> str | None:
        probes.append(probe)
        return "exec client X: invalid API key" if len(probes) == 2 else None

    assert await wait_until_running(Kernel(), run_task, [], TIMEOUTS, checks=[check]) == "exec client X: invalid API key"
    assert probes[1].elapsed_secs > probes[0].elapsed_secs
    run_task.cancel()


LOG = f"""\
2026-01-01T00:00:00.000000000Z [INFO] T-001.DataClient-BINANCE: Connecting
2026-01-01T00:00:01.000000000Z [ERROR] T-001.ExecClient-BINANCE: Error connecting
Traceback (most recent call last):
  File "x.py", line 1
HttpError('GET http://127.0.0.1:1/api/v3/account?timestamp=1&signature=abcdef key={SECRET}: Connection refused')
2026-01-01T00:00:02.000000000Z [ERROR] T-001.DataClient-OKX: OKXError(code=50111, msg='Invalid OK-ACCESS-KEY')
2026-01-01T00:00:03.000000000Z [WARN] T-001.Trader: not an error
"""


def test_log_errors_keep_the_last_line_of_each_error_record_masked() -> None:
    assert parse_log_errors(LOG.splitlines(), [SECRET]) == [
        ("ExecClient-BINANCE",
         "HttpError('GET http://127.0.0.1:1/api/v3/account key=***: Connection refused')"),
        ("DataClient-OKX", "OKXError(code=50111, msg='Invalid OK-ACCESS-KEY')"),
    ]


def _client(name: str, kind: str, connected: bool) -> ClientState:
    return ClientState(name=name, kind=kind, client=SimpleNamespace(id=ClientId(name), venue=Venue(name),
                                                                    is_connected=connected))


async def test_describe_failure_names_each_client_that_did_not_connect_with_its_logged_cause(tmp_path: Path) -> None:
    (tmp_path / "T-001_abc-123.log").write_text(LOG)
    config = validate_config({
        "trader_id": "T-001", "logging": {"log_directory": str(tmp_path)},
        "trading_node": {"exec_clients": {"BINANCE": {"venue": "BINANCE", "products": ["SPOT"], "api_key": "apikey-123",
                                                      "api_secret": SECRET}}},
    })
    clients = [_client("BINANCE", "exec", False), _client("OKX", "data", False), _client("BYBIT", "data", True),
               _client("BINANCE_FUTURES", "exec", False)]
    text = await describe_failure(config, "abc-123", clients, None)
    assert text.splitlines() == [
        "exec client BINANCE did not connect (could not reach the venue): "
        "HttpError('GET http://127.0.0.1:1/api/v3/account key=***: Connection refused')",
        "data client OKX did not connect: OKXError(code=50111, msg='Invalid OK-ACCESS-KEY')",
        "exec client BINANCE_FUTURES did not connect: no error logged within timeouts.connection_secs (30 s)",
    ]
    assert SECRET not in text


async def test_without_a_log_file_the_cause_says_why_it_is_unknown() -> None:
    config = validate_config({"trader_id": "T-001"})
    text = await describe_failure(config, "abc-123", [_client("OKX", "exec", False)], None)
    assert "set logging.log_directory" in text
