"""``live run`` as an operator runs it: a subprocess on the shipped simulator config (Binance spot + USDT-M futures).

* SIGTERM / SIGINT stop it gracefully: exit 0, the strategy's exit orders sent DURING shutdown (``manage_stop``
  cancels the open orders and closes the positions) are in PostgreSQL with every event, and the tables are printed.
* Start-up failures end the process promptly with exit 1 and one line per failed client naming the venue's cause
  (Binance's own error code and text for a bad key, "could not reach the venue" for a closed port), never a secret.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import LOCAL_SIM_CONFIG, PROJECT_ROOT, fetch, simulator_fills, simulator_orders

pytestmark = pytest.mark.timeout(120)

SPOT_BTC, SPOT_ETH = "BTCUSDT.BINANCE", "ETHUSDT.BINANCE"
PERP_BTC, PERP_ETH = "BTCUSDT-PERP.BINANCE_FUTURES", "ETHUSDT-PERP.BINANCE_FUTURES"
MARKETS = (("binance", "spot"), ("binance", "usdt_futures"))
PROCESS_TIMEOUT_SECS = 60  # a run that has not ended by then hangs
# Start-up failure runs use a 60 s connection timeout: a final failure (wrong key or secret, closed port, unknown
# symbol) must end the run long before it (about 3 s, most of it Python start-up); waiting it out fails the test.
FAILED_START_CONNECTION_SECS = 60
FAILED_START_TIMEOUT_SECS = 20

ACTIONS = [
    {"op": "market", "instrument_id": SPOT_BTC, "side": "BUY", "quantity": "0.01000"},  # three fills (liquidity)
    {"op": "limit", "instrument_id": SPOT_ETH, "side": "BUY", "quantity": "0.1000", "offset_bps": -500},
    {"op": "market", "instrument_id": PERP_BTC, "side": "BUY", "quantity": "0.010"},
    {"op": "limit", "instrument_id": PERP_ETH, "side": "SELL", "quantity": "0.100", "offset_bps": 500},
]


def write_config(tmp_path: Path, *, connection_secs: float = 15, manage_stop: bool = True) -> Path:
    """The shipped simulator config with only the Binance clients, the test's script and a log directory; every
    URL, key and the DSN still come from the environment (``${SIM_*}``, ``${LIVE_DATABASE_URL}``)."""
    raw = json.loads(LOCAL_SIM_CONFIG.read_text())
    node = raw["trading_node"]
    clients = {"BINANCE_SPOT", "BINANCE_FUTURES"}
    node["data_clients"] = {k: v for k, v in node["data_clients"].items() if k in clients}
    node["exec_clients"] = {k: v for k, v in node["exec_clients"].items() if k in clients}
    # post_stop: the time the strategies get to exit (cancel, close) before the clients disconnect
    node["timeouts"].update(connection_secs=connection_secs, post_stop_secs=2.5, disconnection_secs=2)
    strategy = node["strategies"][0]["config"]
    strategy.update(actions=ACTIONS, interval_secs=0.2, manage_stop=manage_stop, market_exit_reduce_only=False)
    raw["trader_id"] = "CLI-001"
    raw["logging"] = {"level": "WARNING", "log_directory": str(tmp_path / "logs"), "file_level": "INFO"}
    path = tmp_path / "live.json"
    path.write_text(json.dumps(raw))
    return path


def live_env(sim: SimulatorThread, dsn: str, **overrides: str) -> dict[str, str]:
    return {**os.environ, **sim.env, "LIVE_DATABASE_URL": dsn, **overrides}


def live_run(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "backend.live.cli", "run", "--config", str(config)],
                            env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    return asyncio.run(fetch(dsn, query, *args))


def wait_for_orders(dsn: str, process: subprocess.Popen[str], expected: Counter) -> None:
    """Until ``unified_orders`` holds ``expected`` (instrument, status) counts; fail with the output if it dies."""
    deadline = time.monotonic() + 30
    got: Counter = Counter()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"live run exited early ({process.returncode}):\n{out}\n{err}")
        if rows(dsn, "SELECT 1 FROM pg_tables WHERE tablename = 'unified_orders'"):
            got = Counter((r["instrument_id"], r["status"])
                          for r in rows(dsn, "SELECT instrument_id, status FROM unified_orders"))
            if got == expected:
                return
        time.sleep(0.2)
    process.kill()
    out, err = process.communicate()
    raise AssertionError(f"orders in PostgreSQL: {dict(got)}, expected {dict(expected)}\n{out}\n{err}")


def expected_events(order: Any, fills: int) -> Counter:
    """The order events NautilusTrader publishes for an order the venue ended in ``order.status`` with ``fills``
    trades. (The market exit cancels through ``cancel_all_orders``, which applies OrderPendingCancel to the order in
    the cache without publishing it, so only the venue's OrderCanceled reaches the bus.)"""
    events = Counter({"OrderInitialized": 1, "OrderSubmitted": 1, "OrderAccepted": 1, "OrderFilled": fills,
                      "OrderCanceled": int(order.status == "CANCELED")})
    return +events


def run_and_signal(tmp_path: Path, pg_server_dsn: str, sig: signal.Signals) -> dict[str, Any]:
    """Trade the script, wait until its orders are in PostgreSQL, send ``sig``; the outcome for the assertions."""
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        sim.call(sim.exchange("binance", "spot").set_liquidity, "BTCUSDT", Decimal("0.004"))
        process = live_run(write_config(tmp_path), live_env(sim, dsn))
        try:
            wait_for_orders(dsn, process, Counter({(SPOT_BTC, "FILLED"): 1, (SPOT_ETH, "ACCEPTED"): 1,
                                                   (PERP_BTC, "FILLED"): 1, (PERP_ETH, "ACCEPTED"): 1}))
            process.send_signal(sig)
            out, err = process.communicate(timeout=PROCESS_TIMEOUT_SECS)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        return {
            "returncode": process.returncode, "stdout": out, "stderr": err,
            "sim_orders": simulator_orders(sim, DEMO_ACCOUNT_ID, MARKETS),
            "sim_fills": simulator_fills(sim, DEMO_ACCOUNT_ID, MARKETS),
            "sim_fills_per_order": Counter(f[2] for f in simulator_fills(sim, DEMO_ACCOUNT_ID, MARKETS)),
            "orders": rows(dsn, "SELECT client_order_id, instrument_id, venue_order_id, side, status, filled_qty "
                                "FROM unified_orders"),
            "events": rows(dsn, "SELECT client_order_id, event_type FROM order_events"),
            "fills": rows(dsn, "SELECT instrument_id, trade_id, venue_order_id, side, quantity, price, commission, "
                               "commission_currency, liquidity_side FROM fills"),
            "positions": rows(dsn, "SELECT canonical_id, net_quantity FROM unified_positions"),
            "balances": rows(dsn, "SELECT a.account_type, b.currency, b.total FROM account_balances b "
                                  "JOIN accounts a USING (trader_id, account_id)"),
        }


@pytest.fixture(scope="module")
def sigterm_run(tmp_path_factory, pg_server_dsn) -> dict[str, Any]:
    return run_and_signal(tmp_path_factory.mktemp("sigterm"), pg_server_dsn, signal.SIGTERM)


def test_sigterm_exits_cleanly_and_prints_what_this_run_did(sigterm_run):
    assert sigterm_run["returncode"] == 0, sigterm_run["stderr"]
    out = sigterm_run["stdout"]
    assert f"{len(sigterm_run['orders'])} orders (2 CANCELED, 4 FILLED), {len(sigterm_run['fills'])} fills" in out, out
    assert "Orders (" not in out  # not the whole history


def test_a_clean_stop_logs_no_warnings(sigterm_run):
    """Stopping is routine: no "message queue canceled" warnings from the engines, no error, in either stream."""
    for stream in ("stdout", "stderr"):
        noisy = [line for line in sigterm_run[stream].splitlines() if "[WARN]" in line or "[ERROR]" in line
                 or " WARNING " in line or " ERROR " in line]
        assert noisy == [], "\n".join(noisy)


def test_orders_sent_during_shutdown_are_stored(sigterm_run):
    """The open limits were canceled and the positions closed while the node stopped: all of it is in the OMS."""
    got = Counter((r["instrument_id"], r["side"], r["status"]) for r in sigterm_run["orders"])
    assert got == Counter({
        (SPOT_BTC, "BUY", "FILLED"): 1, (SPOT_BTC, "SELL", "FILLED"): 1,
        (SPOT_ETH, "BUY", "CANCELED"): 1,
        (PERP_BTC, "BUY", "FILLED"): 1, (PERP_BTC, "SELL", "FILLED"): 1,
        (PERP_ETH, "SELL", "CANCELED"): 1,
    })
    sim_orders = sigterm_run["sim_orders"]
    assert {(r["instrument_id"], r["venue_order_id"]): (r["status"], r["filled_qty"]) for r in sigterm_run["orders"]} \
        == {key: (o.status, o.filled_quantity) for key, o in sim_orders.items()}
    assert {tuple(r.values()) for r in sigterm_run["fills"]} == sigterm_run["sim_fills"]


def test_every_order_event_is_stored(sigterm_run):
    stored: dict[str, Counter] = {}
    for r in sigterm_run["events"]:
        stored.setdefault(r["client_order_id"], Counter())[r["event_type"]] += 1
    by_client_id = {o.client_order_id: o for o in sigterm_run["sim_orders"].values()}
    fills = sigterm_run["sim_fills_per_order"]
    expected = {cid: expected_events(o, fills[str(o.order_id)]) for cid, o in by_client_id.items()}
    assert stored == expected
    assert sum(expected[cid]["OrderFilled"] for cid in expected) == len(sigterm_run["sim_fills"]) == 8


def test_position_and_balances_are_stored(sigterm_run):
    positions = {r["canonical_id"]: r["net_quantity"] for r in sigterm_run["positions"]}
    assert positions["BTC/USDT:USDT"] == 0  # opened by the script, closed by the exit on SIGTERM
    balances = {(r["account_type"], r["currency"]) for r in sigterm_run["balances"]}
    assert {("SPOT", "USDT"), ("SPOT", "BTC"), ("USDT_FUTURES", "USDT")} <= balances


def test_sigint_stops_as_gracefully(tmp_path, pg_server_dsn):
    run = run_and_signal(tmp_path, pg_server_dsn, signal.SIGINT)
    assert run["returncode"] == 0, run["stderr"]
    assert Counter(r["status"] for r in run["orders"]) == Counter({"FILLED": 4, "CANCELED": 2})
    assert f"{len(run['orders'])} orders (2 CANCELED, 4 FILLED)" in run["stdout"]


# -- start-up failures ---------------------------------------------------------------------------------------------

WRONG_SECRET = "wrongsecret" * 6


def closed_port_url(scheme: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"  # nothing listens there any more


def failed_start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.live.cli", "run", "--config",
                           str(write_config(tmp_path, connection_secs=FAILED_START_CONNECTION_SECS))], check=False,
                          env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=FAILED_START_TIMEOUT_SECS)


