"""The venue audit's comparison, pure: what a venue reported against what the OMS holds, as a list of differences,
each with the fix the audit applies (or none: reported, never overwritten).

Only what both sides had time to see is compared: venue trades and order changes newer than ``settle_ns`` may still
be on their way through the WebSocket and the writer, and OMS fills older than the window start ``since_ns`` are
outside what the venue was asked about.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import msgspec

# The order statuses the OMS stores, by lifecycle rank (see backend.live.oms.convert).
STATUS_RANK: dict[str, int] = {
    "INITIALIZED": 0, "EMULATED": 10, "RELEASED": 20, "SUBMITTED": 30, "ACCEPTED": 40, "TRIGGERED": 45,
    "PARTIALLY_FILLED": 50, "DENIED": 100, "REJECTED": 100, "CANCELED": 100, "EXPIRED": 100, "FILLED": 100,
}
TERMINAL = 100


class VenueTrade(msgspec.Struct, frozen=True):
    account_id: str
    instrument_id: str
    trade_id: str
    venue_order_id: str
    client_order_id: str | None
    side: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    commission_currency: str
    liquidity_side: str
    ts_event_ns: int


class VenueOrder(msgspec.Struct, frozen=True):
    account_id: str
    instrument_id: str
    venue_order_id: str
    client_order_id: str | None
    status: str
    quantity: Decimal
    filled_qty: Decimal
    ts_last_ns: int


class VenuePosition(msgspec.Struct, frozen=True):
    account_id: str
    instrument_id: str
    signed_quantity: Decimal  # venue units


class OmsOrder(msgspec.Struct, frozen=True):
    client_order_id: str
    venue_order_id: str | None
    instrument_id: str
    lifecycle_status: str
    lifecycle_rank: int
    quantity: Decimal | None
    filled_qty: Decimal
    last_event_ns: int


class OmsFill(msgspec.Struct, frozen=True):
    instrument_id: str
    trade_id: str
    client_order_id: str
    quantity: Decimal
    ts_event_ns: int


class InferredFill(msgspec.Struct, frozen=True):
    """An OrderFilled NautilusTrader made up (kept in order_events only)."""

    event_id: str
    client_order_id: str
    instrument_id: str
    trade_id: str
    quantity: Decimal


class AddFill(msgspec.Struct, frozen=True):
    trade: VenueTrade
    client_order_id: str


class SetStatus(msgspec.Struct, frozen=True):
    client_order_id: str
    status: str
    rank: int


class SetQuantity(msgspec.Struct, frozen=True):
    client_order_id: str
    quantity: Decimal


Fix = AddFill | SetStatus | SetQuantity


class Difference(msgspec.Struct, frozen=True):
    kind: str  # missing_fill / phantom_fill / inferred_fill / status / quantity / position / missing_order
    instrument_id: str | None
    client_order_id: str | None
    venue_order_id: str | None
    trade_id: str | None
    oms_value: str | None
    venue_value: str | None
    detail: str
    fix: Fix | None  # None: reported only
    dedupe_key: str


class AuditInput(msgspec.Struct, frozen=True):
    account_id: str
    since_ns: int
    settle_ns: int
    venue_orders: tuple[VenueOrder, ...]
    venue_trades: tuple[VenueTrade, ...]
    venue_positions: tuple[VenuePosition, ...] | None  # None: the venue has no positions (spot)
    oms_orders: tuple[OmsOrder, ...]
    oms_fills: tuple[OmsFill, ...]
    oms_positions: dict[str, Decimal]  # instrument_id -> signed venue units of this account
    position_instruments: frozenset[str]  # the instruments whose positions are compared (derivatives)
    inferred: tuple[InferredFill, ...]


def compare(data: AuditInput) -> list[Difference]:
    """Every difference between the venue and the OMS for one account, fixes first in the order to apply them."""
    by_client = {o.client_order_id: o for o in data.oms_orders}
    by_venue_id = {(o.instrument_id, o.venue_order_id): o for o in data.oms_orders if o.venue_order_id}
    venue_order_by_id = {(o.instrument_id, o.venue_order_id): o for o in data.venue_orders}
    oms_trades = {(f.instrument_id, f.trade_id) for f in data.oms_fills}
    diffs: list[Difference] = []
    added: dict[str, Decimal] = defaultdict(Decimal)

    def owner(instrument_id: str, venue_order_id: str, client_order_id: str | None) -> OmsOrder | None:
        order = by_client.get(client_order_id) if client_order_id else None
        if order is None:
            order = by_venue_id.get((instrument_id, venue_order_id))
        if order is None:
            report = venue_order_by_id.get((instrument_id, venue_order_id))
            if report is not None and report.client_order_id:
                order = by_client.get(report.client_order_id)
        return order

    for trade in sorted(data.venue_trades, key=lambda t: (t.ts_event_ns, t.trade_id)):
        if (trade.instrument_id, trade.trade_id) in oms_trades or trade.ts_event_ns > data.settle_ns:
            continue
        order = owner(trade.instrument_id, trade.venue_order_id, trade.client_order_id)
        base = dict(instrument_id=trade.instrument_id, venue_order_id=trade.venue_order_id, trade_id=trade.trade_id,
                    oms_value=None, venue_value=f"{trade.side} {trade.quantity} @ {trade.price}")
        if order is None:
            diffs.append(Difference(
                kind="missing_order", client_order_id=trade.client_order_id, fix=None,
                detail=f"venue trade {trade.trade_id} belongs to order {trade.venue_order_id}, which the OMS does "
                       "not know", dedupe_key=f"missing_order:{data.account_id}:{trade.instrument_id}:"
                                          f"{trade.venue_order_id}", **base))
            continue
        added[order.client_order_id] += trade.quantity
        diffs.append(Difference(
            kind="missing_fill", client_order_id=order.client_order_id, fix=AddFill(trade, order.client_order_id),
            detail=f"venue trade {trade.trade_id} of {order.client_order_id} is not in fills",
            dedupe_key=f"missing_fill:{data.account_id}:{trade.instrument_id}:{trade.trade_id}", **base))

    venue_trades = {(t.instrument_id, t.trade_id) for t in data.venue_trades}
    answered = {t.instrument_id for t in data.venue_trades} | {o.instrument_id for o in data.venue_orders}
    for fill in data.oms_fills:
        if fill.instrument_id not in answered or not data.since_ns <= fill.ts_event_ns <= data.settle_ns:
            continue
        if (fill.instrument_id, fill.trade_id) not in venue_trades:
            diffs.append(Difference(
                kind="phantom_fill", instrument_id=fill.instrument_id, client_order_id=fill.client_order_id,
                venue_order_id=None, trade_id=fill.trade_id, oms_value=str(fill.quantity), venue_value=None,
                detail=f"fill {fill.trade_id} of {fill.client_order_id} is not among the venue's trades; kept for "
                       "review", fix=None,
                dedupe_key=f"phantom_fill:{data.account_id}:{fill.instrument_id}:{fill.trade_id}"))

    real_fills: dict[str, Decimal] = defaultdict(Decimal)
    for fill in data.oms_fills:
        real_fills[fill.client_order_id] += fill.quantity
    for client_order_id, qty in added.items():
        real_fills[client_order_id] += qty

    for report in data.venue_orders:
        order = owner(report.instrument_id, report.venue_order_id, report.client_order_id)
        if order is None:
            if report.ts_last_ns <= data.settle_ns:
                diffs.append(Difference(
                    kind="missing_order", instrument_id=report.instrument_id, client_order_id=report.client_order_id,
                    venue_order_id=report.venue_order_id, trade_id=None, oms_value=None,
                    venue_value=f"{report.status} {report.filled_qty}/{report.quantity}",
                    detail=f"venue order {report.venue_order_id} ({report.client_order_id}) is not in the OMS",
                    fix=None, dedupe_key=f"missing_order:{data.account_id}:{report.instrument_id}:"
                                         f"{report.venue_order_id}"))
            continue
        if report.ts_last_ns > data.settle_ns and order.lifecycle_rank < TERMINAL:
            continue  # still changing: the live stream is ahead of this audit
        diffs += _order_differences(data.account_id, order, report, real_fills[order.client_order_id])

    for inferred in data.inferred:
        filled = real_fills.get(inferred.client_order_id, Decimal(0))
        order = by_client.get(inferred.client_order_id)
        covered = order is not None and order.quantity is not None and filled >= order.quantity
        report = next((r for r in data.venue_orders if order is not None and r.client_order_id == order.client_order_id
                       or order is not None and order.venue_order_id == r.venue_order_id), None)
        covered = covered or (report is not None and filled >= report.filled_qty > 0)
        diffs.append(Difference(
            kind="inferred_fill", instrument_id=inferred.instrument_id, client_order_id=inferred.client_order_id,
            venue_order_id=order.venue_order_id if order else None, trade_id=inferred.trade_id,
            oms_value=str(inferred.quantity), venue_value=str(filled),
            detail=f"NautilusTrader inferred a fill of {inferred.quantity} for {inferred.client_order_id}; "
                   + ("the venue's trades now cover it" if covered else "the venue's trade for it is not known yet"),
            fix=None, dedupe_key=f"inferred_fill:{inferred.event_id}"))

    if data.venue_positions is not None:
        reported = {p.instrument_id: p.signed_quantity for p in data.venue_positions}
        # The fills added here move the OMS position too (NautilusTrader applies them, the tracker follows).
        after_fixes = dict(data.oms_positions)
        for diff in diffs:
            if isinstance(diff.fix, AddFill) and diff.fix.trade.instrument_id in data.position_instruments:
                trade = diff.fix.trade
                signed = trade.quantity if trade.side == "BUY" else -trade.quantity
                after_fixes[trade.instrument_id] = after_fixes.get(trade.instrument_id, Decimal(0)) + signed
        for instrument_id in sorted(set(reported) | set(after_fixes)):
            venue_qty = reported.get(instrument_id, Decimal(0))
            oms_qty = after_fixes.get(instrument_id, Decimal(0))
            if venue_qty != oms_qty:
                diffs.append(Difference(
                    kind="position", instrument_id=instrument_id, client_order_id=None, venue_order_id=None,
                    trade_id=None, oms_value=str(oms_qty), venue_value=str(venue_qty),
                    detail=f"position of {data.account_id} in {instrument_id}: OMS {oms_qty}, venue {venue_qty}",
                    fix=None, dedupe_key=f"position:{data.account_id}:{instrument_id}:{oms_qty}:{venue_qty}"))
    return diffs


def _order_differences(account_id: str, order: OmsOrder, report: VenueOrder, filled: Decimal) -> list[Difference]:
    diffs = []
    common = dict(instrument_id=order.instrument_id, client_order_id=order.client_order_id,
                  venue_order_id=report.venue_order_id, trade_id=None)
    if order.quantity is not None and report.quantity != order.quantity and report.quantity > 0:
        diffs.append(Difference(
            kind="quantity", oms_value=str(order.quantity), venue_value=str(report.quantity),
            detail=f"{order.client_order_id}: quantity {order.quantity} in the OMS, {report.quantity} at the venue",
            fix=SetQuantity(order.client_order_id, report.quantity),
            dedupe_key=f"quantity:{account_id}:{order.client_order_id}:{report.quantity}", **common))
    if filled != report.filled_qty:
        diffs.append(Difference(
            kind="quantity", oms_value=str(filled), venue_value=str(report.filled_qty),
            detail=f"{order.client_order_id}: the venue reports {report.filled_qty} filled, its trades in fills sum "
                   f"to {filled}", fix=None,
            dedupe_key=f"filled_qty:{account_id}:{order.client_order_id}:{filled}:{report.filled_qty}", **common))
    expected = _expected_status(order, filled, report)
    if expected is not None and expected != order.lifecycle_status:
        rank = STATUS_RANK.get(expected, -1)
        fixable = rank > order.lifecycle_rank
        diffs.append(Difference(
            kind="status", oms_value=order.lifecycle_status, venue_value=report.status,
            detail=f"{order.client_order_id}: {order.lifecycle_status} in the OMS, {report.status} at the venue"
                   + ("" if fixable else "; a later status is never moved back, reported"),
            fix=SetStatus(order.client_order_id, expected, rank) if fixable else None,
            dedupe_key=f"status:{account_id}:{order.client_order_id}:{order.lifecycle_status}:{report.status}",
            **common))
    return diffs


def _expected_status(order: OmsOrder, filled: Decimal, report: VenueOrder) -> str | None:
    """The status the OMS should hold once the venue's trades are in: the venue's, with FILLED / PARTIALLY_FILLED
    as the fills decide them (NautilusTrader's TRIGGERED / PENDING_* are transient, not compared)."""
    status = report.status
    if status in ("PENDING_UPDATE", "PENDING_CANCEL", "TRIGGERED"):
        return None
    quantity = order.quantity if order.quantity is not None else report.quantity
    if filled >= quantity > 0:
        return "FILLED"
    if status in ("FILLED", "PARTIALLY_FILLED"):
        return "PARTIALLY_FILLED" if filled > 0 else status
    if status == "ACCEPTED" and filled > 0:
        return "PARTIALLY_FILLED"
    return status
