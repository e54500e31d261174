"""What the ``live`` commands print: the unified tables, client health, start-up failures, and running a node then
printing what it did (``live run`` and ``live demo`` share ``run_and_report``). Reads only; SQL is in ``sql.py``."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from backend.live import sql
from backend.live.database import Database
from backend.live.trading_node import LiveTradingNode, StartupError

ORDER_COLUMNS = ("client_order_id", "account_id", "canonical_id", "side", "order_type", "quantity", "price", "status",
                 "filled_qty", "avg_px", "reason")
FILL_COLUMNS = ("ts_event", "account_id", "canonical_id", "trade_id", "side", "quantity", "base_quantity", "price",
                "commission", "commission_currency", "liquidity_side")
POSITION_COLUMNS = ("canonical_id", "net_quantity", "avg_entry_price", "realized_pnl", "unrealized_pnl",
                    "pnl_currency", "venues")
BALANCE_COLUMNS = ("venue", "account_id", "margin_model", "currency", "total", "free", "locked", "updated_at")
MARGIN_COLUMNS = ("venue", "account_id", "margin_key", "currency", "initial", "maintenance", "updated_at")
HEALTH_COLUMNS = ("client", "kind", "venue", "connected", "last_message_age_secs", "stale", "reconnects")
MIGRATION_COLUMNS = ("version", "name", "applied_at")
FREE_TEXT_COLUMNS = {"reason", "venues", "traders"}
TABLES = ("orders", "fills", "positions", "balances")  # what `live run` and `live demo` print at the end


def cell(value: Any) -> str:
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
        table.add_row(*(cell(record[c]) for c in columns))
    console.print(table)


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


async def print_schema(db: Database, console: Console) -> None:
    """The applied migrations and the tables they made."""
    render(console, "Migrations", await db.pool.fetch(sql.SELECT_MIGRATIONS), MIGRATION_COLUMNS)
    console.print("Tables: " + ", ".join(await table_names(db)))


async def table_names(db: Database) -> list[str]:
    return [r["tablename"] for r in await db.pool.fetch(sql.SELECT_TABLE_NAMES)]


def print_startup_error(console: Console, exc: Exception) -> None:
    """One line per failed client, unwrapped and free of markup so it can be grepped."""
    console.print("[red]Node failed to start:[/red]", highlight=False)
    console.print(escape(textwrap.indent(str(exc), "  ")), highlight=False, soft_wrap=True)


def print_health(console: Console, health: Sequence[Any]) -> None:
    render(console, "Clients", [msgspec.structs.asdict(h) for h in health], HEALTH_COLUMNS)


async def run_and_report(console: Console, node: LiveTradingNode, duration_secs: float | None = None) -> bool:
    """Run ``node`` until a signal (or ``duration_secs``), printing client health before it stops; False (the
    cause printed) when it did not start. The caller prints the tables it wants afterwards."""
    try:
        await node.run_until_signal(duration_secs=duration_secs,
                                    before_stop=lambda n: print_health(console, n.health()))
    except StartupError as exc:
        print_startup_error(console, exc)
        return False
    return True