def test_startup_failures_name_each_client_and_the_venues_cause(tmp_path, pg_server_dsn):
    """Spot with a wrong API secret, futures pointed at a closed port: exit 1 at once (not after the connection
    timeout), one line per failed client with its cause, and the secret nowhere in the output."""
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        http, ws = closed_port_url("http"), closed_port_url("ws")
        env = live_env(sim, dsn, SIM_BINANCE_API_SECRET=WRONG_SECRET, SIM_BINANCE_FUTURES_HTTP=http,
                       SIM_BINANCE_FUTURES_WS=ws, SIM_BINANCE_FUTURES_WS_API=ws, SIM_BINANCE_FUTURES_WS_STREAM=ws)
        result = failed_start(tmp_path, env)
    assert result.returncode == 1, result.stdout + result.stderr
    failure = result.stdout[result.stdout.index("Node failed to start:"):]
    lines = {line.split(":", 1)[0].strip(): line for line in failure.splitlines()[1:] if line.strip()}
    assert "Signature for this request is not valid" in lines["exec client BINANCE_SPOT did not connect"]
    assert "-1022" in lines["exec client BINANCE_SPOT did not connect"]
    for kind in ("data", "exec"):
        line = lines[f"{kind} client BINANCE_FUTURES did not connect (could not reach the venue)"]
        assert "Connection refused" in line and http.removeprefix("http://") in line
    assert set(lines) == {"exec client BINANCE_SPOT did not connect",
                          "data client BINANCE_FUTURES did not connect (could not reach the venue)",
                          "exec client BINANCE_FUTURES did not connect (could not reach the venue)"}
    assert WRONG_SECRET not in result.stdout + result.stderr
    assert "signature=" not in failure


