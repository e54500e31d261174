"""``check-config --online``: every instrument id of the shipped simulator config looked up at the (simulated) venue,
the ones the venue does not list named with their path and symbol."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from backend.live.config.loader import load_config
from backend.live.config.online import check_instruments
from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread

LOCAL_SIM_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "local-sim.json"
DATA = "trading_node.data_clients"


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(SimConfig.default()) as simulator:
        yield simulator


def config_with(tmp_path: Path, sim: SimulatorThread, extra_ids: dict[str, list[str]]):
    raw = json.loads(LOCAL_SIM_CONFIG.read_text())
    for name, ids in extra_ids.items():
        raw["trading_node"]["data_clients"][name]["instrument_ids"] += ids
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    return load_config(path, env={**sim.env, "LIVE_DATABASE_URL": ""})


def test_every_shipped_instrument_id_is_listed_by_the_venue(tmp_path, sim):
    assert asyncio.run(check_instruments(config_with(tmp_path, sim, {}))) == []


def test_unknown_instruments_are_named_by_path_and_symbol(tmp_path, sim):
    config = config_with(tmp_path, sim, {"BINANCE_FUTURES": ["DOGEUSDT-PERP.BINANCE_FUTURES"],
                                         "BYBIT": ["XRPUSDT-LINEAR.BYBIT"], "OKX": ["BTC-EUR.OKX"]})
    problems = asyncio.run(check_instruments(config))
    by_path = {p.path: p.message for p in problems}
    assert set(by_path) == {f"{DATA}.BINANCE_FUTURES.instrument_ids[2]", f"{DATA}.BYBIT.instrument_ids[4]",
                            f"{DATA}.OKX.instrument_ids[4]"}
    assert "does not list DOGEUSDT (USDT_FUTURES)" in by_path[f"{DATA}.BINANCE_FUTURES.instrument_ids[2]"]
    assert "does not list XRPUSDT (LINEAR)" in by_path[f"{DATA}.BYBIT.instrument_ids[4]"]
    assert "does not list BTC-EUR (SPOT)" in by_path[f"{DATA}.OKX.instrument_ids[4]"]


def test_an_unreachable_venue_is_named_not_taken_for_missing_symbols(tmp_path, sim):
    config = config_with(tmp_path, sim, {})
    raw = json.loads((tmp_path / "config.json").read_text())
    raw["trading_node"]["data_clients"]["BINANCE_SPOT"]["endpoints"]["http"] = "http://127.0.0.1:1"
    (tmp_path / "config.json").write_text(json.dumps(raw))
    config = load_config(tmp_path / "config.json", env={**sim.env, "LIVE_DATABASE_URL": ""})
    (problem,) = asyncio.run(check_instruments(config, timeout_secs=5))
    assert problem.path == f"{DATA}.BINANCE_SPOT.endpoints.http"
    assert "cannot fetch the BINANCE SPOT instrument list from http://127.0.0.1:1" in problem.message


def test_check_config_online_exits_2_naming_the_symbol(tmp_path, sim, monkeypatch, capsys):
    from backend.live.cli import EXIT_OK, EXIT_USAGE, main

    config_with(tmp_path, sim, {"BINANCE_SPOT": ["NOSUCHUSDT.BINANCE"]})
    for name, value in sim.env.items():
        monkeypatch.setenv(name, value)
    assert main(["check-config", str(tmp_path / "config.json")]) == EXIT_OK  # offline: the id looks fine
    capsys.readouterr()
    assert main(["check-config", "--online", str(tmp_path / "config.json")]) == EXIT_USAGE
    out = capsys.readouterr().out.replace("\n", "")
    assert f"{DATA}.BINANCE_SPOT.instrument_ids[2]" in out and "does not list NOSUCHUSDT" in out
