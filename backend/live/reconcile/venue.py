"""Asking an execution client's venue what it did: the adapters' own report generation (the same REST calls
NautilusTrader's reconciliation makes), converted into the audit's plain records."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import (
    GenerateFillReports,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
)
from nautilus_trader.execution.reports import FillReport, OrderStatusReport, PositionStatusReport

from backend.live.reconcile.diff import VenueOrder, VenuePosition, VenueTrade


def trade_of(report: FillReport) -> VenueTrade:
    commission = report.commission
    return VenueTrade(
        account_id=report.account_id.value,
        instrument_id=report.instrument_id.value,
        trade_id=report.trade_id.value,
        venue_order_id=report.venue_order_id.value,
        client_order_id=report.client_order_id.value if report.client_order_id else None,
        side=report.order_side.name,
        quantity=report.last_qty.as_decimal(),
        price=report.last_px.as_decimal(),
        commission=commission.as_decimal() if commission is not None else Decimal(0),
        commission_currency=commission.currency.code if commission is not None else "",
        liquidity_side=report.liquidity_side.name,
        ts_event_ns=report.ts_event,
    )


def order_of(report: OrderStatusReport) -> VenueOrder:
    return VenueOrder(
        account_id=report.account_id.value,
        instrument_id=report.instrument_id.value,
        venue_order_id=report.venue_order_id.value,
        client_order_id=report.client_order_id.value if report.client_order_id else None,
        status=report.order_status.name,
        quantity=report.quantity.as_decimal(),
        filled_qty=report.filled_qty.as_decimal(),
        ts_last_ns=report.ts_last,
    )


def position_of(report: PositionStatusReport) -> VenuePosition:
    return VenuePosition(report.account_id.value, report.instrument_id.value, report.signed_decimal_qty)


class VenueReports:
    """One exec client's reports of a lookback window, as NautilusTrader objects (kept to feed its engine) and as
    the audit's records."""

    def __init__(self, orders: list[OrderStatusReport], fills: list[FillReport],
                 positions: list[PositionStatusReport]) -> None:
        self.order_reports = orders
        self.fill_reports = fills
        self.position_reports = positions
        self.orders = tuple(order_of(r) for r in orders)
        self.trades = tuple(trade_of(r) for r in fills)
        self.positions = tuple(position_of(r) for r in positions)


async def fetch_reports(client: Any, since_ns: int, now_ns: int) -> VenueReports:
    """Every order, trade and position the client's venue reports since ``since_ns`` (orders: also every open one).
    The adapters take the window start as a pandas Timestamp (Bybit's and OKX's read its nanoseconds)."""
    start = pd.Timestamp(since_ns, unit="ns", tz="UTC")
    orders = await client.generate_order_status_reports(GenerateOrderStatusReports(
        instrument_id=None, start=start, end=None, open_only=False, command_id=UUID4(), ts_init=now_ns))
    fills = await client.generate_fill_reports(GenerateFillReports(
        instrument_id=None, venue_order_id=None, start=start, end=None, command_id=UUID4(), ts_init=now_ns))
    positions = await client.generate_position_status_reports(GeneratePositionStatusReports(
        instrument_id=None, start=start, end=None, command_id=UUID4(), ts_init=now_ns))
    return VenueReports(list(orders or []), list(fills or []), list(positions or []))


def utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)
