"""The ``live`` command: run a node, check a config, migrate, and read the unified tables.

Exit codes: 0 ok, 1 runtime failure (database unreachable, node failed to start, ...), 2 bad config or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import textwrap
import warnings
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from backend.live import sql
from backend.live.config.loader import ConfigError, load_config
from backend.live.config.schema import LiveConfig
from backend.live.config.trading_node_config import NodeConfigError, build_trading_node_config
from backend.live.database import Database, DatabaseError

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("live")


class UsageError(Exception):
    """Bad arguments or config: exit 2."""


def _load(path: str) -> LiveConfig:
    try:
        return load_config(Path(path))
    except ConfigError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such config file") from None


async def _database(config: LiveConfig | None) -> Database:
    db = config.database if config is not None else None
    return await Database.connect(
        db.dsn.get() if db is not None and db.dsn is not None else None,
        data_dir=Path(db.data_dir) if db is not None else Path(".live/pgdata"),
        min_size=db.pool_min_size if db is not None else 1,
        max_size=db.pool_max_size if db is not None else 4,
        timeout=db.connect_timeout_secs if db is not None else 10,
    )


# -- tables -------------------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, Decimal):
        return "0" if value.is_zero() else format(value, "f")  # never 0E-8 or 1E+1
    return str(value)


def render(console: Console, title: str, records: Sequence[Any], columns: Sequence[str]) -> None:
    table = Table(title=f"{title} ({len(records)})", title_justify="left", show_lines=False)
    for column in columns:
        # free text gets a bounded width so ids and figures keep theirs
        table.add_column(column, overflow="fold", max_width=40 if column in FREE_TEXT_COLUMNS else None)
    for record in records:
        table.add_row(*(_cell(record[c]) for c in columns))
    console.print(table)


ORDER_COLUMNS = ("client_order_id", "account_id", "canonical_id", "side", "order_type", "quantity", "price", "status",
                 "filled_qty", "avg_px", "reason")
FILL_COLUMNS = ("ts_event", "account_id", "canonical_id", "trade_id", "side", "quantity", "base_quantity", "price",
                "commission", "commission_currency", "liquidity_side")
POSITION_COLUMNS = ("canonical_id", "net_quantity", "avg_entry_price", "realized_pnl", "unrealized_pnl",
                    "pnl_currency", "venues")
BALANCE_COLUMNS = ("venue", "account_id", "margin_model", "currency", "total", "free", "locked", "updated_at")
MARGIN_COLUMNS = ("venue", "account_id", "margin_key", "currency", "initial", "maintenance", "updated_at")
FREE_TEXT_COLUMNS = {"reason", "venues"}


async def _trader_id(pool: Any, config: LiveConfig | None, explicit: str | None) -> str:
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


async def print_tables(db: Database, trader_id: str, console: Console, which: Sequence[str], *,
                       venue: str | None = None, open_only: bool = False) -> None:
    pool = db.pool
    if "orders" in which:
        render(console, "Orders", await pool.fetch(sql.SELECT_ORDERS, trader_id, open_only, venue), ORDER_COLUMNS)
    if "fills" in which:
        render(console, "Fills", await pool.fetch(sql.SELECT_FILLS, trader_id, venue), FILL_COLUMNS)
    if "positions" in which:
        rows = []
        for r in await pool.fetch(sql.SELECT_POSITIONS, trader_id):
            entries = msgspec.json.decode(r["venue_positions"])
            venues = ", ".join(f"{k}: {e['base_quantity']}" for k, e in entries.items())
            rows.append({**dict(r), "venues": venues})
        render(console, "Positions", rows, POSITION_COLUMNS)
    if "balances" in which:
        render(console, "Balances", await pool.fetch(sql.SELECT_BALANCES, trader_id, venue), BALANCE_COLUMNS)
        render(console, "Margins", await pool.fetch(sql.SELECT_MARGINS, trader_id, venue), MARGIN_COLUMNS)


def print_startup_error(console: Console, exc: Exception) -> None:
    """One line per failed client, unwrapped and free of markup so it can be grepped."""
    console.print("[red]Node failed to start:[/red]", highlight=False)
    console.print(escape(textwrap.indent(str(exc), "  ")), highlight=False, soft_wrap=True)


def print_health(console: Console, health: Sequence[Any]) -> None:
    records = [msgspec.structs.asdict(h) for h in health]
    render(console, "Clients", records, ("client", "kind", "venue", "connected", "last_message_age_secs", "stale", "reconnects"))


# -- commands -----------------------------------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace, console: Console) -> int:
    config = _load(args.config)
    try:
        node_config = build_trading_node_config(config)
    except NodeConfigError as exc:
        raise UsageError(f"{args.config}: {exc}") from None
    console.print(f"[green]OK[/green] {args.config}: trader {config.trader_id}, "
                  f"data clients {sorted(node_config.data_clients)}, exec clients {sorted(node_config.exec_clients)}")
    return EXIT_OK


async def cmd_migrate(args: argparse.Namespace, console: Console) -> int:
    config = _load(args.config) if args.config else None
    db = await _database(config)
    try:
        tables = await db.pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        versions = await db.pool.fetch("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    finally:
        await db.close()
    render(console, "Migrations", versions, ("version", "name", "applied_at"))
    console.print("Tables: " + ", ".join(r["tablename"] for r in tables))
    return EXIT_OK


async def cmd_show(args: argparse.Namespace, console: Console) -> int:
    config = _load(args.config) if args.config else None
    db = await _database(config)
    try:
        trader_id = await _trader_id(db.pool, config, args.trader_id)
        await print_tables(db, trader_id, console, [args.command], venue=getattr(args, "venue", None),
                           open_only=getattr(args, "open", False))
    finally:
        await db.close()
    return EXIT_OK


async def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from backend.live.trading_node import LiveTradingNode, StartupError

    config = _load(args.config)
    try:
        build_trading_node_config(config)
    except NodeConfigError as exc:
        raise UsageError(f"{args.config}: {exc}") from None
    db = await _database(config)
    try:
        node = LiveTradingNode(config, db)
        try:
            await node.run_until_signal(duration_secs=args.duration,
                                        before_stop=lambda n: print_health(console, n.health()))
        except StartupError as exc:
            print_startup_error(console, exc)
            return EXIT_RUNTIME
        await print_tables(db, config.trader_id, console, ["orders", "fills", "positions", "balances"])
    finally:
        await db.close()
    return EXIT_OK


async def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from backend.live.demo import run_demo

    return await run_demo(console, duration_secs=args.duration)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="live", description="Live trading node with a Unified OMS in PostgreSQL.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a TradingNode from a config until SIGINT/SIGTERM")
    run.add_argument("--config", required=True)
    run.add_argument("--duration", type=float, default=None, help="stop after this many seconds")

    check = sub.add_parser("check-config", help="validate a config file (exit 2 naming the bad field)")
    check.add_argument("config")

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    migrate = db_sub.add_parser("migrate", help="apply pending migrations and list the schema")
    migrate.add_argument("--config")

    for name, helptext in (("orders", "the unified orders"), ("fills", "the fills"),
                           ("positions", "the unified positions"), ("balances", "balances and margins")):
        show = sub.add_parser(name, help=f"print {helptext}")
        show.add_argument("--config")
        show.add_argument("--trader-id")
        if name in ("orders", "fills", "balances"):
            show.add_argument("--venue", type=str.upper)
        if name == "orders":
            show.add_argument("--open", action="store_true", help="only orders that are not final")

    demo = sub.add_parser("demo", help="embedded PostgreSQL + simulator + a node that trades, then the tables")
    demo.add_argument("--duration", type=float, default=20.0)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its INFO lines repeat what database.py logs
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # platformdirs, via pgserver: harmless
    console = Console(width=200)
    try:
        if args.command == "check-config":
            return cmd_check_config(args, console)
        if args.command == "db":
            return asyncio.run(cmd_migrate(args, console))
        if args.command in ("orders", "fills", "positions", "balances"):
            return asyncio.run(cmd_show(args, console))
        if args.command == "run":
            return asyncio.run(cmd_run(args, console))
        if args.command == "demo":
            return asyncio.run(cmd_demo(args, console))
    except UsageError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        return EXIT_USAGE
    except DatabaseError as exc:
        console.print(f"[red]database error:[/red] {exc}", highlight=False)
        return EXIT_RUNTIME
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
