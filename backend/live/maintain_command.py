"""``live db maintain``: create the coming months' partitions and apply the retention (``partitions.py``).

Run it daily (a systemd timer or cron; docs/live/OPERATIONS.md). Settings from the config's ``database`` section
(``partition_months_ahead``, ``retention_months``, ``retention_detach_only``); the flags override them.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from backend.live.cli_support import EXIT_OK, UsageError, add_command, load, open_database
from backend.live.config.schema import DatabaseSettings
from backend.live.partitions import maintain


async def cmd_maintain(args: argparse.Namespace, console: Console) -> int:
    config = load(args.config) if args.config else None
    settings = config.database if config is not None else DatabaseSettings()
    months_ahead = args.months_ahead if args.months_ahead is not None else settings.partition_months_ahead
    retention = args.retention_months if args.retention_months is not None else settings.retention_months
    for name, value in (("--months-ahead", months_ahead), ("--retention-months", retention)):
        if value is not None and value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    db = await open_database(config)
    try:
        report = await maintain(db.pool, months_ahead, retention, args.detach_only or settings.retention_detach_only)
    finally:
        await db.close()
    console.print(f"Partitions created: {', '.join(report.created) or 'none (all there)'}", highlight=False)
    if retention is None:
        console.print("Retention: none configured (database.retention_months): every month is kept", highlight=False)
    else:
        console.print(f"Retention {retention} months: detached {', '.join(report.detached) or 'none'}; "
                      f"dropped {', '.join(report.dropped) or 'none'}", highlight=False)
    waiting = {table: n for table, n in report.default_rows.items() if n}
    if waiting:
        console.print("Rows outside every month partition (in the default partitions): "
                      + ", ".join(f"{table} {n}" for table, n in waiting.items()), highlight=False)
    return EXIT_OK


def register(db_sub: Any) -> None:
    maintain_parser = add_command(db_sub, "maintain", cmd_maintain,
                                  "create the coming months' partitions and drop or detach months past the retention")
    maintain_parser.add_argument("--config", help="use this config's database section")
    maintain_parser.add_argument("--months-ahead", type=int, default=None)
    maintain_parser.add_argument("--retention-months", type=int, default=None)
    maintain_parser.add_argument("--detach-only", action="store_true",
                                 help="detach old months (kept as tables of their own) instead of dropping them")
