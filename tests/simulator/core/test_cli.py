"""venuesim CLI: bad config exit status, env file written when listening, keys printed without secrets."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from backend.simulator.cli import main
from backend.simulator.config import dump_sim_config
from backend.simulator.venues.binance.defaults import DEMO_BINANCE_HMAC_KEY, DEMO_BINANCE_HMAC_SECRET
from tests.simulator.core.fake_venue import fake_config

ROOT = Path(__file__).resolve().parents[3]


def test_bad_config_exits_2_with_the_field(tmp_path, capsys) -> None:
    path = tmp_path / "sim.json"
    path.write_text('{"venues": {}, "tick_interval_ms": -5}')
    assert main(["--config", str(path)]) == 2
    assert "venuesim: bad config: " in capsys.readouterr().err
    assert main(["--venues", "kraken"]) == 2
    assert "venues: unknown venue(s) kraken" in capsys.readouterr().err
    path.write_bytes(dump_sim_config(fake_config()))  # a venue without a simulator package
    assert main(["--config", str(path)]) == 2
    assert "venues.fakevenue: venue 'fakevenue': no simulator package" in capsys.readouterr().err


def test_serves_until_sigterm_and_writes_env_file(tmp_path) -> None:
    pytest.importorskip("backend.simulator.venues.binance")
    env_file = tmp_path / "sim.env"
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.simulator", "--venues", "binance", "--env-file", str(env_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert env_file.exists(), process.stderr.read() if process.poll() is not None else "no env file"
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        with urllib.request.urlopen(env["SIM_BINANCE_SPOT_HTTP"] + "/_sim/state") as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert env["SIM_BINANCE_SPOT_HTTP"] in stdout
    assert DEMO_BINANCE_HMAC_KEY in stdout
    assert DEMO_BINANCE_HMAC_SECRET not in stdout + stderr
