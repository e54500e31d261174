"""What the ``live`` commands print: the unified tables, client health, start-up failures, and running a node then
printing what it did (``live run`` and ``live demo`` share ``run_and_report``). Reads only; SQL is in ``sql.py``."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
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
HEALTH_COLUMNS = ("client", "kind", "venue", "connected", "last_message_age_secs", "stale", "reconnects",
                  "private_stream_state", "private_stream_detail")
MIGRATION_COLUMNS = ("version", "name", "applied_at")
FREE_TEXT_COLUMNS = {"reason", "venues", "traders"}
PRICE_COLUMNS = {"price", "avg_px", "avg_entry_price", "trigger_price"}  # shown at the instrument's tick
# When a table is wider than the terminal these go first, in this order (the rest keep ids and figures whole).
OPTIONAL_COLUMNS = ("order_type", "liquidity_side", "commission_currency", "base_quantity", "margin_model",
                    "unrealized_pnl", "account_id", "updated_at", "commission", "reason", "venues")
TABLES = ("orders", "fills", "positions", "balances")  # what `live run` and `live demo` print at the end
UNBOUNDED = 10**6  # a width to measure a table's natural width against
DEFAULT_LIMIT = 100  # listings show the last 100 rows unless --limit says otherwise


def cell(value: Any, increment: Decimal | None = None) -> str:
    """A value as text: times to the millisecond, decimals as stored (quantities come at the venue's precision)
    without an exponent, a price (when its instrument's tick ``increment`` is known) at that tick's number of places
    (an average price has many more)."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, Decimal):
        if increment is not None and value.is_finite():
            places = max(0, -increment.normalize().as_tuple().exponent)
            return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")
        return "0" if value.is_zero() else format(value, "f")  # never 0E-8 or 1E+1
    return str(value)


def _table(title: str, records: Sequence[Any], columns: Sequence[str], *, fold_all: bool = False) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        free_text = column in FREE_TEXT_COLUMNS  # bounded and folded; ids and figures kept on one line
        table.add_column(column, overflow="fold", no_wrap=not (free_text or fold_all),
                         max_width=40 if free_text else None)
    for record in records:
        increment = record.get("price_increment") if hasattr(record, "get") else None
        table.add_row(*(cell(record[c], increment if c in PRICE_COLUMNS else None) for c in columns))
    return table


def render(console: Console, title: str, records: Sequence[Any], columns: Sequence[str],
           matching: int | None = None) -> None:
    """``records`` as a table that fits the console: when too wide, the ``OPTIONAL_COLUMNS`` it has are left out
    (named below it). ``matching``: how many rows the filters matched, when ``records`` are the last of them."""
    count = f"last {len(records)} of {matching}" if matching is not None and matching > len(records) \
        else str(len(records))
    shown, hidden = list(columns), []
    table = _table(f"{title} ({count})", records, shown)

    def fits(candidate: Table) -> bool:
        return Measurement.get(console, console.options.update_width(UNBOUNDED), candidate).maximum <= console.width

    for optional in OPTIONAL_COLUMNS:
        if fits(table):
            break
        if optional in shown:
            shown.remove(optional)
            hidden.append(optional)
            table = _table(f"{title} ({count})", records, shown)
    if not fits(table):  # still too wide: values wrap inside their cells rather than being cut
        table = _table(f"{title} ({count})", records, shown, fold_all=True)
    console.print(table)
    if hidden:
        console.print(f"  (not shown to fit {console.width} columns: {', '.join(hidden)})", highlight=False)


def _matching(records: Sequence[Any]) -> int | None:
    return records[0]["matching"] if records else None


async def print_tables(db: Database, trader_id: str, console: Console, which: Sequence[str], *,
                       venue: str | None = None, open_only: bool = False, since: datetime | None = None,
                       limit: int | None = DEFAULT_LIMIT) -> None:
    """The listings ``which`` of ``trader_id``: filtered by venue and time, each the last ``limit`` rows (None:
    all), oldest first."""
    pool = db.pool
    if "orders" in which:
        rows = await pool.fetch(sql.SELECT_ORDERS, trader_id, open_only, venue, since, limit)
        render(console, "Orders", rows, ORDER_COLUMNS, _matching(rows))
    if "fills" in which:
        rows = await pool.fetch(sql.SELECT_FILLS, trader_id, venue, since, limit)
        render(console, "Fills", rows, FILL_COLUMNS, _matching(rows))
    if "positions" in which:
        rows = []
        for r in await pool.fetch(sql.LIST_POSITIONS, trader_id, since, limit):
            entries = msgspec.json.decode(r["venue_positions"])
            venues = ", ".join(f"{k}: {cell(Decimal(str(e['base_quantity'])))}" for k, e in entries.items())
            rows.append({**dict(r), "venues": venues})
        render(console, "Positions", rows, POSITION_COLUMNS, _matching(rows))
    if "balances" in which:
        rows = await pool.fetch(sql.SELECT_BALANCES, trader_id, venue, since, limit)
        render(console, "Balances", rows, BALANCE_COLUMNS, _matching(rows))
        rows = await pool.fetch(sql.SELECT_MARGINS, trader_id, venue, since, limit)
        render(console, "Margins", rows, MARGIN_COLUMNS, _matching(rows))


async def print_run_summary(db: Database, trader_id: str, console: Console, started_at: datetime) -> None:
    """What this run did, from what it stored: orders by status, fills per instrument and side; the full tables
    are one ``live orders`` / ``fills`` / ``positions`` / ``balances`` away."""
    counts = await db.pool.fetch(sql.RUN_ORDER_COUNTS, trader_id, started_at)
    fills = await db.pool.fetch(sql.RUN_FILL_TOTALS, trader_id, started_at)
    orders = sum(r["orders"] for r in counts)
    by_status = ", ".join(f"{r['orders']} {r['status']}" for r in counts)
    console.print(f"This run (trader {trader_id}, since {cell(started_at)}): {orders} orders"
                  + (f" ({by_status})" if orders else "") + f", {sum(r['fills'] for r in fills)} fills", highlight=False)
    for r in fills:
        console.print(f"  {r['canonical_id']} {r['side']} {cell(r['base_quantity'])} in {r['fills']} fills",
                      highlight=False)
    console.print(f"More: live orders --since '{started_at.isoformat(timespec='seconds')}' "
                  "(also fills, positions, balances)", highlight=False)


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
