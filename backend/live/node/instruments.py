"""The node's instruments: the ``InstrumentRef`` of each (canonical id, unified venue, multiplier) the conversions
need, and the ``instruments`` rows written once the node is RUNNING (its cache then holds every loaded one)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import msgspec
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from backend.live import sql
from backend.live.instruments import instrument_ref, instrument_row
from backend.live.oms.convert import InstrumentRef
from backend.live.venues import unified_venue

log = logging.getLogger(__name__)


class InstrumentStore:
    """``cache_instrument(instrument_id)`` looks an instrument up in the node's cache (None when it is not there)."""

    def __init__(self, trader_id: str, cache_instrument: Callable[[InstrumentId], Instrument | None]) -> None:
        self.trader_id = trader_id
        self._cache_instrument = cache_instrument
        self._refs: dict[InstrumentId, InstrumentRef] = {}

    def ref_for_instrument(self, instrument: Instrument) -> InstrumentRef:
        ref = self._refs.get(instrument.id)
        if ref is None:
            ref = self._refs[instrument.id] = instrument_ref(instrument)
        return ref

    def ref_for_id(self, instrument_id: InstrumentId) -> InstrumentRef:
        ref = self._refs.get(instrument_id)
        if ref is not None:
            return ref
        instrument = self._cache_instrument(instrument_id)
        if instrument is not None:
            return self.ref_for_instrument(instrument)
        log.warning("Order event for %s, which is not in the cache: filed under its own id", instrument_id)
        return InstrumentRef(instrument_id.value, instrument_id.value, unified_venue(instrument_id.venue.value),
                             Decimal(1))

    async def store(self, pool: Any, instruments: Iterable[Instrument]) -> int:
        """Upsert the ``instruments`` rows of ``instruments``; returns how many."""
        rows = [msgspec.structs.astuple(instrument_row(self.trader_id, i)) for i in instruments]
        if rows:
            async with pool.acquire() as conn:
                await conn.executemany(sql.UPSERT_INSTRUMENT, rows)
        return len(rows)


def pnl_currency(canonical_id: str) -> str | None:
    """The currency PnL is counted in: the settlement currency of a contract (``BTC/USDT:USDT`` -> USDT), else the
    quote currency (``BTC/USDT`` -> USDT)."""
    settle = canonical_id.partition(":")[2].partition("-")[0]
    return settle or canonical_id.partition("/")[2] or None
