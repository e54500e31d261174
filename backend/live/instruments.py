"""NautilusTrader instruments -> what the unified tables record about them (pure, no I/O)."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.instruments import Instrument

from backend.live import canonical
from backend.live.models import InstrumentRow
from backend.live.oms.convert import InstrumentRef
from backend.live.timeutil import ns_to_datetime
from backend.live.venues import unified_venue


def instrument_ref(instrument: Instrument) -> InstrumentRef:
    return InstrumentRef(
        instrument_id=instrument.id.value,
        canonical_id=canonical.canonical_id(instrument),
        venue=unified_venue(instrument.id.venue.value),
        multiplier=canonical.base_quantity(instrument, Decimal(1)),
    )


def instrument_row(trader_id: str, instrument: Instrument) -> InstrumentRow:
    expiry_ns = getattr(instrument, "expiration_ns", None)
    settlement = getattr(instrument, "settlement_currency", None) or instrument.quote_currency
    base = getattr(instrument, "base_currency", None) or instrument.get_base_currency()
    return InstrumentRow(
        trader_id=trader_id,
        instrument_id=instrument.id.value,
        canonical_id=canonical.canonical_id(instrument),
        venue=unified_venue(instrument.id.venue.value),
        venue_symbol=instrument.raw_symbol.value,
        kind=canonical.product_of(instrument),
        base_currency=base.code,
        quote_currency=instrument.quote_currency.code,
        settle_currency=settlement.code,
        is_inverse=bool(instrument.is_inverse),
        contract_multiplier=canonical.base_quantity(instrument, Decimal(1)),
        price_increment=instrument.price_increment.as_decimal(),
        size_increment=instrument.size_increment.as_decimal(),
        min_quantity=instrument.min_quantity.as_decimal() if instrument.min_quantity is not None else None,
        min_notional=instrument.min_notional.as_decimal() if instrument.min_notional is not None else None,
        expiry=ns_to_datetime(expiry_ns) if expiry_ns else None,
    )
