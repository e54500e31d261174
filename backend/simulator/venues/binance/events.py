"""The core's events -> Binance user-data messages and market-stream updates, for one market.

Spot: every ``OrderUpdate`` becomes an ``executionReport`` and every ``AccountUpdate`` an
``outboundAccountPosition`` with the changed assets (free / locked).

USD-M: ``OrderUpdate`` -> ``ORDER_TRADE_UPDATE`` (stops: ``ALGO_UPDATE`` until they trigger, see ``algo.py``).
Binance pushes one ``ACCOUNT_UPDATE`` per fill carrying the wallet balance and the position, and none for margin
locked by a resting order; so a trade's balances are held until the ``PositionUpdate`` that follows it and sent
together, order-margin changes send nothing, and an adjustment (a deposit through the control API) is sent at once
with no positions. Funding settles as ``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE`` carrying the settle asset's
wallet balance and the fee as the balance change ``bc``, and no positions (Binance's documented shape for cross
positions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.simulator.core.events import AccountUpdate, BookUpdate, OrderUpdate, PositionUpdate, PublicTrade
from backend.simulator.core.funding import FundingPayment
from backend.simulator.venues.binance import payloads
from backend.simulator.venues.binance.market import BinanceMarket

EXEC_TYPES = {"NEW": "NEW", "TRADE": "TRADE", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED", "AMENDED": "AMENDMENT"}


def listener(market: BinanceMarket) -> Callable[[Any], None]:
    held_trade_balances: dict[str, tuple[Any, ...]] = {}

    def on_event(event: Any) -> None:
        if isinstance(event, BookUpdate):
            market.streams.on_book(event)
        elif isinstance(event, PublicTrade):
            market.streams.on_trade(event)
        elif not market.hub.has_subscribers(event.account_id):
            held_trade_balances.pop(event.account_id, None)
        elif isinstance(event, OrderUpdate):
            _on_order(market, event)
        elif isinstance(event, FundingPayment):  # a cross position's funding: the balance only, no "P"
            market.hub.publish(event.account_id, payloads.account_update(
                "FUNDING_FEE", [(event.asset, event.balance_after, event.amount)], [], event.time_ms))
        elif isinstance(event, AccountUpdate):
            if not market.futures:
                market.hub.publish(event.account_id, payloads.outbound_account_position(
                    [(b.asset, b.free, b.locked) for b in event.balances], event.time_ms))
            elif event.reason == "TRADE":
                held_trade_balances[event.account_id] = event.balances
            elif event.reason == "ADJUSTMENT":  # the event has the new balances only, so no balance change "bc"
                market.hub.publish(event.account_id, payloads.account_update(
                    "DEPOSIT", [(b.asset, b.total, 0) for b in event.balances], [], event.time_ms))
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
    order = event.order
    if market.futures and order.is_stop:
        _on_conditional_order(market, event)
        return
    exec_type = EXEC_TYPES.get(event.kind)
    if exec_type is None:
        return  # a spot stop's trigger has no message of its own on Binance
    if market.futures:
        message = payloads.order_trade_update(order, event.fill, exec_type, market.instrument(order.symbol),
                                              event.time_ms)
    else:
        cancel_id = ""
        if exec_type == "CANCELED":
            cancel_id = market.active_cancel_id or market.next_cancel_id()
        message = payloads.execution_report(order, event.fill, exec_type, event.time_ms, cancel_id)
    market.hub.publish(event.account_id, message)


def _on_conditional_order(market: BinanceMarket, event: OrderUpdate) -> None:
    """USD-M stop: ``ALGO_UPDATE`` while it waits; at the trigger ``ALGO_UPDATE`` TRIGGERED then the regular order's
    ``ORDER_TRADE_UPDATE`` NEW; afterwards only ``ORDER_TRADE_UPDATE``.

    Binance also pushes ``ALGO_UPDATE`` FINISHED when the triggered order ends; it is left out (``GET algoOrder``
    shows FINISHED): NautilusTrader 1.231.0 reads a FINISHED that overtakes its own still-queued fill or cancel as a
    missed one and emits a synthetic fill / cancel, which its engine then rejects as an overfill."""
    order, instrument = event.order, market.instrument(event.order.symbol)
    publish = market.hub.publish
    if not order.triggered:
        publish(event.account_id, payloads.algo_update(order, instrument, event.time_ms))
        return
    if event.kind == "TRIGGERED":
        publish(event.account_id, payloads.algo_update(order, instrument, event.time_ms))
        publish(event.account_id, payloads.order_trade_update(order, None, "NEW", instrument, event.time_ms))
        return
    exec_type = EXEC_TYPES.get(event.kind)
    if exec_type is not None:
        publish(event.account_id, payloads.order_trade_update(order, event.fill, exec_type, instrument, event.time_ms))