def test_unknown_api_key_is_named(tmp_path, pg_server_dsn):
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        result = failed_start(tmp_path, live_env(sim, dsn, SIM_BINANCE_API_KEY="unknownkey" * 6))
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("exec client BINANCE_SPOT did not connect: BinanceClientError({'code': -2015, "
            "'msg': 'Invalid API-key, IP, or permissions for action.'})") in result.stdout


def test_wrong_secret_ends_the_run_without_waiting_for_the_connection_timeout(tmp_path, pg_server_dsn):
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        started = time.monotonic()
        result = failed_start(tmp_path, live_env(sim, dsn, SIM_BINANCE_API_SECRET=WRONG_SECRET))
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert "exec client BINANCE_SPOT did not connect: BinanceClientError({'code': -1022" in result.stdout
    assert elapsed < FAILED_START_CONNECTION_SECS / 3, f"took {elapsed:.1f} s: waited for the connection timeout"


def test_unknown_symbol_ends_the_run_naming_the_client(tmp_path, pg_server_dsn):
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        config = write_config(tmp_path, connection_secs=FAILED_START_CONNECTION_SECS)
        raw = json.loads(config.read_text())
        raw["trading_node"]["data_clients"]["BINANCE_SPOT"]["instrument_ids"].append("NOSUCHUSDT.BINANCE")
        config.write_text(json.dumps(raw))
        result = subprocess.run([sys.executable, "-m", "backend.live.cli", "run", "--config", str(config)],
                                env=live_env(sim, dsn), cwd=PROJECT_ROOT, capture_output=True, text=True,
                                timeout=FAILED_START_TIMEOUT_SECS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "data client BINANCE_SPOT did not connect: BinanceClientError({'code': -1121" in result.stdout
    assert "check-config --online" in result.stdout


def test_a_signal_during_start_up_stops_at_once(tmp_path, pg_server_dsn):
    """The futures REST URL accepts connections but never answers, the connection timeout is two minutes: SIGTERM
    while the node waits for it ends the run now, as a requested stop (exit 0), not as a start-up failure."""
    with socket.socket() as silent, temporary_database(pg_server_dsn) as dsn, \
            SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(PROCESS_TIMEOUT_SECS)
        env = live_env(sim, dsn, SIM_BINANCE_FUTURES_HTTP=f"http://127.0.0.1:{silent.getsockname()[1]}")
        process = live_run(write_config(tmp_path, connection_secs=120), env)
        try:
            connection, _ = silent.accept()  # a futures client is connecting: the node is starting
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=FAILED_START_TIMEOUT_SECS)
            connection.close()
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, out + err
    assert "Stop requested during start-up" in err
    assert "Node failed to start" not in out
    assert "0 orders, 0 fills" in out and "Orders (" not in out  # this run's summary, not the database's history


