"""Unified Position Tracker: NautilusTrader's positions, per canonical instrument, into PostgreSQL.

Three layers, each testable on its own:
- ``read_positions`` reads NautilusTrader's cache (open and closed positions) into exact ``VenuePosition``
  entries, one per venue account and canonical instrument;
- ``aggregate`` (pure) nets the entries of one canonical instrument into a ``PositionRow`` in base units;
- ``PositionSync`` writes the rows that changed since it last wrote them, with a history row each, on position
  events and on a timer. A position that went flat stays as a zero row (with its history).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import asyncpg
import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.enums import OrderSide, PriceType
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


def exact_avg_open(position: Position) -> Decimal:
    """The average open price of a position, recomputed from its fills in exact decimals.

    NautilusTrader keeps ``avg_px_open`` as a float (50002.7 comes back as 50002.700000000004); the fills carry exact
    prices. Opening and increasing fills average in, reducing fills leave it, a flip restarts at the flipping price.
    """
    quantity = Decimal(0)
    average = Decimal(0)
    for fill in position.events:
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
    return average


def read_positions(cache: Cache, ref_for: Callable[[Instrument], InstrumentRef]) -> dict[str, dict[str, VenuePosition]]:
    """Every venue account's position per canonical id, from the cache's open and closed positions.

    Closed positions still count towards realized PnL; several strategies' positions in one instrument and account
    are merged into one entry.
    """
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for position in cache.positions():
        groups[(position.account_id.value, position.instrument_id.value)].append(position)

    result: dict[str, dict[str, VenuePosition]] = defaultdict(dict)
    for (account_id, instrument_id), positions in sorted(groups.items()):
        instrument = cache.instrument(positions[0].instrument_id)
        if instrument is None:
            log.warning("Position in %s skipped: instrument not in cache", instrument_id)
            continue
        ref = ref_for(instrument)
        mark = _mark_price(cache, instrument)
        open_positions = [p for p in positions if p.is_open]
        signed_qty = sum((p.signed_decimal_qty() for p in open_positions), Decimal(0))
        entry_qty = sum((abs(p.signed_decimal_qty()) for p in open_positions), Decimal(0))
        avg_entry = (
            sum((abs(p.signed_decimal_qty()) * exact_avg_open(p) for p in open_positions), Decimal(0)) / entry_qty
            if entry_qty
            else None
        )
        realized = sum((p.realized_pnl.as_decimal() for p in positions if p.realized_pnl is not None), Decimal(0))
        unrealized = Decimal(0)
        if mark is not None:
            unrealized = sum((p.unrealized_pnl(mark).as_decimal() for p in open_positions), Decimal(0))
        entry = VenuePosition(
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
            ts_ns=max(p.ts_last for p in positions),
        )
        key = account_id if account_id not in result[ref.canonical_id] else f"{account_id}:{instrument_id}"
        result[ref.canonical_id][key] = entry
    return result


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
    """Keeps ``unified_positions`` equal to NautilusTrader's positions, writing only rows that changed."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        trader_id: str,
        read: Callable[[], dict[str, dict[str, VenuePosition]]],
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
            current = {
                canonical_id: aggregate(self._trader_id, canonical_id, entries, self._pnl_currency_for(canonical_id), ts_ns)
                for canonical_id, entries in self._read().items()
            }
            for canonical_id, previous in self._written.items():
                if canonical_id not in current and previous.net_quantity != 0:
                    current[canonical_id] = flat(previous, ts_ns)
            changed = [
                row for canonical_id, row in sorted(current.items())
                if canonical_id not in self._written or _content(self._written[canonical_id]) != _content(row)
            ]
            if changed:
                async with self._pool.acquire() as conn, conn.transaction():
                    args = [_args(row) for row in changed]
                    await conn.executemany(sql.UPSERT_POSITION, args)
                    await conn.executemany(sql.INSERT_POSITION_HISTORY, args)
                for row in changed:
                    self._written[row.canonical_id] = row
            self.syncs += 1
            self.rows_written += len(changed)
            return len(changed)

