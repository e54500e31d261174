"""``live run`` as an operator starts it: the endpoints' URL printed at start and answering, ``logging.format: json``
giving one JSON object per line on the console and in the rotating file, and no configured secret anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.test_live_cli import PROCESS_TIMEOUT_SECS, PROJECT_ROOT, live_env, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SECRET_VARIABLES = ("SIM_BINANCE_API_KEY", "SIM_BINANCE_API_SECRET", "SIM_BINANCE_ED25519_API_KEY",
                    "SIM_BINANCE_ED25519_PRIVATE_KEY")


def _ready(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/health/ready", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def json_run(tmp_path_factory, pg_server_dsn):
    tmp = tmp_path_factory.mktemp("ops-cli")
    config = write_config(tmp)
    raw = json.loads(config.read_text())
    raw["logging"].update(level="INFO", format="json", max_file_mb=1, backup_count=2)
    config.write_text(json.dumps(raw))
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        env = live_env(sim, dsn)
        process = subprocess.Popen([sys.executable, "-m", "backend.live.cli", "run", "--config", str(config),
                                    "--duration", "6"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            first_line = process.stdout.readline()
            url = first_line.split("Node endpoints: ", 1)[1].split("/health/ready")[0] if "Node endpoints: " in \
                first_line else None
            readiness = []
            deadline = time.monotonic() + 60
            while url and time.monotonic() < deadline:
                readiness.append(_ready(url))
                if readiness[-1][0] == 200:
                    break
                time.sleep(0.2)
            stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT_SECS)
        finally:
            if process.poll() is None:
                process.kill()
        yield {"returncode": process.returncode, "first_line": first_line, "url": url, "readiness": readiness,
               "stdout": first_line + stdout, "stderr": stderr, "logs": tmp / "logs",
               "secrets": [env[name] for name in SECRET_VARIABLES] + [dsn]}


def test_the_endpoints_url_is_printed_at_start_and_the_node_becomes_ready(json_run):
    assert json_run["returncode"] == 0, json_run["stdout"] + json_run["stderr"]
    assert json_run["url"] and json_run["url"].startswith("http://127.0.0.1:"), json_run["first_line"]
    assert json_run["readiness"][-1] == (200, {"ready": True, "trader_id": "CLI-001", "failing": {}})
    assert all(status in (200, 503) for status, _ in json_run["readiness"])


def test_console_and_file_lines_are_json_objects(json_run):
    console = [json.loads(line) for line in json_run["stderr"].splitlines() if line.strip()]
    assert any(line["component"] == "backend.live.trading_node" and "RUNNING" in line["message"] for line in console)
    assert all(set(line) >= {"time", "level", "component", "message", "trader_id", "fields"} for line in console)
    assert {line["trader_id"] for line in console} == {"CLI-001"}
    log_file = json_run["logs"] / "live-CLI-001.jsonl"
    in_file = [json.loads(line) for line in log_file.read_text().splitlines()]
    components = {line["component"] for line in in_file}
    assert {"backend.live.trading_node", "backend.live.ops.http"} <= components
    assert any(c.startswith("backend.live.oms") or c.startswith("backend.live.node") for c in components)


def test_no_secret_in_any_output_or_log_file(json_run):
    files: list[Path] = [p for p in json_run["logs"].rglob("*") if p.is_file()]
    assert len(files) >= 2  # ours and NautilusTrader's
    everything = json_run["stdout"] + json_run["stderr"] + "".join(p.read_text(errors="replace") for p in files)
    for secret in json_run["secrets"]:
        for piece in [secret, *(line for line in secret.splitlines() if len(line) >= 16)]:
            assert piece not in everything