def test_the_summary_counts_this_run_only(tmp_path, pg_server_dsn):
    """Two runs on one database: the second one's summary counts its own orders, not the first one's too."""
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        config = write_config(tmp_path)
        outputs = []
        for _ in range(2):
            result = subprocess.run([sys.executable, "-m", "backend.live.cli", "run", "--config", str(config),
                                     "--duration", "4"], env=live_env(sim, dsn), cwd=PROJECT_ROOT,
                                    capture_output=True, text=True, timeout=PROCESS_TIMEOUT_SECS)
            assert result.returncode == 0, result.stdout + result.stderr
            outputs.append(result.stdout)
        stored = rows(dsn, "SELECT count(*) AS n FROM unified_orders")[0]["n"]
    per_run = stored // 2
    assert per_run >= 4 and stored == 2 * per_run
    assert "This run (trader CLI-001" in outputs[1] and f" {per_run} orders (" in outputs[1]
    assert f" {stored} orders" not in outputs[1]


# -- against a separately started simulator --------------------------------------------------------------------------


def test_live_run_against_a_running_venuesim_with_its_env_file_sourced(tmp_path, pg_server_dsn):
    """The README's way: ``venuesim --env-file F`` in one terminal, ``set -a; . F; set +a; live run ...`` in
    another. The shell reads every value as written (the Ed25519 key included) and the node trades on both
    Binance accounts."""
    env_file = tmp_path / "sim.env"
    simulator = subprocess.Popen([sys.executable, "-m", "backend.simulator.cli", "--venues", "binance",
                                  "--env-file", str(env_file)], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists() and time.monotonic() < deadline and simulator.poll() is None:
            time.sleep(0.1)
        assert env_file.exists(), "venuesim wrote no env file"
        with temporary_database(pg_server_dsn) as dsn:
            config = write_config(tmp_path)
            shell = (f'set -a; . "{env_file}"; set +a; exec "{sys.executable}" -m backend.live.cli run '
                     f'--config "{config}" --duration 6')
            result = subprocess.run(["bash", "-c", shell], env={**os.environ, "LIVE_DATABASE_URL": dsn},
                                    cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_SECS)
            orders = rows(dsn, "SELECT instrument_id, status FROM unified_orders")
            sourced = subprocess.run(["bash", "-c", f'set -a; . "{env_file}"; env -0'], capture_output=True,
                                     text=True, check=True, env={}).stdout
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {(r["instrument_id"], r["status"]) for r in orders} >= {(SPOT_BTC, "FILLED"), (PERP_BTC, "FILLED")}
    from backend.live.demo import read_env_file

    as_sourced = dict(item.split("=", 1) for item in sourced.split("\0") if item.startswith("SIM_"))
    assert as_sourced == read_env_file(env_file)  # the shell and dotenv readers agree on every value
