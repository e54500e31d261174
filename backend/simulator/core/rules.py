"""Pure order rules: exchange filters, stop triggering, crossing the book, what the book can fill and costs."""

from __future__ import annotations

from decimal import Decimal

from backend.simulator.core.errors import Reason, SimError
from backend.simulator.core.instruments import SimInstrument
from backend.simulator.core.market import SimMarket

ZERO = Decimal(0)


def check_filters(
    instrument: SimInstrument,
    market: SimMarket,
    quantity: Decimal,
    price: Decimal | None,
    trigger_price: Decimal | None,
    reduce_only: bool = False,
) -> None:
    """Exchange filters, in Binance's order: positive values, tick size (price, trigger), lot size, min / max quantity,
    min notional at the limit price (else the trigger price, else the last price). Reduce-only orders on perpetuals
    are exempt from the minimum notional (a position smaller than it must stay closable, as on Binance USD-M)."""
    if quantity <= 0:
        raise SimError(Reason.NOT_POSITIVE, "must be positive", field="quantity")
    for name, value in (("price", price), ("trigger_price", trigger_price)):
        if value is None:
            continue
        if value <= 0:
            raise SimError(Reason.NOT_POSITIVE, "must be positive", field=name)
        if value % instrument.tick_size:
            raise SimError(Reason.PRICE_TICK, f"{value} is not a multiple of tick size {instrument.tick_size}",
                           field=name, limit=instrument.tick_size)
    if quantity % instrument.lot_size:
        raise SimError(Reason.QUANTITY_STEP, f"{quantity} is not a multiple of lot size {instrument.lot_size}",
                       field="quantity", limit=instrument.lot_size)
    if quantity < instrument.min_quantity:
        raise SimError(Reason.QUANTITY_BELOW_MIN, f"{quantity} is below min quantity {instrument.min_quantity}",
                       field="quantity", limit=instrument.min_quantity)
    if quantity > instrument.max_quantity:
        raise SimError(Reason.QUANTITY_ABOVE_MAX, f"{quantity} is above max quantity {instrument.max_quantity}",
                       field="quantity", limit=instrument.max_quantity)
    if reduce_only and instrument.is_perpetual:
        return
    reference = price if price is not None else trigger_price if trigger_price is not None else market.last_price
    notional = instrument.notional(quantity, reference)
    if notional < instrument.min_notional:
        raise SimError(Reason.NOTIONAL_BELOW_MIN, f"{notional} is below min notional {instrument.min_notional}",
                       field="notional", limit=instrument.min_notional)


def stop_triggered(side: str, trigger_price: Decimal, last: Decimal) -> bool:
    """A buy stop fires when the last price rises to its trigger, a sell stop when it falls to it."""
    return last >= trigger_price if side == "BUY" else last <= trigger_price


def crosses(side: str, price: Decimal | None, market: SimMarket) -> bool:
    """Whether an order at ``price`` would take liquidity now (``None`` = a market order: always)."""
    if price is None:
        return True
    return price >= market.best_ask if side == "BUY" else price <= market.best_bid


def available_quantity(side: str, limit: Decimal | None, market: SimMarket) -> Decimal:
    """Quantity a taker on ``side`` could fill now within ``limit``."""
    total = ZERO
    for level_price, level_quantity in market.levels_against(side):
        if limit is not None and (level_price > limit if side == "BUY" else level_price < limit):
            break
        total += level_quantity
    return total


def market_buy_cost(market: SimMarket, quantity: Decimal) -> Decimal:
    """Quote funds a market buy of ``quantity`` spends walking the asks (a part the book cannot fill costs nothing:
    it expires)."""
    cost, remaining = ZERO, quantity
    for level_price, level_quantity in market.asks():
        take = min(remaining, level_quantity)
        cost += take * level_price
        remaining -= take
        if remaining == 0:
            break
    return cost
