"""The live layer's own log lines (``backend.live.*``, the OMS writer, journal, audit, health): console and files.

``format="json"`` writes one JSON object per line::

    {"time": "2026-12-01T21:40:00.123456Z", "level": "WARNING", "component": "backend.live.oms.writer",
     "message": "OMS batch of 12 not written (...); retrying in 0.10s", "trader_id": "SIM-001", "fields": {...}}

``fields`` holds whatever a call passed as ``extra={...}``; ``exception`` the traceback of a logged exception.
With a ``log_directory`` the same lines also go to ``live-<trader_id>.log`` (``.jsonl`` for JSON) there, rotated by
size with a bounded number of old files kept. Every configured secret is replaced by ``***`` before a line is
formatted, in the message, the fields and the traceback alike.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_OURS = "_live_ops_handler"


class SecretMasker:
    """Replaces each configured secret (longest first, so a secret inside another is still hidden) by ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        pieces = set()
        for secret in secrets:
            pieces.add(secret)
            pieces.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 16)  # a PEM's body
        self._secrets = sorted((s for s in pieces if s and len(s) >= 4), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self(str(value))


class JsonFormatter(logging.Formatter):
    def __init__(self, trader_id: str | None, masker: SecretMasker) -> None:
        super().__init__()
        self._trader_id = trader_id
        self._mask = masker

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "component": record.name,
            "message": self._mask(record.getMessage()),
            "trader_id": getattr(record, "trader_id", None) or self._trader_id,
            "fields": {k: self._mask.value(v) for k, v in record.__dict__.items()
                       if k not in _STANDARD_ATTRS and k != "trader_id" and not k.startswith("_")},
        }
        if record.exc_info:
            line["exception"] = self._mask(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = self._mask(record.exc_text)
        return msgspec.json.encode(line).decode()


class MaskedTextFormatter(logging.Formatter):
    def __init__(self, masker: SecretMasker) -> None:
        super().__init__(TEXT_FORMAT)
        self._mask = masker

    def format(self, record: logging.LogRecord) -> str:
        return self._mask(super().format(record))


def log_file_path(log_directory: str | Path, trader_id: str, fmt: str) -> Path:
    return Path(log_directory) / f"live-{trader_id}.{'jsonl' if fmt == 'json' else 'log'}"


def configure_logging(*, level: str = "INFO", fmt: str = "text", trader_id: str | None = None,
                      log_directory: str | None = None, file_level: str | None = None,
                      max_file_bytes: int = 50_000_000, backup_count: int = 10,
                      secrets: Iterable[str] = (), stream: Any = None) -> Path | None:
    """Set the root logger's console handler (and file handler when ``log_directory`` is set); returns the file.

    Replaces the handlers an earlier call installed (and ``logging.basicConfig``'s), so it can be called again once
    the config is known. Levels are the config's names (``WARNING``...; ``OFF`` silences the console)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False) or type(handler) is logging.StreamHandler:  # ours, or basicConfig's
            root.removeHandler(handler)
            if getattr(handler, _OURS, False):
                handler.close()
    masker = SecretMasker(secrets)

    def formatter() -> logging.Formatter:
        return JsonFormatter(trader_id, masker) if fmt == "json" else MaskedTextFormatter(masker)

    console_level = _level(level)
    console = logging.StreamHandler(stream or sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(formatter())
    setattr(console, _OURS, True)
    root.addHandler(console)
    levels = [console_level]
    path = None
    if log_directory:
        path = log_file_path(log_directory, trader_id or "live", fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(path, maxBytes=max_file_bytes, backupCount=backup_count,
                                                        encoding="utf-8")
        rotating.setLevel(_level(file_level or level))
        rotating.setFormatter(formatter())
        setattr(rotating, _OURS, True)
        root.addHandler(rotating)
        levels.append(rotating.level)
    root.setLevel(min(levels))
    return path


def _level(name: str) -> int:
    if name == "OFF":
        return logging.CRITICAL + 10
    if name == "TRACE":
        return logging.DEBUG
    return logging.getLevelName(name)


class EarlyLogs(logging.Handler):
    """Holds what is logged before the config says how to log (loading the config logs too), for ``replay`` into the
    handlers ``configure_logging`` installs, so those lines come out in the configured format as well. Leaving the
    block on an error puts the previous console handlers back and hands them the held lines instead."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self._removed: list[logging.Handler] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> EarlyLogs:
        root = logging.getLogger()
        self._removed = [h for h in root.handlers if type(h) is logging.StreamHandler]  # basicConfig's
        for handler in self._removed:
            root.removeHandler(handler)
        root.addHandler(self)
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        if exc_type is not None:
            for handler in self._removed:
                root.addHandler(handler)
            self.replay()

    def replay(self) -> None:
        records, self.records = self.records, []
        for record in records:
            for handler in logging.getLogger().handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
