"""``live db status`` and ``live db stop``: the embedded PostgreSQL the ``live`` commands start and reuse.

Which database a command uses: the config's ``database.dsn``, else ``LIVE_DATABASE_URL``, else the embedded server
under the config's ``database.data_dir`` or the default data directory (``backend/live/database.py``). The embedded
server outlives the commands that start it; ``live db stop`` stops it, ``--delete-data`` also deletes its tables
(``make clean-db``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from backend.live.cli_support import EXIT_OK, add_command, load
from backend.live.config.schema import LiveConfig
from backend.live.database import DSN_ENV_VAR, embedded_status, redact_dsn, stop_embedded_server


def _data_dir(config: LiveConfig | None) -> Path | None:
    return Path(config.database.data_dir) if config is not None and config.database.data_dir else None


def _external_dsn(config: LiveConfig | None) -> tuple[str, str] | None:
    """(where it is set, redacted DSN) when the commands use a server other than the embedded one."""
    if config is not None and config.database.dsn is not None:
        return "the config's database.dsn", redact_dsn(config.database.dsn.get())
    from_env = os.environ.get(DSN_ENV_VAR, "").strip()
    return (DSN_ENV_VAR, redact_dsn(from_env)) if from_env else None


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    config = load(args.config) if args.config else None
    status = embedded_status(_data_dir(config))
    external = _external_dsn(config)
    if external is not None:
        console.print(f"The live commands use {external[1]} ({external[0]}), not the embedded server.",
                      highlight=False)
    state = (f"running (pid {status.pid}), DSN {status.dsn}" if status.running
             else "stopped" if status.initialized else "not created yet (the first live command creates it)")
    console.print(f"Embedded PostgreSQL: {state}\nData directory: {status.data_dir}", highlight=False)
    return EXIT_OK


def cmd_stop(args: argparse.Namespace, console: Console) -> int:
    config = load(args.config) if args.config else None
    data_dir = _data_dir(config)
    was_running = stop_embedded_server(data_dir, delete_data=args.delete_data)
    status = embedded_status(data_dir)
    console.print(f"Embedded PostgreSQL in {status.data_dir}: "
                  + ("stopped" if was_running else "was not running")
                  + ("; data directory deleted" if args.delete_data else ""), highlight=False)
    return EXIT_OK


def add_embedded_commands(db_sub: Any) -> None:
    """``status`` and ``stop`` under ``live db``."""
    status = add_command(db_sub, "status", cmd_status, "where the embedded PostgreSQL keeps its data, is it running")
    status.add_argument("--config", help="use this config's database section")
    stop = add_command(db_sub, "stop", cmd_stop, "stop the embedded PostgreSQL (the next live command restarts it)")
    stop.add_argument("--config", help="use this config's database section")
    stop.add_argument("--delete-data", action="store_true", help="also delete its data directory: every table")
