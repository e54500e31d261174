"""``NodeOpsSource``: the ``OpsSource`` view of a running ``LiveTradingNode`` (the only module here that knows it).

Besides reading the node's parts it keeps two things of its own, refreshed by ``run`` every ``probe_interval_secs``:
whether PostgreSQL takes writes now (a read-write probe: a server in recovery or read-only counts as down) and since
when it does not, and the reconciliation differences per venue (counted in ``reconciliation_events``). While
PostgreSQL is unreachable the journal absorbs the node's rows; readiness tolerates that for
``journal_grace_secs``, after which the outage is reported as the failing part even though nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from backend.live import sql
from backend.live.ops.logs import SecretMasker
from backend.live.ops.status import ClientStatus, DatabaseStatus

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECS = 2.0


class NodeOpsSource:
    def __init__(self, node: Any, masker: SecretMasker, journal_grace_secs: float = 60.0,
                 probe_interval_secs: float = 2.0) -> None:
        self._node = node
        self._mask = masker
        self.trader_id: str = node.trader_id
        self._grace = journal_grace_secs
        self._interval = probe_interval_secs
        self._writable = True
        self._db_error: str | None = None
        self._down_since: float | None = None
        self._differences: dict[str, int] = {}

    # -- background probe ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self._interval)

    async def probe(self) -> None:
        pool = self._node.database.pool
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECS):
                writable = await pool.fetchval(sql.OPS_DATABASE_WRITABLE)
                rows = await pool.fetch(sql.OPS_RECONCILIATION_DIFFERENCES, self.trader_id) \
                    if await pool.fetchval(sql.TABLE_EXISTS, "public.reconciliation_events") else []
        except Exception as exc:  # any failure to answer is "not writable"; the cause is reported, masked
            self._set_writable(False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            return
        self._differences = {r["venue"]: r["differences"] for r in rows}
        self._set_writable(bool(writable), None if writable else "the server is read-only or in recovery")

    def _set_writable(self, writable: bool, error: str | None) -> None:
        if writable and not self._writable:
            log.warning("PostgreSQL takes writes again (down for %.0f s)", time.monotonic() - (self._down_since or 0))
        if not writable and self._writable:
            log.error("PostgreSQL does not take writes: %s", self._mask(error or ""))
        self._writable = writable
        self._db_error = None if writable else self._mask(error or "no answer")
        self._down_since = None if writable else (self._down_since or time.monotonic())

    # -- OpsSource -------------------------------------------------------------------------------------------------

    def trader_state(self) -> str:
        trading_node = self._node.node
        if trading_node is None:
            return "PRE_INITIALIZED"
        return trading_node.kernel.trader.state.name

    def clients(self) -> list[ClientStatus]:
        statuses = []
        for health in self._node.health():
            fields = {name: getattr(health, name) for name in ClientStatus.__struct_fields__ if hasattr(health, name)}
            if fields.get("private_stream_detail"):
                fields["private_stream_detail"] = self._mask(fields["private_stream_detail"])
            statuses.append(ClientStatus(**fields))
        return statuses

    async def database(self) -> DatabaseStatus:
        writer = self._node.writer
        journal = writer.journal
        journal_ok = writer.journal_accepting
        down_for = 0.0 if self._down_since is None else time.monotonic() - self._down_since
        absorbing = not self._writable and journal_ok and down_for < self._grace
        error = self._db_error
        if not self._writable:
            error = f"unreachable for {down_for:.0f} s ({error}); {self.journal_depth()} rows wait in the journal" \
                if journal_ok else f"{error}; no journal takes the rows"
        return DatabaseStatus(writable=self._writable, error=error, journal_enabled=journal is not None,
                              journal_absorbing=absorbing, queue_depth=self.queue_depth(),
                              journal_depth=self.journal_depth())

    def queue_depth(self) -> int:
        return self._node.writer.queue_depth

    def journal_depth(self) -> int:
        return self._node.writer.journal_depth

    def fills_written(self) -> int:
        return self._node.writer.stats.fills_written

    def dead_letters(self) -> int:
        return self._node.writer.stats.dead_letters

    def open_orders_by_venue(self) -> dict[str, int]:
        trading_node = self._node.node
        if trading_node is None:
            return {}
        return dict(Counter(order.instrument_id.venue.value for order in trading_node.cache.orders_open()))

    def reconciliation_differences(self) -> dict[str, int]:
        return dict(self._differences)
