"""Typed records that mirror the unified schema's rows (see migrations/0001_unified_schema.sql).

They are what the pure conversions produce and what the writers persist. Field order is the column order used by
the SQL in ``backend.live.sql``, so ``msgspec.structs.astuple(row)`` is a ready-made query argument tuple.
Money and quantities are ``Decimal``; times are ``datetime`` (UTC) plus the UNIX nanoseconds they came from.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import msgspec


class VenueType(StrEnum):
    CEFI = "CEFI"
    DEFI = "DEFI"
    TRADFI = "TRADFI"
    SPORTS = "SPORTS"


class InstrumentKind(StrEnum):
    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"
    OPTION = "option"


class AccountRow(msgspec.Struct, frozen=True):
    trader_id: str
    account_id: str
    venue: str
    account_type: str
    venue_type: str
    client_name: str | None
    margin_model: str | None
    base_currency: str | None


class InstrumentRow(msgspec.Struct, frozen=True):
    trader_id: str
    instrument_id: str
    canonical_id: str
    venue: str
    venue_symbol: str
    kind: str
    base_currency: str
    quote_currency: str
    settle_currency: str
    is_inverse: bool
    contract_multiplier: Decimal
    price_increment: Decimal
    size_increment: Decimal
    min_quantity: Decimal | None
    min_notional: Decimal | None
    expiry: datetime | None


class OrderEventRow(msgspec.Struct, frozen=True):
    """One row of the append-only ``order_events`` log; ``payload`` is the event as JSON text."""

    trader_id: str
    event_id: str
    client_order_id: str
    event_type: str
    ts_event: datetime
    ts_event_ns: int
    ts_init_ns: int
    payload: str


class OrderChange(msgspec.Struct, frozen=True):
    """What one order event changes on its ``unified_orders`` row.

    ``None`` means "this event says nothing about the field". ``lifecycle_rank`` orders statuses so a late event
    never moves an order backwards; ``pending_ns`` is non-zero only for events that set or clear the transient
    PENDING_UPDATE / PENDING_CANCEL state; ``updated_ns`` is non-zero only for OrderUpdated. Several changes of one
    order fold into one (``backend.live.oms.convert.fold_changes``) with the same rules the upsert applies.
    """

    trader_id: str
    client_order_id: str
    venue_order_id: str | None
    strategy_id: str | None
    venue: str
    account_id: str | None
    instrument_id: str
    canonical_id: str
    side: str | None
    order_type: str | None
    time_in_force: str | None
    quantity: Decimal | None
    price: Decimal | None
    trigger_price: Decimal | None
    reduce_only: bool | None
    post_only: bool | None
    lifecycle_status: str | None
    lifecycle_rank: int
    pending_action: str | None
    pending_ns: int
    reason: str | None
    first_event_at: datetime
    first_event_ns: int
    last_event_at: datetime
    last_event_ns: int
    updated_ns: int


class FillRow(msgspec.Struct, frozen=True):
    trader_id: str
    venue: str
    account_id: str
    instrument_id: str
    trade_id: str
    client_order_id: str
    venue_order_id: str | None
    strategy_id: str | None
    canonical_id: str
    side: str
    quantity: Decimal
    base_quantity: Decimal
    price: Decimal
    commission: Decimal
    commission_currency: str
    liquidity_side: str
    event_id: str
    ts_event: datetime
    ts_event_ns: int


class VenuePosition(msgspec.Struct, frozen=True):
    """One venue account's position in a canonical instrument (an entry of ``venue_positions``)."""

    venue: str
    account_id: str
    instrument_id: str
    side: str  # LONG / SHORT / FLAT
    quantity: Decimal  # venue units (contracts where the venue trades contracts), unsigned
    base_quantity: Decimal  # signed, base units
    avg_entry_price: Decimal | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    mark_price: Decimal | None
    ts_ns: int


class PositionRow(msgspec.Struct, frozen=True):
    trader_id: str
    canonical_id: str
    net_quantity: Decimal
    avg_entry_price: Decimal | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    pnl_currency: str | None
    venue_positions: dict[str, VenuePosition]
    updated_at: datetime
    updated_ns: int


class BalanceRow(msgspec.Struct, frozen=True):
    trader_id: str
    account_id: str
    currency: str
    total: Decimal
    free: Decimal
    locked: Decimal
    updated_at: datetime
    updated_ns: int


class MarginRow(msgspec.Struct, frozen=True):
    trader_id: str
    account_id: str
    margin_key: str
    currency: str
    initial: Decimal
    maintenance: Decimal
    updated_at: datetime
    updated_ns: int


class AccountStateRow(msgspec.Struct, frozen=True):
    """One AccountState event: the history row plus the current balances and margins it sets."""

    trader_id: str
    event_id: str
    account_id: str
    margin_model: str
    base_currency: str | None
    balances: tuple[BalanceRow, ...]
    margins: tuple[MarginRow, ...]
    ts_event: datetime
    ts_event_ns: int
