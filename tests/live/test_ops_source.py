"""The node view behind the endpoints: a PostgreSQL outage is absorbed by the journal for the grace period only."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from backend.live.ops.logs import SecretMasker
from backend.live.ops.source import NodeOpsSource
from backend.live.ops.status import NodeStatus, readiness_failures


class DownPool:
    def __init__(self) -> None:
        self.down = False

    async def fetchval(self, *args):
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432) password=hunter2hunter2")
        return True if "pg_is_in_recovery" in args[0] else False

    async def fetch(self, *args):
        return []


def _node(pool: DownPool, journal: bool = True) -> SimpleNamespace:
    writer = SimpleNamespace(journal=object() if journal else None, journal_accepting=journal, queue_depth=0,
                             journal_depth=5, stats=SimpleNamespace(fills_written=0, dead_letters=0))
    return SimpleNamespace(trader_id="OPS-001", database=SimpleNamespace(pool=pool), writer=writer, node=None,
                           health=lambda: [])


def _failing(source: NodeOpsSource, database) -> dict[str, str]:
    return readiness_failures(NodeStatus("OPS-001", "1", "RUNNING", [], database))


async def test_the_journal_absorbs_an_outage_for_the_grace_period_then_the_database_is_named():
    pool = DownPool()
    source = NodeOpsSource(_node(pool), SecretMasker(["hunter2hunter2"]), journal_grace_secs=0.3)
    await source.probe()
    assert (await source.database()).writable is True
    pool.down = True
    await source.probe()
    within = await source.database()
    assert within.writable is False and within.journal_absorbing is True and _failing(source, within) == {}
    await asyncio.sleep(0.35)
    after = await source.database()
    reason = _failing(source, after)["database"]
    assert reason.startswith("PostgreSQL not writable: unreachable for 0 s (ConnectionRefusedError")
    assert "5 rows wait in the journal" in reason and "hunter2hunter2" not in reason and "***" in reason
    pool.down = False
    await source.probe()
    assert (await source.database()).writable is True


async def test_without_a_journal_an_outage_fails_at_once():
    pool = DownPool()
    pool.down = True
    source = NodeOpsSource(_node(pool, journal=False), SecretMasker([]), journal_grace_secs=60)
    await source.probe()
    assert _failing(source, await source.database())["database"].endswith("no journal takes the rows")
