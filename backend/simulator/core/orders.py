"""Order and fill records. Enumerations are plain strings (Binance-like spelling); venues map them to their own."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import msgspec

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT", "STOP_MARKET", "STOP_LIMIT"]
TimeInForce = Literal["GTC", "IOC", "FOK", "GTX"]
OrderStatus = Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"]

SIDES: frozenset[str] = frozenset(("BUY", "SELL"))
ORDER_TYPES: frozenset[str] = frozenset(("MARKET", "LIMIT", "STOP_MARKET", "STOP_LIMIT"))
TIMES_IN_FORCE: frozenset[str] = frozenset(("GTC", "IOC", "FOK", "GTX"))
OPEN_STATUSES: frozenset[str] = frozenset(("NEW", "PARTIALLY_FILLED"))
ZERO = Decimal(0)


@dataclass(slots=True)
class SimOrder:
    """An order. The exchange mutates its own copy; everything it hands out (return values, events) is a snapshot.

    ``quantity``/``filled_quantity`` are in order units (contracts for contract-sized perpetuals). ``cum_quote`` is
    the quote value filled so far (sum of price * quantity * contract size) and ``avg_price`` the average fill price.
    A stop order stays ``NEW`` with ``triggered=False`` until the last price reaches ``trigger_price``.
    """

    order_id: int
    account_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    time_in_force: TimeInForce
    post_only: bool
    reduce_only: bool
    client_order_id: str | None
    created_ms: int
    updated_ms: int
    status: OrderStatus = "NEW"
    filled_quantity: Decimal = ZERO
    cum_quote: Decimal = ZERO
    avg_price: Decimal = ZERO
    fee_total: Decimal = ZERO
    triggered: bool = False
    locked_amount: Decimal = ZERO  # spot: funds held for the open remainder; perpetual: margin held for it
    locked_asset: str = ""

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_stop(self) -> bool:
        return self.order_type in ("STOP_MARKET", "STOP_LIMIT")

    @property
    def is_buy(self) -> bool:
        return self.side == "BUY"

    def snapshot(self) -> SimOrder:
        return copy.copy(self)


class SimFill(msgspec.Struct, frozen=True, kw_only=True):
    """One execution of one order. ``fee`` is in ``fee_asset`` (spot: the asset received; perpetual: settle asset).
    ``realized_pnl`` is the perpetual PnL this fill closed (zero on spot and on opening fills)."""

    trade_id: int
    order_id: int
    client_order_id: str | None
    account_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    realized_pnl: Decimal
    time_ms: int
