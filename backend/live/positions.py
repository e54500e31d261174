"""Unified Position Tracker: NautilusTrader's positions, per canonical instrument, into PostgreSQL.

Layers, each testable on its own:
- ``PositionTracker`` follows NautilusTrader's cache incrementally: position events, fills and price updates mark
  (account, instrument) groups as touched, and a cycle recomputes only those groups. Each open position's exact
  average entry is folded from its new fills only, closed positions' realized PnL is kept as a running sum, so a
  cycle costs what changed, never how many fills the account's history holds (``bench/position_sync.py``);
- ``read_positions`` is the full recompute from every fill in the cache: the reference the tracker must equal
  (tests/live/test_positions.py) and the bench's baseline;
- ``aggregate`` (pure) nets the entries of one canonical instrument into a ``PositionRow`` in base units;
- ``PositionSync`` writes the rows that changed since it last wrote them, with a history row each, on position
  events and on a timer. A position that went flat stays as a zero row (with its history).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.enums import OrderSide, PriceType
from nautilus_trader.model.events import OrderFilled, PositionEvent
from nautilus_trader.model.identifiers import InstrumentId, PositionId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.position import Position

from backend.live import sql
from backend.live.models import PositionRow, VenuePosition
from backend.live.oms.convert import InstrumentRef
from backend.live.oms.writer import TRANSIENT_DB_ERRORS
from backend.live.timeutil import ns_to_datetime

log = logging.getLogger(__name__)


def _side(base_quantity: Decimal) -> str:
    return "LONG" if base_quantity > 0 else "SHORT" if base_quantity < 0 else "FLAT"


def _mark_price(cache: Cache, instrument: Instrument) -> Price | None:
    """The freshest price to value an open position: mark, else last trade, else quote mid."""
    mark = cache.mark_price(instrument.id)
    if mark is not None:
        return mark.value
    for price_type in (PriceType.LAST, PriceType.MID):
        price = cache.price(instrument.id, price_type)
        if price is not None:
            return price
    return None


def _fold(quantity: Decimal, average: Decimal, fills: Iterable[OrderFilled]) -> tuple[Decimal, Decimal]:
    """Fold fills into a (signed quantity, exact average open price) pair.

    Opening and increasing fills average in, reducing fills leave it, a flip restarts at the flipping price.
    """
    for fill in fills:
        signed = fill.last_qty.as_decimal() if fill.order_side == OrderSide.BUY else -fill.last_qty.as_decimal()
        price = fill.last_px.as_decimal()
        if quantity == 0 or (quantity > 0) == (signed > 0):
            average = (average * abs(quantity) + price * abs(signed)) / (abs(quantity) + abs(signed))
            quantity += signed
            continue
        remaining = quantity + signed
        if remaining != 0 and (remaining > 0) != (quantity > 0):
            average = price
        quantity = remaining
    return quantity, average


def exact_avg_open(position: Position) -> Decimal:
    """The average open price of a position, recomputed from its fills in exact decimals.

    NautilusTrader keeps ``avg_px_open`` as a float (50002.7 comes back as 50002.700000000004); the fills carry exact
    prices.
    """
    return _fold(Decimal(0), Decimal(0), position.events)[1]


def _venue_entry(
    ref: InstrumentRef, account_id: str, instrument_id: str, mark: Price | None, open_positions: list[tuple[Position, Decimal]],
    realized: Decimal, ts_ns: int,
) -> VenuePosition:
    """One venue account's entry from its open positions (each with its exact average) and its realized PnL."""
    signed_qty = sum((p.signed_decimal_qty() for p, _ in open_positions), Decimal(0))
    entry_qty = sum((abs(p.signed_decimal_qty()) for p, _ in open_positions), Decimal(0))
    avg_entry = (
        sum((abs(p.signed_decimal_qty()) * average for p, average in open_positions), Decimal(0)) / entry_qty
        if entry_qty
        else None
    )
    unrealized = Decimal(0)
    if mark is not None:
        unrealized = sum((p.unrealized_pnl(mark).as_decimal() for p, _ in open_positions), Decimal(0))
    return VenuePosition(
        venue=ref.venue,
        account_id=account_id,
        instrument_id=instrument_id,
        side=_side(signed_qty),
        quantity=abs(signed_qty),
        base_quantity=signed_qty * ref.multiplier,
        avg_entry_price=avg_entry,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        mark_price=mark.as_decimal() if mark is not None else None,
        ts_ns=ts_ns,
    )


def _keyed(groups: Iterable[tuple[tuple[str, str], VenuePosition]]) -> dict[str, VenuePosition]:
    """``venue_positions`` keys of one canonical instrument: the account id, ``account:instrument`` for a second
    instrument of the same account (groups in (account, instrument) order)."""
    result: dict[str, VenuePosition] = {}
    for (account_id, instrument_id), entry in sorted(groups, key=lambda item: item[0]):
        result[account_id if account_id not in result else f"{account_id}:{instrument_id}"] = entry
    return result


