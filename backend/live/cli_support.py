"""What every ``live`` subcommand shares: exit codes, usage errors, loading the config, opening the database, the
trader to show, and ``add_command`` to declare a subcommand. A module that adds subcommands imports this (never
``cli.py``) and offers ``register(subparsers)``; ``cli.COMMAND_GROUPS`` lists the registrars.

Exit codes: 0 ok, 1 runtime failure (database unreachable, node failed to start, ...), 2 bad config or usage.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from backend.live import sql
from backend.live.config.loader import ConfigError, load_config
from backend.live.config.schema import LiveConfig
from backend.live.database import Database

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2

# A subcommand: sync or async, returns the exit code; ``main`` runs an async one with ``asyncio.run``.
Handler = Callable[[argparse.Namespace, Console], int | Awaitable[int]]


class UsageError(Exception):
    """Bad arguments or config: exit 2."""


def add_command(subparsers: Any, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
    """Declare subcommand ``name`` run by ``handler``; returns its parser for the arguments."""
    parser = subparsers.add_parser(name, help=help)
    parser.set_defaults(handler=handler)
    return parser


def load(path: str) -> LiveConfig:
    try:
        return load_config(Path(path))
    except ConfigError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such config file") from None


async def open_database(config: LiveConfig | None) -> Database:
    """The config's database (its DSN or embedded server), else ``LIVE_DATABASE_URL`` or the default embedded one."""
    db = config.database if config is not None else None
    return await Database.connect(
        db.dsn.get() if db is not None and db.dsn is not None else None,
        data_dir=Path(db.data_dir) if db is not None and db.data_dir else None,
        min_size=db.pool_min_size if db is not None else 1,
        max_size=db.pool_max_size if db is not None else 4,
        timeout=db.connect_timeout_secs if db is not None else 10,
    )


async def trader_id_for(pool: Any, config: LiveConfig | None, explicit: str | None) -> str:
    """``--trader-id``, else the config's, else the database's only trader."""
    if explicit:
        return explicit
    if config is not None:
        return config.trader_id
    traders = [r["trader_id"] for r in await pool.fetch(sql.SELECT_TRADERS)]
    if len(traders) == 1:
        return traders[0]
    if not traders:
        raise UsageError("the database has no trader yet; pass --trader-id or --config")
    raise UsageError(f"the database holds several traders ({', '.join(traders)}); pass --trader-id")
