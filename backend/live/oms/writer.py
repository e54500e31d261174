"""The batched, idempotent PostgreSQL writer behind the Unified OMS.

``submit`` is called from NautilusTrader's message-bus handlers: it only appends to an in-memory queue, so the
event loop never waits on the database. One writer task drains the queue: once anything is queued it waits at most
``flush_interval_ms`` for more (not at all when a full batch is waiting), takes up to ``batch_max_rows`` items and
writes them in one transaction: events and fills are COPYed into temporary staging tables and inserted from there,
order rows are folded to one change per order and upserted. While a batch is being written the next one
accumulates, so batches grow with load.

Nothing accepted is dropped: a batch that fails on a lost connection is retried (with back-off) until it is
written; a batch that fails on bad data is split and written item by item, and an item the database refuses is
stored in ``dead_letters`` with the cause. Replayed events change nothing: order events and account states are
keyed by their event ids, fills by venue, account, instrument and trade id; order rows change only for events that
were new.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from msgspec.structs import astuple

from backend.live import sql
from backend.live.accounts import state_snapshot
from backend.live.models import AccountRow, AccountStateRow
from backend.live.oms.convert import ConvertedEvent, fold_changes
from backend.live.oms.spill import WriteItem, read_spill, spill_files, write_spill

log = logging.getLogger(__name__)


# Errors after which the same batch may succeed when retried (the server or the network, not the data).
_TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)


class WriterStats(msgspec.Struct):
    events_received: int = 0
    events_written: int = 0  # new order events stored
    duplicates_ignored: int = 0
    fills_written: int = 0
    account_states_received: int = 0
    batches: int = 0
    retries: int = 0
    spilled: int = 0
    dead_letters: int = 0
    last_error: str | None = None


class OmsWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        batch_max_rows: int = 2000,
        flush_interval_ms: float = 10.0,
        queue_warn_size: int = 1_000_000,
        retry_initial_secs: float = 0.05,
        retry_max_secs: float = 5.0,
        spill_dir: Path | None = None,
        spill_after_secs: float = 30.0,
    ) -> None:
        self._pool = pool
        self._batch_max_rows = batch_max_rows
        self._linger_secs = flush_interval_ms / 1000
        self._queue_warn_size = queue_warn_size
        self._retry_initial = retry_initial_secs
        self._retry_max = retry_max_secs
        # During a database outage longer than spill_after_secs, batches go to spill files instead of waiting in
        # memory (a process that dies then loses nothing); they are written once the database answers again.
        self._spill_dir = spill_dir
        self._spill_after = spill_after_secs
        self._outage_since: float | None = None
        self._spilled = False
        self._queue: deque[WriteItem] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_flight: list[WriteItem] = []  # the batch being written (spilled with the queue if never written)
        self._warned_backlog = False
        self.stats = WriterStats()

    # -- producer side (sync, called on the event loop by bus handlers) -------------------------------------------

    def submit(self, item: WriteItem) -> None:
        if isinstance(item, ConvertedEvent):
            self.stats.events_received += 1
        elif isinstance(item, AccountStateRow):
            self.stats.account_states_received += 1
        self._queue.append(item)
        self._idle.clear()
        self._wakeup.set()
        if len(self._queue) >= self._queue_warn_size and not self._warned_backlog:
            self._warned_backlog = True
            log.warning("OMS writer backlog at %d items: PostgreSQL is not keeping up", len(self._queue))

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="oms-writer")

    async def flush(self) -> None:
        """Return once everything submitted so far is in PostgreSQL."""
        if self._task is None:
            raise RuntimeError("OmsWriter.flush() before start()")
        while self._queue or not self._idle.is_set():
            await self._idle.wait()

    async def stop(self, timeout_secs: float | None = None, spill_dir: Path | None = None) -> Path | None:
        """Write everything still queued, then end the writer task.

        With ``timeout_secs``, a PostgreSQL that stays unreachable cannot hold the shutdown forever: what is not
        written by then (the batch being retried and the queue) goes to a spill file in ``spill_dir``, returned,
        which ``recover`` writes on the next start. Nothing accepted is lost either way.
        """
        if self._task is None:
            return None
        try:
            await asyncio.wait_for(self.flush(), timeout_secs)
        except TimeoutError:
            if spill_dir is None:
                raise
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            pending = [*self._in_flight, *self._queue]
            self._queue.clear()
            path = write_spill(spill_dir, pending)
            log.error("PostgreSQL unreachable for %.0f s at shutdown (%s): %d OMS rows kept in %s, written on the "
                      "next start", timeout_secs, self.stats.last_error, len(pending), path)
            return path
        self._stopping = True
        self._wakeup.set()
        await self._task
        self._task = None
        return None

    async def recover(self, spill_dir: Path) -> int:
        """Write the rows a previous run spilled (idempotent), then delete their files; returns how many."""
        count = 0
        for path in spill_files(spill_dir):
            items = read_spill(path)
            for item in items:
                self.submit(item)
            await self.flush()
            path.unlink()
            count += len(items)
            log.warning("Recovered %d OMS rows spilled by an earlier run from %s", len(items), path)
        return count

    # -- consumer side ---------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            if len(self._queue) < self._batch_max_rows and not self._stopping and self._linger_secs > 0:
                # Let a trickle of events gather into one batch: written when full or after the flush interval.
                await asyncio.sleep(self._linger_secs)
            self._wakeup.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._batch_max_rows))]
                self._in_flight = batch
                await self._write_with_retry(batch)
                self._in_flight = []
                if self._spilled and self._outage_since is None:
                    await self._write_spilled()
            if len(self._queue) < self._queue_warn_size:
                self._warned_backlog = False
            self._idle.set()
            if self._stopping:
                return

    async def _write_with_retry(self, batch: list[WriteItem]) -> None:
        delay = self._retry_initial
        while True:
            try:
                async with self._pool.acquire() as conn:
                    await self._write_batch(conn, batch)
                self.stats.batches += 1
                self._outage_since = None
                return
            except _TRANSIENT as exc:
                self.stats.retries += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                now = time.monotonic()
                self._outage_since = self._outage_since or now
                if self._spill_dir is not None and now - self._outage_since >= self._spill_after:
                    self._spill([*batch, *self._queue])
                    self._queue.clear()
                    return
                log.warning("OMS batch of %d not written (%s); retrying in %.2fs", len(batch), exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
            except asyncpg.PostgresError as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                if len(batch) == 1:
                    await self._dead_letter(batch[0], exc)
                    return
                log.warning("OMS batch of %d refused (%s); writing its items one by one", len(batch), exc)
                for item in batch:
                    await self._write_with_retry([item])
                return

    def _spill(self, items: list[WriteItem]) -> None:
        assert self._spill_dir is not None
        path = write_spill(self._spill_dir, items)
        self._spilled = True
        self.stats.spilled += len(items)
        log.error("PostgreSQL unreachable for %.0f s (%s): %d OMS rows kept in %s until it answers again",
                  time.monotonic() - (self._outage_since or time.monotonic()), self.stats.last_error, len(items), path)

    async def _write_spilled(self) -> None:
        """The database answers again: write the spill files, oldest first, deleting each once written."""
        assert self._spill_dir is not None
        for path in spill_files(self._spill_dir):
            items = read_spill(path)
            for start in range(0, len(items), self._batch_max_rows):
                chunk = items[start:start + self._batch_max_rows]
                try:
                    async with self._pool.acquire() as conn:
                        await self._write_batch(conn, chunk)
                except _TRANSIENT:
                    return  # down again: the file stays (rewriting its first chunks later changes nothing)
                except asyncpg.PostgresError:
                    await self._write_with_retry(chunk)  # item by item, refused ones to dead_letters
            path.unlink()
            log.warning("Wrote %d OMS rows back from %s", len(items), path)
        self._spilled = False

    async def _write_batch(self, conn: asyncpg.Connection, batch: list[WriteItem]) -> None:
        events = [item for item in batch if isinstance(item, ConvertedEvent)]
        async with conn.transaction():
            for item in batch:
                if isinstance(item, AccountRow):
                    await conn.execute(sql.UPSERT_ACCOUNT, *msgspec.structs.astuple(item))
            if events:
                await self._write_order_events(conn, events)
            for item in batch:
                if isinstance(item, AccountStateRow):
                    await self._write_account_state(conn, item)

    async def _write_order_events(self, conn: asyncpg.Connection, events: list[ConvertedEvent]) -> None:
        await conn.execute(sql.CREATE_STAGING_TABLES)
        await conn.copy_records_to_table(
            sql.STAGE_ORDER_EVENTS, records=[astuple(e.event) for e in events], columns=sql.STAGE_ORDER_EVENT_COLUMNS
        )
        new_ids = {record[0] for record in await conn.fetch(sql.INSERT_STAGED_ORDER_EVENTS)}
        # Keep the first occurrence of each new event (a batch may hold the same event twice).
        fresh: list[ConvertedEvent] = []
        for event in events:
            if event.event.event_id in new_ids:
                new_ids.discard(event.event.event_id)
                fresh.append(event)
        self.stats.events_written += len(fresh)
        self.stats.duplicates_ignored += len(events) - len(fresh)
        if not fresh:
            return
        changes = fold_changes([e.change for e in fresh])
        await conn.copy_records_to_table(sql.STAGE_ORDER_CHANGES, records=[astuple(c) for c in changes])
        await conn.execute(sql.APPLY_STAGED_ORDER_CHANGES)
        fills = [e.fill for e in fresh if e.fill is not None]
        if fills:
            await conn.copy_records_to_table(sql.STAGE_FILLS, records=[astuple(f) for f in fills])
            status = await conn.execute(sql.INSERT_STAGED_FILLS)
            self.stats.fills_written += int(status.rsplit(" ", 1)[-1])
            for conflict in await conn.fetch(sql.CONFLICTING_STAGED_FILLS):  # after the insert: batch-internal too
                self.stats.dead_letters += 1
                log.error("OMS fill conflict, kept in dead_letters: %s", conflict["error"])
        # Totals follow new fills, and also a quantity that arrives after the fills (a late OrderInitialized, or an
        # OrderUpdated): the same fills may then mean FILLED.
        resized = [c for c in changes if c.quantity is not None]
        for trader_id, order_ids in _group_order_ids([*fills, *resized]):
            await conn.execute(sql.RECOMPUTE_ORDER_FILLS, trader_id, order_ids)

    async def _write_account_state(self, conn: asyncpg.Connection, state: AccountStateRow) -> None:
        """A new state goes to the history (or, equal to the previous one, to the repeats) and sets each currency's
        balance it is newer for; the account's newest state also replaces its margins (as NautilusTrader's
        ``MarginAccount.apply`` does). A state already written (a replay) changes nothing."""
        if await conn.fetchval(sql.ACCOUNT_STATE_SEEN, state.trader_id, state.event_id):
            return
        balances, margins = state_snapshot(state)
        inserted = await conn.fetchval(
            sql.INSERT_ACCOUNT_STATE, state.trader_id, state.event_id, state.account_id,
            msgspec.json.encode(balances).decode(), msgspec.json.encode(margins).decode(),
            state.ts_event, state.ts_event_ns,
        )
        if inserted is None:
            await conn.execute(sql.INSERT_ACCOUNT_STATE_REPEAT, state.trader_id, state.event_id, state.account_id,
                               state.ts_event_ns)
        newest = await conn.fetchval(
            sql.TOUCH_ACCOUNT, state.trader_id, state.account_id, state.margin_model, state.base_currency,
            state.ts_event, state.ts_event_ns,
        )
        if state.balances:
            await conn.executemany(sql.UPSERT_BALANCE, [msgspec.structs.astuple(b) for b in state.balances])
        if newest is False:
            return  # an older state arriving late: the newer one's margins stand
        if state.margins:
            await conn.executemany(sql.UPSERT_MARGIN, [msgspec.structs.astuple(m) for m in state.margins])
        await conn.execute(
            sql.DELETE_STALE_MARGINS, state.trader_id, state.account_id, state.ts_event_ns,
            [m.margin_key for m in state.margins],
        )

    async def _dead_letter(self, item: WriteItem, exc: Exception) -> None:
        if isinstance(item, ConvertedEvent):
            trader_id, kind, event_id, payload = (
                item.event.trader_id, "order_event", item.event.event_id, item.event.payload
            )
        elif isinstance(item, AccountStateRow):
            trader_id, kind, event_id = item.trader_id, "account_state", item.event_id
            payload = msgspec.json.encode(item).decode()
        else:
            trader_id, kind, event_id = item.trader_id, "account", item.account_id
            payload = msgspec.json.encode(item).decode()
        log.error("OMS could not store %s %s (%s: %s); kept in dead_letters", kind, event_id, type(exc).__name__, exc)
        self.stats.dead_letters += 1
        delay = self._retry_initial
        while True:
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute(sql.INSERT_DEAD_LETTER, trader_id, kind, event_id, payload, str(exc))
                return
            except _TRANSIENT:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)


def _group_order_ids(rows: Iterable[Any]) -> list[tuple[str, list[str]]]:
    """The client order ids of fill or change rows, per trader."""
    by_trader: dict[str, set[str]] = {}
    for row in rows:
        by_trader.setdefault(row.trader_id, set()).add(row.client_order_id)
    return [(trader, sorted(ids)) for trader, ids in by_trader.items()]