def read_positions(cache: Cache, ref_for: Callable[[Instrument], InstrumentRef]) -> dict[str, dict[str, VenuePosition]]:
    """Every venue account's position per canonical id, recomputed from every fill of every position in the cache.

    Closed positions still count towards realized PnL; several strategies' positions in one instrument and account
    are merged into one entry. The node uses ``PositionTracker`` (same result, incremental); this is its reference.
    """
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for position in cache.positions():
        groups[(position.account_id.value, position.instrument_id.value)].append(position)

    by_canonical: dict[str, list[tuple[tuple[str, str], VenuePosition]]] = defaultdict(list)
    for (account_id, instrument_id), positions in sorted(groups.items()):
        instrument = cache.instrument(positions[0].instrument_id)
        if instrument is None:
            log.warning("Position in %s skipped: instrument not in cache", instrument_id)
            continue
        ref = ref_for(instrument)
        realized = sum((p.realized_pnl.as_decimal() for p in positions if p.realized_pnl is not None), Decimal(0))
        open_positions = [(p, exact_avg_open(p)) for p in sorted(positions, key=_position_key) if p.is_open]
        entry = _venue_entry(ref, account_id, instrument_id, _mark_price(cache, instrument), open_positions, realized,
                             max(p.ts_last for p in positions))
        by_canonical[ref.canonical_id].append(((account_id, instrument_id), entry))
    return {canonical_id: _keyed(entries) for canonical_id, entries in by_canonical.items()}


def _position_key(position: Position) -> str:
    return position.id.value


class _Folded:
    """An open position's exact average and signed quantity, folded from its first ``count`` fills."""

    __slots__ = ("average", "count", "position", "quantity", "ts_opened")

    def __init__(self, position: Position) -> None:
        self.position = position
        self.ts_opened = position.ts_opened
        self.quantity, self.average = _fold(Decimal(0), Decimal(0), position.events)
        self.count = position.event_count

    def follows(self, position: Position) -> bool:
        """Whether ``position`` is this one with fills appended (not a reopened or rebuilt one); the caller also checks
        the folded quantity against NautilusTrader's and folds again from the start when they differ."""
        return position is self.position and position.ts_opened == self.ts_opened and position.event_count >= self.count

    def advance(self, position: Position) -> None:
        new = position.event_count - self.count
        if new:
            fills = [position.last_event] if new == 1 else position.events[self.count:]
            self.quantity, self.average = _fold(self.quantity, self.average, fills)
            self.count = position.event_count


class _Group:
    """One (account, instrument): its open positions' folds, its closed positions' realized PnL as a running sum."""

    __slots__ = ("closed", "closed_realized", "closed_ts", "instrument_id", "open")

    def __init__(self, instrument_id: InstrumentId) -> None:
        self.instrument_id = instrument_id
        self.open: dict[str, _Folded] = {}
        self.closed: dict[str, Decimal] = {}
        self.closed_realized = Decimal(0)
        self.closed_ts = 0

    def apply(self, position: Position) -> None:
        position_id = position.id.value
        if self.closed.pop(position_id, None) is not None:  # closed, opened again (NETTING reopens under the same id)
            self.closed_realized = sum(self.closed.values(), Decimal(0))  # a sum, not a difference: the same scale
        if position.is_open:
            folded = self.open.get(position_id)
            if folded is not None and folded.follows(position):
                folded.advance(position)
                if folded.quantity == position.signed_decimal_qty():
                    return
            self.open[position_id] = _Folded(position)
            return
        self.open.pop(position_id, None)
        realized = position.realized_pnl.as_decimal() if position.realized_pnl is not None else Decimal(0)
        self.closed[position_id] = realized
        self.closed_realized += realized
        self.closed_ts = max(self.closed_ts, position.ts_last)


class PositionChanges(msgspec.Struct, frozen=True):
    """What a read returns: the entries of every canonical instrument that may have changed; ``complete`` when
    they are all the positions there are (a canonical instrument missing from a complete read went flat)."""

    entries: dict[str, dict[str, VenuePosition]]
    complete: bool


def everything(read: Callable[[], dict[str, dict[str, VenuePosition]]]) -> Callable[[], PositionChanges]:
    """A full read (e.g. ``read_positions``) as a complete ``PositionChanges`` read for ``PositionSync``."""
    return lambda: PositionChanges(read(), complete=True)


