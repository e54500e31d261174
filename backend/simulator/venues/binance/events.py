"""The core's events -> Binance user-data messages and market-stream updates, for one market.

Spot: every ``OrderUpdate`` becomes an ``executionReport`` and every ``AccountUpdate`` an
``outboundAccountPosition`` with the changed assets (free / locked).

USD-M: ``OrderUpdate`` -> ``ORDER_TRADE_UPDATE``. Binance pushes one ``ACCOUNT_UPDATE`` per fill carrying the wallet
balance and the position, and none for margin locked by a resting order; so a trade's balances are held until the
``PositionUpdate`` that follows it and sent together, order-margin changes send nothing, and an adjustment (a
deposit through the control API) is sent at once with no positions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.simulator.core.events import AccountUpdate, BookUpdate, OrderUpdate, PositionUpdate, PublicTrade
from backend.simulator.venues.binance import payloads
from backend.simulator.venues.binance.market import BinanceMarket

EXEC_TYPES = {"NEW": "NEW", "TRADE": "TRADE", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED", "AMENDED": "AMENDMENT"}


def listener(market: BinanceMarket) -> Callable[[Any], None]:
    held_trade_balances: dict[str, tuple[Any, ...]] = {}

    def on_event(event: Any) -> None:
        if isinstance(event, BookUpdate):
            market.streams.on_book(event)
        elif isinstance(event, PublicTrade):
            market.streams.on_trade(event.symbol, event.trade_id, event.price, event.quantity, event.side, event.time_ms)
        elif not market.hub.has_subscribers(event.account_id):
            held_trade_balances.pop(event.account_id, None)
        elif isinstance(event, OrderUpdate):
            _on_order(market, event)
        elif isinstance(event, AccountUpdate):
            if not market.futures:
                market.hub.publish(event.account_id, payloads.outbound_account_position(
                    [(b.asset, b.free, b.locked) for b in event.balances], event.time_ms))
            elif event.reason == "TRADE":
                held_trade_balances[event.account_id] = event.balances
            elif event.reason == "ADJUSTMENT":
                market.hub.publish(event.account_id, payloads.account_update(
                    "DEPOSIT", [(b.asset, b.total, b.total) for b in event.balances], [], event.time_ms))
        elif isinstance(event, PositionUpdate) and market.futures:
            balances = held_trade_balances.pop(event.account_id, ())
            position = event.position
            market.hub.publish(event.account_id, payloads.account_update(
                "ORDER",
                [(b.asset, b.total, 0) for b in balances],
                [(position.symbol, position.quantity, position.entry_price, position.unrealized_pnl,
                  market.qty_places(position.symbol))],
                event.time_ms,
            ))

    return on_event


def _on_order(market: BinanceMarket, event: OrderUpdate) -> None:
    exec_type = EXEC_TYPES.get(event.kind)
    if exec_type is None:
        return  # a stop's trigger has no message of its own on Binance
    order = event.order
    if market.futures:
        message = payloads.order_trade_update(order, event.fill, exec_type, market.instrument(order.symbol),
                                              event.time_ms)
    else:
        cancel_id = ""
        if exec_type == "CANCELED":
            cancel_id = market.active_cancel_id or market.next_cancel_id()
        message = payloads.execution_report(order, event.fill, exec_type, event.time_ms, cancel_id)
    market.hub.publish(event.account_id, message)
