"""One node per trader id: the advisory lock, the refusal naming the holder, the nodes table, a lost lock."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from backend.live import sql
from backend.live.database import Database
from backend.live.node_lock import NodeLock, NodeLockHeld
from tests.waiting import wait_until


async def terminate_lock_sessions(db: Database, lock: NodeLock) -> int:
    """Kill the server sessions holding ``lock`` (as a PostgreSQL restart or a cut network would)."""
    return await db.pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND ((classid::bigint << 32) | objid::bigint) = ($1::bigint & x'ffffffffffffffff'::bigint)", lock.key)


async def test_a_second_node_with_the_same_trader_id_is_refused_naming_the_first(db: Database) -> None:
    first = NodeLock(db.dsn, "TRADER-001")
    await first.acquire()
    second = NodeLock(db.dsn, "TRADER-001")
    with pytest.raises(NodeLockHeld) as refused:
        await second.acquire()
    message = str(refused.value)
    assert f"trader id TRADER-001 is already running on host {socket.gethostname()}, pid {os.getpid()}, since " \
        in message
    assert first.started_at is not None and first.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") in message
    # a different trader id runs alongside on the same database
    other = NodeLock(db.dsn, "TRADER-002")
    await other.acquire()
    running = {r["trader_id"]: r["running"] for r in await db.pool.fetch(sql.SELECT_NODES)}
    assert running == {"TRADER-001": True, "TRADER-002": True}
    await first.release()
    await other.release()
    rows = {r["trader_id"]: r for r in await db.pool.fetch(sql.SELECT_NODES)}
    assert [r["running"] for r in rows.values()] == [False, False]
    assert all(r["stopped_at"] is not None for r in rows.values())
    # once released, the trader id can be taken again
    again = NodeLock(db.dsn, "TRADER-001")
    await again.acquire()
    assert (await db.pool.fetchrow(sql.SELECT_NODE, "TRADER-001"))["stopped_at"] is None
    await again.release()


async def test_a_lock_lost_with_its_connection_is_taken_again(db: Database) -> None:
    lock = NodeLock(db.dsn, "TRADER-001", heartbeat_secs=0.05)
    await lock.acquire()
    lock.start_heartbeat()
    before = (await db.pool.fetchrow(sql.SELECT_NODE, "TRADER-001"))["last_heartbeat"]
    assert await terminate_lock_sessions(db, lock) == 1
    for _ in range(100):  # the heartbeat notices the dead connection, reconnects and locks again
        await asyncio.sleep(0.05)
        (node,) = await db.pool.fetch(sql.SELECT_NODES)
        if node["running"]:
            break
    assert node["running"] and lock.held
    await asyncio.sleep(0.2)
    assert (await db.pool.fetchrow(sql.SELECT_NODE, "TRADER-001"))["last_heartbeat"] > before
    with pytest.raises(NodeLockHeld):
        await NodeLock(db.dsn, "TRADER-001").acquire()
    await lock.release()


async def test_a_lock_taken_by_another_node_meanwhile_stops_this_one(db: Database) -> None:
    lost: list[str] = []
    lock = NodeLock(db.dsn, "TRADER-001", heartbeat_secs=0.2, on_lost=lost.append)
    await lock.acquire()
    lock.start_heartbeat()
    await terminate_lock_sessions(db, lock)
    usurper = NodeLock(db.dsn, "TRADER-001")
    await usurper.acquire()  # before the first node's heartbeat notices
    await wait_until(lambda: bool(lost), "the lock to be reported lost", timeout=5)
    assert not lock.held
    assert "trader id TRADER-001 is already running on host" in lost[0]
    await lock.release()  # records nothing: the row is the usurper's
    assert (await db.pool.fetchrow(sql.SELECT_NODE, "TRADER-001"))["stopped_at"] is None
    await usurper.release()


async def test_an_unreachable_database_at_release_does_not_raise(db: Database) -> None:
    lock = NodeLock(db.dsn, "TRADER-001")
    await lock.acquire()
    await terminate_lock_sessions(db, lock)
    await asyncio.sleep(0.1)
    await lock.release()
    assert not lock.held
