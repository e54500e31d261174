"""The pure event -> row conversion, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.live.oms.convert import InstrumentRef, UnsupportedEvent, convert_order_event
from tests.live.order_scripts import REF, limit_order_lifecycle


def test_initialized_carries_the_static_order_fields() -> None:
    init = limit_order_lifecycle(1, [])[0]
    converted = convert_order_event(init, REF)
    change = converted.change
    assert (change.side, change.order_type, change.time_in_force) == ("BUY", "LIMIT", "GTC")
    assert change.quantity == Decimal("1.000000")
    assert change.price == Decimal("60000.00")
    assert (change.lifecycle_status, change.lifecycle_rank) == ("INITIALIZED", 0)
    assert (change.canonical_id, change.venue) == ("BTC/USDT", "BINANCE")
    assert converted.fill is None
    assert converted.event.event_type == "OrderInitialized"


def test_fill_becomes_an_exact_fill_row() -> None:
    events = limit_order_lifecycle(2, [("0.400000", "59999.99")])
    converted = convert_order_event(events[-1], REF)
    fill = converted.fill
    assert fill is not None
    assert (fill.trade_id, fill.side, fill.liquidity_side) == ("T-2-0", "BUY", "TAKER")
    assert fill.quantity == Decimal("0.400000") and fill.price == Decimal("59999.99")
    assert (fill.commission, fill.commission_currency) == (Decimal("0.01000000"), "USDT")
    assert converted.change.venue_order_id == "1002"


def test_contract_quantities_convert_to_base_units() -> None:
    swap = InstrumentRef("BTCUSDT.BINANCE", "BTC/USDT:USDT", "OKX", Decimal("0.01"))
    fill = convert_order_event(limit_order_lifecycle(3, [("1.000000", "60000.00")])[-1], swap).fill
    assert fill is not None and fill.base_quantity == Decimal("0.01000000")


def test_pending_cancel_sets_and_cancel_is_terminal() -> None:
    events = limit_order_lifecycle(4, [], cancel=True)
    pending, canceled = (convert_order_event(e, REF).change for e in events[-2:])
    assert pending.pending_action == "CANCEL" and pending.pending_ns > 0 and pending.lifecycle_rank == -1
    assert (canceled.lifecycle_status, canceled.lifecycle_rank) == ("CANCELED", 100)


def test_unknown_event_type_is_refused_by_name() -> None:
    event = dict(limit_order_lifecycle(5, [])[0], type="OrderTeleported")
    with pytest.raises(UnsupportedEvent, match="OrderTeleported"):
        convert_order_event(event, REF)


def test_event_for_another_instrument_is_refused() -> None:
    event = limit_order_lifecycle(6, [])[0]
    other = InstrumentRef("ETHUSDT.BINANCE", "ETH/USDT", "BINANCE", Decimal(1))
    with pytest.raises(ValueError, match="is for BTCUSDT.BINANCE, not ETHUSDT.BINANCE"):
        convert_order_event(event, other)
