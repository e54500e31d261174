"""One node per trader id: a PostgreSQL advisory lock on a dedicated connection, and the ``nodes`` table.

Two nodes with one trader id would trade the same accounts and overwrite each other's rows (positions: last writer
wins). So before it trades, a node takes the session-level advisory lock of its trader id (a 64-bit key from the
trader id's SHA-256) on a connection of its own and records itself in ``nodes`` (host, pid, version, started,
heartbeat). A second node finds the lock taken and stops at once with ``NodeLockHeld``, naming the holder.

The lock lives as long as its connection: when the connection drops (PostgreSQL restarted, the network cut) the
server releases it. The heartbeat task notices, reconnects and takes the lock again; if meanwhile another node took
it, ``on_lost`` is called (the node stops trading) and the log says so. While PostgreSQL cannot be reached at all no
other node can take the lock either, so the node goes on (its journal keeps the rows) and keeps trying.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata

import asyncpg

from backend.live import sql
from backend.live.oms.writer import TRANSIENT_DB_ERRORS

log = logging.getLogger(__name__)


def lock_key(trader_id: str) -> int:
    """The advisory lock key of a trader id: a signed 64-bit integer (PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.sha256(f"live-node:{trader_id}".encode()).digest()[:8], "big", signed=True)


def package_version() -> str:
    try:
        return metadata.version("backend")
    except metadata.PackageNotFoundError:
        return "unknown"


class NodeLockHeld(RuntimeError):
    """Another node runs with this trader id; the message names it (host, pid, since)."""


def describe_holder(trader_id: str, holder: asyncpg.Record | None, me: tuple[str, int, datetime | None] | None = None
                    ) -> str:
    """Who holds the trader id, from its ``nodes`` row; ``me`` (host, pid, started): a row that is still this node's
    own says nothing of the holder."""
    if holder is None or (me is not None and (holder["host"], holder["pid"], holder["started_at"]) == me):
        return f"trader id {trader_id} is already held by another node (not recorded in the nodes table)"
    since = holder["started_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    beat = (datetime.now(UTC) - holder["last_heartbeat"]).total_seconds()
    return (f"trader id {trader_id} is already running on host {holder['host']}, pid {holder['pid']}, since {since} "
            f"(version {holder['version']}, last heartbeat {beat:.0f} s ago); stop that node first or give this one "
            "another trader_id")


class NodeLock:
    """``await acquire()`` before trading, ``start_heartbeat()`` once running, ``await release()`` at the end."""

    def __init__(self, dsn: str, trader_id: str, *, heartbeat_secs: float = 5.0, connect_timeout_secs: float = 10.0,
                 on_lost: Callable[[str], None] | None = None) -> None:
        self._dsn = dsn
        self.trader_id = trader_id
        self.key = lock_key(trader_id)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.version = package_version()
        self._heartbeat_secs = heartbeat_secs
        self._connect_timeout = connect_timeout_secs
        self._on_lost = on_lost
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.held = False
        self.started_at: datetime | None = None

    async def acquire(self) -> None:
        """Take the lock and record this node; ``NodeLockHeld`` when another node holds it."""
        conn = await self._connect()
        try:
            if not await conn.fetchval(sql.TRY_NODE_LOCK, self.key):
                holder = await conn.fetchrow(sql.SELECT_NODE, self.trader_id)
                raise NodeLockHeld(describe_holder(self.trader_id, holder))
            self.started_at = await conn.fetchval(sql.REGISTER_NODE, self.trader_id, self.host, self.pid,
                                                  self.version, self.key)
        except BaseException:
            await _close_quietly(conn)
            raise
        self._conn = conn
        self.held = True
        log.info("Node lock for trader id %s taken (host %s, pid %d)", self.trader_id, self.host, self.pid)

    async def _connect(self) -> asyncpg.Connection:
        # Server-side keepalives: should this process vanish behind a dead network path, the server drops the session
        # (and with it the lock) within about a minute instead of the kernel's default two hours.
        return await asyncpg.connect(self._dsn, timeout=self._connect_timeout, server_settings={
            "application_name": f"live-node {self.trader_id}", "tcp_keepalives_idle": "30",
            "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"})

    def start_heartbeat(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._heartbeat(), name="node-lock-heartbeat")

    async def _heartbeat(self) -> None:
        while self.held:
            await asyncio.sleep(self._heartbeat_secs)
            try:
                if self._conn is None or self._conn.is_closed():
                    await self._retake()
                else:
                    await asyncio.wait_for(self._conn.execute(sql.NODE_HEARTBEAT, self.trader_id, self.host, self.pid),
                                           self._heartbeat_secs * 2)
            except NodeLockHeld as exc:
                self.held = False
                log.error("Node lock for trader id %s lost with its connection and taken by another node: this node "
                          "stops trading. %s", self.trader_id, exc)
                if self._on_lost is not None:
                    self._on_lost(str(exc))
                return
            except TRANSIENT_DB_ERRORS as exc:
                if self._conn is not None:
                    log.warning("Node lock connection for trader id %s lost (%s); retaking the lock when PostgreSQL "
                                "answers", self.trader_id, exc)
                    await _close_quietly(self._conn)
                    self._conn = None

    async def _retake(self) -> None:
        conn = await self._connect()
        try:
            if not await conn.fetchval(sql.TRY_NODE_LOCK, self.key):
                holder = await conn.fetchrow(sql.SELECT_NODE, self.trader_id)
                raise NodeLockHeld(describe_holder(self.trader_id, holder, (self.host, self.pid, self.started_at)))
            await conn.execute(sql.NODE_HEARTBEAT, self.trader_id, self.host, self.pid)
        except BaseException:
            await _close_quietly(conn)
            raise
        self._conn = conn
        log.warning("Node lock for trader id %s taken again after its connection was lost", self.trader_id)

    async def release(self) -> None:
        """Record the stop and let the lock go (closing the connection releases it even when the UPDATE fails)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        conn, self._conn = self._conn, None
        if conn is None:
            self.held = False
            return
        if self.held:
            try:
                await asyncio.wait_for(conn.execute(sql.NODE_STOPPED, self.trader_id, self.host, self.pid), 2)
                await asyncio.wait_for(conn.fetchval(sql.NODE_UNLOCK, self.key), 2)
            except (*TRANSIENT_DB_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("Node lock for trader id %s: stop not recorded (%s); the lock ends with its connection",
                            self.trader_id, exc)
        self.held = False
        await _close_quietly(conn)


async def _close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 2)
    except (*TRANSIENT_DB_ERRORS, asyncpg.PostgresError):
        conn.terminate()
