"""NautilusTrader order events for OMS tests, built with NautilusTrader's own test stubs and applied to real orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import AccountId, ClientOrderId, StrategyId, TradeId, TraderId, VenueOrderId
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.events import TestEventStubs

from backend.live.oms.convert import InstrumentRef

INSTRUMENT = TestInstrumentProvider.btcusdt_binance()
REF = InstrumentRef(instrument_id="BTCUSDT.BINANCE", canonical_id="BTC/USDT", venue="BINANCE", multiplier=Decimal(1))
ACCOUNT = AccountId("BINANCE-001")


def payload(event: Any) -> dict[str, Any]:
    return type(event).to_dict(event)


def limit_order_lifecycle(
    order_number: int, fills: list[tuple[str, str]], *, cancel: bool = False, ts0: int = 1_700_000_000_000_000_000
) -> list[dict[str, Any]]:
    """The ``to_dict`` payloads of ``limit_order_events``."""
    return [payload(e) for e in limit_order_events(order_number, fills, cancel=cancel, ts0=ts0)]


def limit_order_events(
    order_number: int, fills: list[tuple[str, str]], *, cancel: bool = False, ts0: int = 1_700_000_000_000_000_000
) -> list[Any]:
    """Initialized, Submitted, Accepted, one OrderFilled per (qty, px), then optionally PendingCancel + Canceled."""
    ts = ts0 + order_number * 1_000_000
    order = LimitOrder(
        trader_id=TraderId("TESTER-000"),
        strategy_id=StrategyId("S-001"),
        instrument_id=INSTRUMENT.id,
        client_order_id=ClientOrderId(f"O-{order_number}"),
        order_side=OrderSide.BUY,
        quantity=Quantity.from_str("1.000000"),
        price=Price.from_str("60000.00"),
        init_id=UUID4(),
        ts_init=ts,
    )
    events: list[Any] = [order.init_event]
    venue_order_id = VenueOrderId(str(1000 + order_number))
    for step in (
        TestEventStubs.order_submitted(order, account_id=ACCOUNT, ts_event=ts + 1),
        TestEventStubs.order_accepted(order, account_id=ACCOUNT, venue_order_id=venue_order_id, ts_event=ts + 2),
    ):
        order.apply(step)
        events.append(step)
    for i, (qty, px) in enumerate(fills):
        fill = TestEventStubs.order_filled(
            order, INSTRUMENT, account_id=ACCOUNT, venue_order_id=venue_order_id,
            trade_id=TradeId(f"T-{order_number}-{i}"), last_qty=Quantity.from_str(qty), last_px=Price.from_str(px),
            commission=Money(Decimal("0.01"), INSTRUMENT.quote_currency), ts_event=ts + 10 + i,
        )
        order.apply(fill)
        events.append(fill)
    if cancel:
        for step in (
            TestEventStubs.order_pending_cancel(order, ts_event=ts + 100),
            TestEventStubs.order_canceled(order, account_id=ACCOUNT, ts_event=ts + 101),
        ):
            order.apply(step)
            events.append(step)
    return events
