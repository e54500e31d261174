"""The ``live`` command's exit codes and messages (no node: config checks and table reads)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backend.live.cli import EXIT_OK, EXIT_USAGE, main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _sim_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every variable configs/local-sim.json refers to, with dummy values."""
    text = (PROJECT_ROOT / "configs" / "local-sim.json").read_text()
    import re

    for name in set(re.findall(r"\$\{([A-Z0-9_]+)(?::-[^}]*)?\}", text)):
        value = "postgresql://postgres@127.0.0.1:1/x" if name.endswith("DATABASE_URL") else \
            "ws://127.0.0.1:1/ws" if "_WS" in name else "http://127.0.0.1:1" if name.endswith("_HTTP") else "x"
        monkeypatch.setenv(name, value)


def test_check_config_accepts_the_shipped_simulator_config(monkeypatch, capsys):
    _sim_env(monkeypatch)
    assert main(["check-config", str(PROJECT_ROOT / "configs" / "local-sim.json")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "OK" in out and "exec clients" in out


def test_check_config_on_a_broken_config_exits_2_naming_the_field(tmp_path, monkeypatch, capsys):
    _sim_env(monkeypatch)
    config = json.loads((PROJECT_ROOT / "configs" / "local-sim.json").read_text())
    name = next(iter(config["trading_node"]["exec_clients"]))
    config["trading_node"]["exec_clients"][name]["venue"] = "KRAKEN"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(config))
    assert main(["check-config", str(broken)]) == EXIT_USAGE
    out = capsys.readouterr().out
    assert f"trading_node.exec_clients.{name}.venue" in out.replace("\n", "")


def test_check_config_never_prints_a_secret(tmp_path, monkeypatch, capsys):
    _sim_env(monkeypatch)
    monkeypatch.setenv("SIM_BINANCE_API_SECRET", "sEcReT-must-not-leak")
    config = json.loads((PROJECT_ROOT / "configs" / "local-sim.json").read_text())
    config["trading_node"]["bogus_key"] = 1
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(config))
    assert main(["check-config", str(broken)]) == EXIT_USAGE
    out = capsys.readouterr().out
    assert "bogus_key" in out and "sEcReT" not in out


def test_missing_config_file_exits_2(capsys):
    assert main(["check-config", "/nonexistent/live.json"]) == EXIT_USAGE
    assert "no such config file" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == EXIT_USAGE


def _leaf_parsers(parser, path=()):
    """``(command path, parser)`` of every subcommand that takes no further subcommand."""
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    if not actions:
        yield path, parser
        return
    for name, sub in actions[0].choices.items():
        yield from _leaf_parsers(sub, (*path, name))


def test_every_subcommand_is_declared_with_its_handler() -> None:
    from backend.live.cli import parser

    leaves = dict(_leaf_parsers(parser()))
    assert {("run",), ("check-config",), ("demo",), ("db", "migrate"), ("orders",), ("fills",), ("positions",),
            ("balances",)} <= set(leaves)
    for path, sub in leaves.items():
        assert callable(sub.get_default("handler")), f"live {' '.join(path)} has no handler"


def test_the_demo_config_ships_with_the_package(monkeypatch) -> None:
    from backend.live.demo import DEMO_CONFIG, demo_config

    _sim_env(monkeypatch)
    assert DEMO_CONFIG.is_file()
    config = demo_config(dict(os.environ), Path("/tmp/demo-work"))
    assert config.trading_node.exec_clients and config.oms.journal_directory == "/tmp/demo-work/journal"
