"""Firm-wide positions: ``live positions --all-traders`` prints ``unified_positions_all`` (migration 0005), every
trader id's unified position netted per canonical instrument, with each trader id's net quantity beside it."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from rich.console import Console

from backend.live import sql
from backend.live.database import Database
from backend.live.report import cell, render

FIRM_POSITION_COLUMNS = ("canonical_id", "net_quantity", "avg_entry_price", "realized_pnl", "unrealized_pnl",
                         "pnl_currency", "open_traders", "traders")


async def print_firm_positions(db: Database, console: Console) -> None:
    rows = []
    for r in await db.pool.fetch(sql.FIRM_POSITIONS):
        traders = msgspec.json.decode(r["trader_positions"], type=dict[str, Decimal])
        breakdown = ", ".join(f"{trader}: {cell(qty)}" for trader, qty in sorted(traders.items()))
        rows.append({**dict(r), "traders": breakdown})
    render(console, "Firm-wide positions (all trader ids)", rows, FIRM_POSITION_COLUMNS)
