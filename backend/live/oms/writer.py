"""The batched, idempotent PostgreSQL writer behind the Unified OMS, fed through the write-ahead journal.

``submit`` is called from NautilusTrader's message-bus handlers: it appends the item to the journal
(``oms/journal.py``: on disk before ``submit`` returns, fsynced within a few milliseconds by a thread) and to an
in-memory queue, so the event loop never waits on the database. One writer task drains the queue: once anything is
queued it waits at most ``flush_interval_ms`` for more (not at all when a full batch is waiting), takes up to
``batch_max_rows`` items and writes them in one transaction: events and fills are COPYed into temporary staging
tables and inserted from there, order rows are folded to one change per order and upserted. While a batch is being
written the next one accumulates, so batches grow with load. After each commit the journal's committed position
moves on; on start, everything after it (what a crash or an outage left unwritten) is written again.

Nothing accepted is dropped: a batch that fails on a lost connection is retried (with back-off) until it is
written; a batch that fails on bad data is split and written item by item, and an item the database refuses is
stored in ``dead_letters`` with the cause. Replayed items change nothing: order events and account states are
keyed by their event ids, fills by venue, account, instrument and trade id; order rows change only for events that
were new. The stats count committed rows only: a batch cut off by an outage and retried counts once.

During a long outage the queue would grow without bound: past ``memory_max_items`` new items are kept in the
journal only and read back from it when the queue has room again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg
import msgspec
from msgspec.structs import astuple

from backend.live import sql
from backend.live.models import AccountRow, AccountStateRow
from backend.live.oms.account_states import write_account_states
from backend.live.oms.convert import ConvertedEvent, fold_changes
from backend.live.oms.journal import Journal, WriteItem

log = logging.getLogger(__name__)


# Errors after which the same write may succeed when retried (the server or the network, not the data).
TRANSIENT_DB_ERRORS = (
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
    events_written: int = 0  # new order events committed
    duplicates_ignored: int = 0
    fills_written: int = 0
    account_states_received: int = 0
    batches: int = 0
    retries: int = 0
    recovered: int = 0  # items an earlier run left in the journal, queued again at start
    journal_errors: int = 0  # appends the journal refused (disk full ...): those items are in memory only
    dead_letters: int = 0
    last_error: str | None = None


class _BatchCounts(msgspec.Struct):
    """What one transaction wrote; added to the stats only once it committed."""

    events_written: int = 0
    duplicates_ignored: int = 0
    fills_written: int = 0
    fill_conflicts: list[str] = msgspec.field(default_factory=list)


class OmsWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        journal: Journal | None = None,
        batch_max_rows: int = 2000,
        flush_interval_ms: float = 10.0,
        queue_warn_size: int = 1_000_000,
        memory_max_items: int = 1_000_000,
        retry_initial_secs: float = 0.05,
        retry_max_secs: float = 5.0,
    ) -> None:
        self._pool = pool
        self.journal = journal
        self._batch_max_rows = batch_max_rows
        self._linger_secs = flush_interval_ms / 1000
        self._queue_warn_size = queue_warn_size
        self._memory_max = memory_max_items if journal is not None else None
        self._retry_initial = retry_initial_secs
        self._retry_max = retry_max_secs
        self._queue: deque[tuple[int, WriteItem]] = deque()  # (journal seq, 0 without one; item)
        self._journal_only_from: int | None = None  # first seq kept in the journal only (the queue was full)
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by start(): submit may come from other threads
        self._loop_thread: int | None = None
        self._submit_lock = threading.Lock()
        self._stopping = False
        self._warned_backlog = False
        self._journal_failing = False
        self._in_flight = 0  # items of the batch being written
        self.stats = WriterStats()
        # (seconds the commit took, ts_init of its order events): the metrics' observation point (ops/metrics.py)
        self.on_batch_committed: Callable[[float, list[int]], None] | None = None

    # -- producer side (sync, called by bus handlers: on the event loop, or on a NautilusTrader timer thread) ------

    def submit(self, item: WriteItem) -> None:
        if isinstance(item, ConvertedEvent):
            self.stats.events_received += 1
        elif isinstance(item, AccountStateRow):
            self.stats.account_states_received += 1
        with self._submit_lock:  # journal order = queue order, also when two threads submit at once
            seq = self._journal_append(item)
            if self._journal_only_from is None and self._memory_max is not None and seq and \
                    len(self._queue) >= self._memory_max:
                self._journal_only_from = seq
                log.warning("OMS writer backlog at %d items in memory: further items wait in the journal only",
                            len(self._queue))
            if self._journal_only_from is None or not seq:
                self._queue.append((seq, item))
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._wake()
        else:  # a NautilusTrader timer callback on a Rust thread: asyncio events are set on their own loop only
            self._loop.call_soon_threadsafe(self._wake)
        if len(self._queue) >= self._queue_warn_size and not self._warned_backlog:
            self._warned_backlog = True
            log.warning("OMS writer backlog at %d items: PostgreSQL is not keeping up", len(self._queue))

    def _wake(self) -> None:
        self._idle.clear()
        self._wakeup.set()

    def _journal_append(self, item: WriteItem) -> int:
        if self.journal is None:
            return 0
        try:
            seq = self.journal.append(item)
        except OSError as exc:  # the item stays in memory; said once per failing stretch, not per item
            self.stats.journal_errors += 1
            if not self._journal_failing:
                self._journal_failing = True
                log.error("OMS journal %s refused an append (%s): items are held in memory only until it works",
                          self.journal.directory, exc)
            return 0
        if self._journal_failing:
            self._journal_failing = False
            log.warning("OMS journal %s takes appends again", self.journal.directory)
        return seq

    @property
    def queue_depth(self) -> int:
        """Items not yet in PostgreSQL: in memory, plus those kept in the journal only."""
        if self._journal_only_from is not None and self.journal is not None:
            return len(self._queue) + self.journal.last_seq - self._journal_only_from + 1
        return len(self._queue)

    @property
    def journal_depth(self) -> int:
        """Items in the journal that PostgreSQL does not have yet (0 without a journal)."""
        return self.journal.pending if self.journal is not None else 0

    @property
    def journal_accepting(self) -> bool:
        """The journal takes appends now (False without one, or while it refuses them: disk full ...)."""
        return self.journal is not None and not self._journal_failing

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the journal (queueing what an earlier run left unwritten first) and start the writer task."""
        if self._task is not None:
            return
        if self.journal is not None:
            recovered = self.journal.open()
            self.stats.recovered = len(recovered)
            keep = recovered if self._memory_max is None else recovered[:self._memory_max]
            self._queue.extend((r.seq, r.item) for r in keep)
            if len(keep) < len(recovered):
                self._journal_only_from = recovered[len(keep)].seq
            if recovered:
                self._idle.clear()
                self._wakeup.set()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._task = self._loop.create_task(self._run(), name="oms-writer")

    async def flush(self) -> None:
        """Return once everything submitted so far is in PostgreSQL."""
        if self._task is None:
            raise RuntimeError("OmsWriter.flush() before start()")
        while self._queue or self._journal_only_from is not None or not self._idle.is_set():
            await self._idle.wait()

    async def stop(self, timeout_secs: float | None = None) -> int:
        """Write everything still queued, end the writer task and close the journal; returns how many items were
        left unwritten (they wait in the journal for the next start).

        With ``timeout_secs``, a PostgreSQL that stays unreachable cannot hold the shutdown: what is not written by
        then stays in the journal, and one log line says how many items and where.
        """
        if self._task is None:
            self._close_journal()
            return 0
        left = 0
        try:
            await asyncio.wait_for(self.flush(), timeout_secs)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            left = self.journal_depth if self.journal is not None else self.queue_depth + self._in_flight
            where = f"wait in the OMS journal {self.journal.directory}, written on the next start" \
                if self.journal is not None else "are lost (the writer runs without a journal)"
            log.error("PostgreSQL did not take the last OMS items within %.0f s at shutdown (%s): %d items %s",
                      timeout_secs, self.stats.last_error or "no answer", left, where)
        else:
            self._stopping = True
            self._wakeup.set()
            await self._task
            if self.journal is not None:
                log.info("OMS writer stopped: every item is in PostgreSQL, 0 items wait in the OMS journal %s",
                         self.journal.directory)
        finally:
            self._task = None
            self._close_journal()
        return left

    def _close_journal(self) -> None:
        if self.journal is not None:
            self.journal.close()

    # -- consumer side ---------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            if len(self._queue) < self._batch_max_rows and not self._stopping and self._linger_secs > 0:
                # Let a trickle of events gather into one batch: written when full or after the flush interval.
                await asyncio.sleep(self._linger_secs)
            self._wakeup.clear()
            while self._queue or self._journal_only_from is not None:
                if not self._queue:
                    self._refill_from_journal()
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._batch_max_rows))]
                if not batch:
                    continue
                self._in_flight = len(batch)
                await self._write_with_retry([item for _, item in batch])
                self._in_flight = 0
                self._mark_committed(max(seq for seq, _ in batch))
            if len(self._queue) < self._queue_warn_size:
                self._warned_backlog = False
            self._idle.set()
            if self._stopping:
                return

    def _mark_committed(self, seq: int) -> None:
        if not seq or self.journal is None:
            return
        try:
            self.journal.mark_committed(seq)
        except OSError as exc:  # the rows are in PostgreSQL; a stale position only means more is written again
            log.warning("OMS journal %s: committed position not saved (%s)", self.journal.directory, exc)

    def _refill_from_journal(self) -> None:
        assert self.journal is not None and self._journal_only_from is not None and self._memory_max is not None
        records = self.journal.read_from(self._journal_only_from, self._memory_max)
        self._queue.extend((r.seq, r.item) for r in records)
        next_seq = records[-1].seq + 1 if records else self.journal.last_seq + 1
        self._journal_only_from = next_seq if next_seq <= self.journal.last_seq else None

    async def _write_with_retry(self, batch: list[WriteItem]) -> None:
        delay = self._retry_initial
        while True:
            started = time.monotonic()
            try:
                async with self._pool.acquire() as conn:
                    counts = await self._write_batch(conn, batch)
            except TRANSIENT_DB_ERRORS as exc:
                self.stats.retries += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("OMS batch of %d not written (%s); retrying in %.2fs (%d items wait in the journal)",
                            len(batch), exc, delay, self.journal_depth)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            except asyncpg.PostgresError as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                if len(batch) == 1:
                    await self._dead_letter(batch[0], exc)
                    return
                log.warning("OMS batch of %d refused (%s); writing its items one by one", len(batch), exc)
                for item in batch:
                    await self._write_with_retry([item])
                return
            self.stats.batches += 1
            if self.on_batch_committed is not None:
                self.on_batch_committed(time.monotonic() - started,
                                        [item.event.ts_init_ns for item in batch if isinstance(item, ConvertedEvent)])
            self.stats.events_written += counts.events_written
            self.stats.duplicates_ignored += counts.duplicates_ignored
            self.stats.fills_written += counts.fills_written
            for conflict in counts.fill_conflicts:
                self.stats.dead_letters += 1
                log.error("OMS fill conflict, kept in dead_letters: %s", conflict)
            return

    async def _write_batch(self, conn: asyncpg.Connection, batch: list[WriteItem]) -> _BatchCounts:
        events = [item for item in batch if isinstance(item, ConvertedEvent)]
        counts = _BatchCounts()
        async with conn.transaction():
            for item in batch:
                if isinstance(item, AccountRow):
                    await conn.execute(sql.UPSERT_ACCOUNT, *msgspec.structs.astuple(item))
            if events:
                await self._write_order_events(conn, events, counts)
            states = [item for item in batch if isinstance(item, AccountStateRow)]
            if states:
                await write_account_states(conn, states)
        return counts

    async def _write_order_events(self, conn: asyncpg.Connection, events: list[ConvertedEvent],
                                  counts: _BatchCounts) -> None:
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
        counts.events_written += len(fresh)
        counts.duplicates_ignored += len(events) - len(fresh)
        if not fresh:
            return
        changes = fold_changes([e.change for e in fresh])
        await conn.copy_records_to_table(sql.STAGE_ORDER_CHANGES, records=[astuple(c) for c in changes],
                                         columns=sql.STAGE_ORDER_CHANGE_COLUMNS)
        await conn.execute(sql.APPLY_STAGED_ORDER_CHANGES)
        fills = [e.fill for e in fresh if e.fill is not None]
        if fills:
            await conn.copy_records_to_table(sql.STAGE_FILLS, records=[astuple(f) for f in fills],
                                             columns=sql.STAGE_FILL_COLUMNS)
            status = await conn.execute(sql.INSERT_STAGED_FILLS)
            counts.fills_written += int(status.rsplit(" ", 1)[-1])
            # after the insert: batch-internal conflicts too
            counts.fill_conflicts += [c["error"] for c in await conn.fetch(sql.CONFLICTING_STAGED_FILLS)]
        # Totals follow new fills, and also a quantity that arrives after the fills (a late OrderInitialized, or an
        # OrderUpdated): the same fills may then mean FILLED.
        resized = [c for c in changes if c.quantity is not None]
        for trader_id, order_ids in _group_order_ids([*fills, *resized]):
            await conn.execute(sql.RECOMPUTE_ORDER_FILLS, trader_id, order_ids)

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
            except TRANSIENT_DB_ERRORS:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)


def _group_order_ids(rows: Iterable[Any]) -> list[tuple[str, list[str]]]:
    """The client order ids of fill or change rows, per trader."""
    by_trader: dict[str, set[str]] = {}
    for row in rows:
        by_trader.setdefault(row.trader_id, set()).add(row.client_order_id)
    return [(trader, sorted(ids)) for trader, ids in by_trader.items()]