class PositionTracker:
    """NautilusTrader's positions, recomputed per (account, instrument) group only where something changed.

    ``subscribe`` listens to position events, fills and prices on the message bus and only records what they touched
    (a set add; the handlers never block the loop); ``read`` (the sync cycle) recomputes the touched groups from the
    cache and returns their canonical instruments. The first read scans the whole cache once.
    """

    def __init__(self, cache: Cache, ref_for: Callable[[Instrument], InstrumentRef]) -> None:
        self._cache = cache
        self._ref_for = ref_for
        self._groups: dict[tuple[str, str], _Group] = {}
        self._entries: dict[str, dict[tuple[str, str], VenuePosition]] = defaultdict(dict)  # per canonical id
        self._canonical: dict[str, InstrumentRef] = {}  # instrument id -> ref
        self._instrument_groups: dict[InstrumentId, set[tuple[str, str]]] = defaultdict(set)
        self._touched_positions: set[PositionId] = set()
        self._touched_instruments: set[InstrumentId] = set()
        self._pending: set[tuple[str, str]] = set()  # groups whose instrument was not in the cache yet
        self._scanned = False
        self.groups_recomputed = 0

    def subscribe(self, msgbus: Any) -> None:
        msgbus.subscribe(topic="events.position.*", handler=self.on_position_event)
        msgbus.subscribe(topic="events.order.*", handler=self.on_order_event)
        for topic in ("data.mark_prices.*", "data.trades.*", "data.quotes.*"):
            msgbus.subscribe(topic=topic, handler=self.on_price)

    def on_position_event(self, event: PositionEvent) -> None:
        self._touched_positions.add(event.position_id)

    def on_order_event(self, event: Any) -> None:
        if isinstance(event, OrderFilled):
            if event.position_id is not None:
                self._touched_positions.add(event.position_id)
            else:
                self._touched_instruments.add(event.instrument_id)

    def on_price(self, data: Any) -> None:
        """A mark, trade or quote: the instrument's groups revalue (a flat one shows the mark price too)."""
        if data.instrument_id in self._instrument_groups:
            self._touched_instruments.add(data.instrument_id)

    def read(self) -> PositionChanges:
        if not self._scanned:
            positions = self._cache.positions()
        else:
            positions = [p for p in map(self._cache.position, self._touched_positions) if p is not None]
            for instrument_id in self._touched_instruments:
                if instrument_id not in self._instrument_groups:  # a fill without a position id: look it up
                    positions.extend(self._cache.positions(instrument_id=instrument_id))
        touched = set(self._pending)
        for instrument_id in self._touched_instruments:
            touched.update(self._instrument_groups.get(instrument_id, ()))
        self._touched_positions.clear()
        self._touched_instruments.clear()
        for position in positions:
            key = (position.account_id.value, position.instrument_id.value)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(position.instrument_id)
                self._instrument_groups[position.instrument_id].add(key)
            group.apply(position)
            touched.add(key)
        changed = {canonical_id for canonical_id in map(self._recompute, sorted(touched)) if canonical_id is not None}
        complete, self._scanned = not self._scanned, True
        self.groups_recomputed += len(touched)
        return PositionChanges({c: _keyed(self._entries[c].items()) for c in sorted(changed)}, complete=complete)

    def _recompute(self, key: tuple[str, str]) -> str | None:
        group = self._groups[key]
        instrument = self._cache.instrument(group.instrument_id)
        if instrument is None:
            if key not in self._pending:
                log.warning("Position in %s skipped: instrument not in cache", key[1])
            self._pending.add(key)
            return None
        self._pending.discard(key)
        ref = self._canonical.get(key[1])
        if ref is None:
            ref = self._canonical[key[1]] = self._ref_for(instrument)
        folds = [group.open[position_id] for position_id in sorted(group.open)]
        realized = group.closed_realized + sum(
            (f.position.realized_pnl.as_decimal() for f in folds if f.position.realized_pnl is not None), Decimal(0)
        )
        ts_ns = max([group.closed_ts, *(f.position.ts_last for f in folds)])
        self._entries[ref.canonical_id][key] = _venue_entry(
            ref, key[0], key[1], _mark_price(self._cache, instrument), [(f.position, f.average) for f in folds],
            realized, ts_ns,
        )
        return ref.canonical_id


def aggregate(
    trader_id: str, canonical_id: str, entries: dict[str, VenuePosition], pnl_currency: str | None, ts_ns: int
) -> PositionRow:
    """Net position over venue accounts, in base units; the entry price averages the entries on the net side."""
    net = sum((e.base_quantity for e in entries.values()), Decimal(0))
    same_side = [e for e in entries.values() if e.avg_entry_price is not None and e.base_quantity * net > 0]
    weight = sum((abs(e.base_quantity) for e in same_side), Decimal(0))
    avg_entry = (
        sum((abs(e.base_quantity) * e.avg_entry_price for e in same_side), Decimal(0)) / weight  # type: ignore[operator]
        if weight
        else None
    )
    return PositionRow(
        trader_id=trader_id,
        canonical_id=canonical_id,
        net_quantity=net,
        avg_entry_price=avg_entry,
        realized_pnl=sum((e.realized_pnl for e in entries.values()), Decimal(0)),
        unrealized_pnl=sum((e.unrealized_pnl for e in entries.values()), Decimal(0)),
        pnl_currency=pnl_currency,
        venue_positions=dict(sorted(entries.items())),
        updated_at=ns_to_datetime(ts_ns),
        updated_ns=ts_ns,
    )


