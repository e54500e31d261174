"""Monthly partitions of the append-only tables (migration 0007): created ahead, and old ones detached or dropped.

``order_events``, ``fills``, ``account_state_history`` (on ``ts_event``) and ``position_history`` (on
``recorded_at``) are partitioned by month. The node creates the coming months' partitions when it starts;
``live db maintain`` (run it daily, e.g. from a systemd timer or cron) does the same and applies the retention. A
row whose month has no partition yet lands in the table's default partition, never refused; creating that month's
partition later moves it there (``live_create_month_partition``). Retention detaches or drops whole months older
than ``retention_months`` (``fill_keys`` of dropped fills go with them); the default partition is never dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg

from backend.live import sql

log = logging.getLogger(__name__)

PARTITIONED = ("order_events", "fills", "account_state_history", "position_history")
PARTITION_LOCK_KEY = 0x6C69766570617274  # "livepart": one maintainer at a time (nodes start concurrently)
DEFAULT_MONTHS_AHEAD = 3


def _month(day: date, offset: int) -> date:
    index = day.year * 12 + day.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class MaintenanceReport:
    created: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    default_rows: dict[str, int] = field(default_factory=dict)  # rows left in default partitions (outside any month)


async def ensure_partitions(conn: asyncpg.Connection, months_ahead: int = DEFAULT_MONTHS_AHEAD,
                            now: datetime | None = None, since: date | None = None) -> list[str]:
    """Create the month partitions from ``since`` (default: this month) to ``months_ahead`` months ahead (at least
    ``since``'s month); returns the names of those created now."""
    today = (now or datetime.now(UTC)).date()
    first = _month(since or today, 0)
    months = []
    month = first
    while month <= max(_month(today, months_ahead), first):
        months.append(month)
        month = _month(month, 1)
    created = []
    async with conn.transaction():
        await conn.execute(sql.PARTITION_LOCK, PARTITION_LOCK_KEY)
        for table in PARTITIONED:
            for month in months:
                name = await conn.fetchval(sql.CREATE_MONTH_PARTITION, table, month)
                if name is not None:
                    created.append(name)
    if created:
        log.info("Created partitions %s", ", ".join(created))
    return created


async def apply_retention(conn: asyncpg.Connection, retention_months: int, detach_only: bool = False,
                          now: datetime | None = None) -> tuple[list[str], list[str]]:
    """Detach (and unless ``detach_only`` drop) every month partition whose months all lie more than
    ``retention_months`` full months back; returns (detached, dropped)."""
    if retention_months < 1:
        raise ValueError(f"retention_months must be at least 1, got {retention_months}")
    today = (now or datetime.now(UTC)).date()
    cutoff_day = _month(today, -retention_months)
    cutoff = datetime(cutoff_day.year, cutoff_day.month, 1, tzinfo=UTC)
    detached: list[str] = []
    dropped: list[str] = []
    async with conn.transaction():
        await conn.execute(sql.PARTITION_LOCK, PARTITION_LOCK_KEY)
        for table in PARTITIONED:
            for record in await conn.fetch(sql.LIST_MONTH_PARTITIONS, table):
                if record["upper_bound"] is None or record["upper_bound"] > cutoff:
                    continue
                partition = _quoted(record["name"])
                await conn.execute(sql.DETACH_PARTITION.format(table=table, partition=partition))
                detached.append(record["name"])
                if not detach_only:
                    await conn.execute(sql.DROP_PARTITION.format(partition=partition))
                    dropped.append(record["name"])
                    if table == "fills":
                        await conn.execute(sql.FORGET_DROPPED_FILL_KEYS, record["upper_bound"])
    return detached, dropped


async def maintain(pool: asyncpg.Pool, months_ahead: int = DEFAULT_MONTHS_AHEAD, retention_months: int | None = None,
                   detach_only: bool = False, now: datetime | None = None) -> MaintenanceReport:
    report = MaintenanceReport()
    async with pool.acquire() as conn:
        report.created = await ensure_partitions(conn, months_ahead, now)
        if retention_months is not None:
            report.detached, report.dropped = await apply_retention(conn, retention_months, detach_only, now)
        for table in PARTITIONED:
            report.default_rows[table] = await conn.fetchval(sql.COUNT_DEFAULT_PARTITION_ROWS.format(table=table))
    return report


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
