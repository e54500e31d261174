"""The ``live`` command: run a node, check a config, migrate, and read the unified tables.

Each subcommand is declared by ``add_command`` in one of the registrars of ``COMMAND_GROUPS`` (its arguments next
to it) and run by its handler; adding one is a local change: a handler plus an ``add_command`` line, or a
``register(subparsers)`` of another module (built on ``cli_support``) added to ``COMMAND_GROUPS``.
Exit codes: see ``cli_support``.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

from backend.live import report
from backend.live.cli_filters import add_listing_filters
from backend.live.cli_support import (
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    UsageError,
    add_command,
    load,
    open_database,
    trader_id_for,
)
from backend.live.config.online import check_instruments
from backend.live.config.trading_node_config import build_trading_node_config
from backend.live.database import DatabaseError
from backend.live.db_commands import add_embedded_commands
from backend.live.demo import run_demo
from backend.live.firm_positions import print_firm_positions
from backend.live.maintain_command import register as add_maintain_command
from backend.live.node_commands import register as add_nodes_command
from backend.live.oms.writer import TRANSIENT_DB_ERRORS
from backend.live.ops.logs import EarlyLogs
from backend.live.ops.node_ops import configure_node_logging
from backend.live.reconcile.commands import print_drift
from backend.live.reconcile.commands import register as add_reconcile_commands
from backend.live.serve.command import register as add_serve_commands
from backend.live.trading_node import LiveTradingNode
from backend.live.venues import NodeConfigError

log = logging.getLogger("live")

NOT_A_TERMINAL_WIDTH = 400  # piped or redirected output: wide enough that no id or figure is folded


# -- node commands -----------------------------------------------------------------------------------------------


async def cmd_check_config(args: argparse.Namespace, console: Console) -> int:
    config = load(args.config)
    try:
        node_config = build_trading_node_config(config)
    except NodeConfigError as exc:
        raise UsageError(f"{args.config}: {exc}") from None
    if args.online and (problems := await check_instruments(config)):
        raise UsageError(f"{args.config}: {len(problems)} instrument problem(s) at the venues:\n"
                         + "\n".join(f"  {p}" for p in problems))
    console.print(f"[green]OK[/green] {args.config}: trader {config.trader_id}, "
                  f"data clients {sorted(node_config.data_clients)}, exec clients {sorted(node_config.exec_clients)}")
    return EXIT_OK


async def cmd_run(args: argparse.Namespace, console: Console) -> int:
    with EarlyLogs() as early:  # loading logs too: those lines follow logging.format like the rest
        config = load(args.config)
        try:
            build_trading_node_config(config)
        except NodeConfigError as exc:
            raise UsageError(f"{args.config}: {exc}") from None
    configure_node_logging(config, verbose=args.verbose)
    early.replay()
    db = await open_database(config)
    started_at = datetime.now(UTC)  # the summary at the end covers what happened from here on
    try:
        node = LiveTradingNode(config, db)
        node.ops.announce = lambda url: console.print(
            f"Node endpoints: {url}/health/ready {url}/health {url}/metrics", highlight=False)
        if not await report.run_and_report(console, node, args.duration):
            return EXIT_RUNTIME
        if node.lock_lost is not None:
            console.print(f"[red]Node stopped trading:[/red] {escape(node.lock_lost)}", highlight=False)
            return EXIT_RUNTIME
        if node.writer.journal_depth:  # PostgreSQL did not take everything: the tables would show an old state
            return EXIT_OK
        try:
            await report.print_run_summary(db, config.trader_id, console, started_at)
        except TRANSIENT_DB_ERRORS as exc:  # PostgreSQL went away after the writer's last commit
            console.print(f"Tables not shown: PostgreSQL unreachable ({type(exc).__name__}: {exc})", highlight=False)
    finally:
        await db.close()
    return EXIT_OK


async def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    return await run_demo(console, duration_secs=args.duration)


def add_node_commands(sub: Any) -> None:
    run = add_command(sub, "run", cmd_run, "run a TradingNode from a config until SIGINT/SIGTERM")
    run.add_argument("--config", required=True)
    run.add_argument("--duration", type=float, default=None, help="stop after this many seconds")

    check = add_command(sub, "check-config", cmd_check_config,
                        "validate a config file (exit 2 naming every bad field and missing variable)")
    check.add_argument("config")
    check.add_argument("--online", action="store_true",
                       help="also look up every instrument id in the venue's instrument list (public endpoints)")

    demo = add_command(sub, "demo", cmd_demo, "embedded PostgreSQL + simulator + a node that trades, then the tables")
    demo.add_argument("--duration", type=float, default=20.0)


# -- database commands -------------------------------------------------------------------------------------------


async def cmd_migrate(args: argparse.Namespace, console: Console) -> int:
    db = await open_database(load(args.config) if args.config else None)  # connecting applies the migrations
    try:
        await report.print_schema(db, console)
    finally:
        await db.close()
    return EXIT_OK


def add_db_commands(sub: Any) -> None:
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    migrate = add_command(db_sub, "migrate", cmd_migrate, "apply pending migrations and list the schema")
    migrate.add_argument("--config")
    add_embedded_commands(db_sub)
    add_maintain_command(db_sub)


# -- listings ----------------------------------------------------------------------------------------------------


async def cmd_show(args: argparse.Namespace, console: Console) -> int:
    config = load(args.config) if args.config else None
    db = await open_database(config)
    try:
        if getattr(args, "all_traders", False):
            await print_firm_positions(db, console)
            return EXIT_OK
        trader_id = await trader_id_for(db.pool, config, args.trader_id)
        if getattr(args, "drift", False):
            await print_drift(db, trader_id, console)
            return EXIT_OK
        await report.print_tables(db, trader_id, console, [args.command], venue=getattr(args, "venue", None),
                                  open_only=getattr(args, "open", False), since=args.since, limit=args.limit)
    finally:
        await db.close()
    return EXIT_OK


def add_listing_commands(sub: Any) -> None:
    for name, helptext in (("orders", "the unified orders"), ("fills", "the fills"),
                           ("positions", "the unified positions"), ("balances", "balances and margins")):
        show = add_command(sub, name, cmd_show, f"print {helptext}")
        show.add_argument("--config")
        show.add_argument("--trader-id")
        add_listing_filters(show, venue=name in ("orders", "fills", "balances"))
        if name == "orders":
            show.add_argument("--open", action="store_true", help="only orders that are not final")
        if name == "positions":
            show.add_argument("--drift", action="store_true",
                              help="the position differences against the venues the audits could not resolve")
            show.add_argument("--all-traders", action="store_true",
                              help="firm-wide: every trader id's positions netted per canonical instrument")


# -- entry point -------------------------------------------------------------------------------------------------

COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (add_node_commands, add_db_commands, add_listing_commands,
                                                      add_serve_commands, add_nodes_command, add_reconcile_commands)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="live", description="Live trading node with a Unified OMS in PostgreSQL.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    for register in COMMAND_GROUPS:
        register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its INFO lines repeat what database.py logs
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # platformdirs, via pgserver: harmless
    console = Console(width=None if sys.stdout.isatty() else NOT_A_TERMINAL_WIDTH)  # a terminal: its own width
    try:
        result = args.handler(args, console)
        return asyncio.run(result) if inspect.isawaitable(result) else result
    except UsageError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        return EXIT_USAGE
    except DatabaseError as exc:
        console.print(f"[red]database error:[/red] {exc}", highlight=False)
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