def flat(previous: PositionRow, ts_ns: int) -> PositionRow:
    """The zero row a position leaves when no venue account holds it any more (realized PnL is kept)."""
    entries = {
        key: msgspec.structs.replace(
            e, side="FLAT", quantity=Decimal(0), base_quantity=Decimal(0), unrealized_pnl=Decimal(0), avg_entry_price=None
        )
        for key, e in previous.venue_positions.items()
    }
    return aggregate(previous.trader_id, previous.canonical_id, entries, previous.pnl_currency, ts_ns)


def _content(row: PositionRow) -> tuple:
    """What counts as a change: everything but the row's own timestamps."""
    return msgspec.structs.astuple(row)[2:8]


def _args(row: PositionRow) -> tuple:
    values = list(msgspec.structs.astuple(row))
    values[7] = msgspec.json.encode(row.venue_positions).decode()
    return tuple(values)


class PositionSync:
    """Keeps ``unified_positions`` equal to NautilusTrader's positions, writing only rows that changed.

    ``read`` returns the canonical instruments that may have changed (``PositionTracker.read``, or ``everything(...)``
    for a full recompute). Rows a failed cycle could not write are kept and written by the next one.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        trader_id: str,
        read: Callable[[], PositionChanges],
        pnl_currency_for: Callable[[str], str | None],
        clock_ns: Callable[[], int],
        interval_secs: float = 5.0,
    ) -> None:
        self._pool = pool
        self._trader_id = trader_id
        self._read = read
        self._pnl_currency_for = pnl_currency_for
        self._clock_ns = clock_ns
        self._interval = interval_secs
        self._written: dict[str, PositionRow] = {}
        self._unwritten: dict[str, PositionRow] = {}
        self._lock = asyncio.Lock()
        self._requested = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.syncs = 0
        self.rows_written = 0

    async def load(self) -> None:
        """Read the rows already in PostgreSQL, so a restart compares against them (and flattens stale ones)."""
        for record in await self._pool.fetch(sql.SELECT_POSITIONS, self._trader_id):
            entries = msgspec.json.decode(record["venue_positions"], type=dict[str, VenuePosition])
            self._written[record["canonical_id"]] = PositionRow(
                trader_id=self._trader_id,
                canonical_id=record["canonical_id"],
                net_quantity=record["net_quantity"],
                avg_entry_price=record["avg_entry_price"],
                realized_pnl=record["realized_pnl"],
                unrealized_pnl=record["unrealized_pnl"],
                pnl_currency=record["pnl_currency"],
                venue_positions=entries,
                updated_at=record["updated_at"],
                updated_ns=0,
            )

    def request(self) -> None:
        """Ask for a sync soon (called from position event handlers)."""
        self._requested.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="position-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        try:
            await self.sync()
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("Final position sync not written (PostgreSQL unreachable: %s); the next start writes the "
                        "positions again from the reconciled cache", exc)

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._requested.wait(), timeout=self._interval)
            except TimeoutError:
                pass
            self._requested.clear()
            try:
                await self.sync()
            except (*TRANSIENT_DB_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("Position sync failed (%s); retrying at the next tick", exc)

    async def sync(self) -> int:
        """Write every changed position; returns how many rows changed."""
        async with self._lock:
            ts_ns = self._clock_ns()
            changes = self._read()
            current = dict(self._unwritten)
            current.update(
                (canonical_id, aggregate(self._trader_id, canonical_id, entries, self._pnl_currency_for(canonical_id), ts_ns))
                for canonical_id, entries in changes.entries.items()
            )
            if changes.complete:
                for canonical_id, previous in self._written.items():
                    if canonical_id not in current and previous.net_quantity != 0:
                        current[canonical_id] = flat(previous, ts_ns)
            changed = [
                row for canonical_id, row in sorted(current.items())
                if canonical_id not in self._written or _content(self._written[canonical_id]) != _content(row)
            ]
            self._unwritten = {row.canonical_id: row for row in changed}
            if changed:
                async with self._pool.acquire() as conn, conn.transaction():
                    args = [_args(row) for row in changed]
                    await conn.executemany(sql.UPSERT_POSITION, args)
                    await conn.executemany(sql.INSERT_POSITION_HISTORY, args)
                for row in changed:
                    self._written[row.canonical_id] = row
            self._unwritten = {}
            self.syncs += 1
            self.rows_written += len(changed)
            return len(changed)
