"""Events a SimExchange emits to its listeners, in the order things happen.

For one order that crosses the book: ``OrderUpdate(NEW)``, then per fill ``OrderUpdate(TRADE, fill)``,
``AccountUpdate``, ``PositionUpdate`` (perpetuals), ``PublicTrade``; an IOC/market remainder ends with
``OrderUpdate(EXPIRED)``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from backend.simulator.core.funding import FundingPayment
from backend.simulator.core.orders import SimFill, SimOrder

OrderUpdateKind = Literal["NEW", "TRADE", "CANCELED", "EXPIRED", "AMENDED", "TRIGGERED"]


class BalanceSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One asset of an account. ``total = free + locked``. For a perpetual settle asset ``total`` is the wallet
    balance (realized PnL and fees included, unrealized PnL excluded) and ``locked`` the margin of open orders."""

    asset: str
    total: Decimal
    free: Decimal
    locked: Decimal


class PositionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One-way net position. ``quantity`` is signed (short < 0) in order units (contracts when contract-sized)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    notional: Decimal
    leverage: int
    initial_margin: Decimal
    maintenance_margin: Decimal
    settle_asset: str
    updated_ms: int

    @property
    def side(self) -> Literal["LONG", "SHORT", "FLAT"]:
        if self.quantity > 0:
            return "LONG"
        if self.quantity < 0:
            return "SHORT"
        return "FLAT"


class OrderUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """An order changed. ``order`` is a snapshot after the change; ``fill`` is set for ``kind == "TRADE"``."""

    exchange: str
    account_id: str
    kind: OrderUpdateKind
    order: SimOrder
    fill: SimFill | None
    time_ms: int


class AccountUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Balances of ``assets`` changed (fill, fee, lock/unlock for an order, funding); ``balances`` are their new
    values."""

    exchange: str
    account_id: str
    reason: Literal["ORDER", "TRADE", "ADJUSTMENT", "FUNDING"]
    balances: tuple[BalanceSnapshot, ...]
    time_ms: int


class PositionUpdate(msgspec.Struct, frozen=True, kw_only=True):
    exchange: str
    account_id: str
    position: PositionSnapshot
    time_ms: int


class PublicTrade(msgspec.Struct, frozen=True, kw_only=True):
    """A trade printed on the public tape (simulated flow or a fill of one of our orders). ``side`` is the taker's."""

    exchange: str
    symbol: str
    trade_id: int
    price: Decimal
    quantity: Decimal
    side: Literal["BUY", "SELL"]
    time_ms: int


class BookUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Top ``depth`` levels after a market move, best first: ``(price, quantity)`` pairs."""

    exchange: str
    symbol: str
    update_id: int
    last_price: Decimal
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    time_ms: int


SimEvent = OrderUpdate | AccountUpdate | PositionUpdate | PublicTrade | BookUpdate | FundingPayment
