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


# -- fills NautilusTrader makes up -------------------------------------------------------------------------------


def _nautilus_fills() -> tuple[dict, dict]:
    """An inferred fill made by NautilusTrader's own reconciliation function, and a fill it builds from a venue's
    FillReport during reconciliation (both ``reconciliation`` true), as the bus would publish them."""
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.execution.reports import FillReport, OrderStatusReport
    from nautilus_trader.live.reconciliation import create_inferred_order_filled_event, create_order_filled_event
    from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce
    from nautilus_trader.model.events import OrderFilled
    from nautilus_trader.model.identifiers import AccountId, TradeId, VenueOrderId
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.test_kit.stubs.execution import TestExecStubs

    instrument = TestInstrumentProvider.btcusdt_binance()
    order = TestExecStubs.limit_order(instrument=instrument)
    report = OrderStatusReport(
        account_id=AccountId("BINANCE-master"), instrument_id=instrument.id, venue_order_id=VenueOrderId("77"),
        order_side=OrderSide.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
        order_status=OrderStatus.FILLED, quantity=order.quantity, filled_qty=order.quantity, report_id=UUID4(),
        ts_accepted=1, ts_last=2, ts_init=3, price=Price.from_str("1.00"), avg_px=Price.from_str("1.00"),
        client_order_id=order.client_order_id,
    )
    inferred = create_inferred_order_filled_event(order, 4, report, instrument)
    fill_report = FillReport(
        account_id=AccountId("BINANCE-master"), instrument_id=instrument.id, venue_order_id=VenueOrderId("77"),
        trade_id=TradeId("9001"), order_side=OrderSide.BUY, last_qty=Quantity.from_str("100.000000"),
        last_px=Price.from_str("1.00"), commission=Money(0.1, instrument.quote_currency),
        liquidity_side=LiquiditySide.MAKER, report_id=UUID4(), ts_event=2, ts_init=3,
        client_order_id=order.client_order_id,
    )
    real = create_order_filled_event(order, 4, fill_report, instrument)
    return OrderFilled.to_dict(inferred), OrderFilled.to_dict(real)


INFERRED_REF = InstrumentRef("BTCUSDT.BINANCE", "BTC/USDT", "BINANCE", Decimal(1))


def test_an_inferred_fill_is_logged_but_is_no_fill_and_changes_no_status() -> None:
    inferred, _ = _nautilus_fills()
    assert inferred["reconciliation"] is True
    converted = convert_order_event(inferred, INFERRED_REF)
    assert converted.fill is None
    assert converted.event.event_type == "OrderFilled"  # kept in order_events
    assert (converted.change.lifecycle_status, converted.change.lifecycle_rank) == (None, -1)


def test_a_venue_trade_found_by_reconciliation_is_a_fill() -> None:
    _, real = _nautilus_fills()
    assert real["reconciliation"] is True
    fill = convert_order_event(real, INFERRED_REF).fill
    assert fill is not None and fill.trade_id == "9001"


def test_guard_inferred_trade_ids_are_version_5_uuids() -> None:
    """NautilusTrader 1.231.0 names inferred fills with a UUID v5; ``is_inferred_fill`` relies on it. If an upgrade
    changes the scheme this fails: inferred fills would otherwise be stored as venue trades."""
    import uuid

    from backend.live.oms.convert import is_inferred_fill

    inferred, real = _nautilus_fills()
    assert uuid.UUID(inferred["trade_id"]).version == 5
    assert is_inferred_fill(inferred) and not is_inferred_fill(real)
    # A live (non-reconciliation) fill is a venue trade even when the venue prints UUIDs (Bybit derivatives).
    assert not is_inferred_fill(dict(real, reconciliation=False, trade_id=str(uuid.uuid5(uuid.NAMESPACE_OID, "x"))))
    assert is_inferred_fill(dict(real, trade_id=""))
