"""Machine-readable logs: one JSON object per line on the console and in the file, secrets masked, files rotated."""

from __future__ import annotations

import io
import json
import logging

import pytest

from backend.live.ops.logs import configure_logging

SECRET = "sk-live-0123456789abcdef"
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+secret+pem+body\n-----END PRIVATE KEY-----"


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_time_level_component_message_trader_and_fields(tmp_path, restore_root_logger):
    console = io.StringIO()
    path = configure_logging(level="INFO", fmt="json", trader_id="OPS-001", log_directory=str(tmp_path),
                             secrets=[SECRET, PEM], stream=console)
    log = logging.getLogger("backend.live.oms.writer")
    log.warning("OMS batch of %d not written (%s)", 12, f"password={SECRET}", extra={"rows": 12, "key": SECRET})
    try:
        raise RuntimeError(f"venue said no to {PEM}")
    except RuntimeError:
        log.exception("Order event not stored")
    logging.getLogger("backend.live.health").debug("below the level: not written")
    for handler in logging.getLogger().handlers:
        handler.flush()
    file_lines = path.read_text().splitlines()
    console_lines = console.getvalue().splitlines()
    assert path.name == "live-OPS-001.jsonl" and len(file_lines) == 2 and file_lines == console_lines
    first, second = (json.loads(line) for line in file_lines)
    assert first["level"] == "WARNING" and first["component"] == "backend.live.oms.writer"
    assert first["trader_id"] == "OPS-001" and first["time"].endswith("Z")
    assert first["message"] == "OMS batch of 12 not written (password=***)"
    assert first["fields"] == {"rows": 12, "key": "***"}
    assert second["level"] == "ERROR" and "RuntimeError: venue said no to ***" in second["exception"]
    text = path.read_text() + console.getvalue()
    assert SECRET not in text and "secret+pem+body" not in text and "secret\\u002bpem" not in text


def test_text_format_masks_secrets_too(tmp_path, restore_root_logger):
    console = io.StringIO()
    configure_logging(level="INFO", fmt="text", trader_id="OPS-001", log_directory=str(tmp_path),
                      secrets=[SECRET], stream=console)
    logging.getLogger("backend.live.audit").info("using key %s", SECRET)
    assert "using key ***" in console.getvalue() and SECRET not in console.getvalue()
    assert "using key ***" in (tmp_path / "live-OPS-001.log").read_text()


def test_files_rotate_by_size_keeping_a_bounded_count(tmp_path, restore_root_logger):
    configure_logging(level="INFO", fmt="json", trader_id="OPS-001", log_directory=str(tmp_path),
                      max_file_bytes=2_000, backup_count=3, stream=io.StringIO())
    log = logging.getLogger("backend.live.oms.journal")
    for index in range(400):
        log.info("journal line %d", index)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["live-OPS-001.jsonl", "live-OPS-001.jsonl.1", "live-OPS-001.jsonl.2", "live-OPS-001.jsonl.3"]
    assert all(p.stat().st_size <= 2_000 for p in tmp_path.iterdir())
    last = json.loads((tmp_path / "live-OPS-001.jsonl").read_text().splitlines()[-1])
    assert last["message"] == "journal line 399"
