"""``live nodes``: every node that ran against this database, one row per trader id, and whether it runs now.

"running" is the trader id's advisory lock (``node_lock.py``) being held by some session right now, so a node killed
without a word shows as not running even though its row has no ``stopped_at``.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from backend.live import sql
from backend.live.cli_support import EXIT_OK, add_command, load, open_database
from backend.live.report import render

NODE_COLUMNS = ("trader_id", "state", "host", "pid", "version", "started_at", "last_heartbeat", "stopped_at")


def node_state(record: Any) -> str:
    if record["running"]:
        return "running"
    return "stopped" if record["stopped_at"] is not None else "gone (no clean stop)"


async def cmd_nodes(args: argparse.Namespace, console: Console) -> int:
    db = await open_database(load(args.config) if args.config else None)
    try:
        records = [{**dict(r), "state": node_state(r)} for r in await db.pool.fetch(sql.SELECT_NODES)]
    finally:
        await db.close()
    render(console, "Nodes", records, NODE_COLUMNS)
    return EXIT_OK


def register(sub: Any) -> None:
    nodes = add_command(sub, "nodes", cmd_nodes, "list the nodes (one per trader id) and whether each runs now")
    nodes.add_argument("--config", help="the database of this config (default: LIVE_DATABASE_URL or the embedded one)")
