"""Core events -> OKX channel pushes.

Private (``/ws/v5/private``, logged-in sessions of the event's account): ``orders`` (one push per order change;
a fill carries ``fillSz``/``fillPx``/``tradeId``), ``account`` (every currency of the unified wallet, so the
client's view never goes partial) and ``positions`` (SWAP). User-data pushes obey the ``user-stream pause`` fault.
Public (``/ws/v5/public``): ``trades``, ``bbo-tbt`` and ``books`` (snapshot on subscribe, then updates with
``prevSeqId`` and checksum).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from backend.simulator.core.events import (
    AccountUpdate,
    BookUpdate,
    OrderUpdate,
    PositionSnapshot,
    PositionUpdate,
    PublicTrade,
    SimEvent,
)
from backend.simulator.core.ws import push_user_event
from backend.simulator.venues.okx import payloads
from backend.simulator.venues.okx.catalog import Listing
from backend.simulator.venues.okx.state import OkxVenue
from backend.simulator.venues.okx.ws_session import OkxSession, Subscription

ZERO = Decimal(0)


def on_event(venue: OkxVenue, event: SimEvent) -> None:
    """The listener subscribed to every exchange of the venue."""
    if isinstance(event, OrderUpdate):
        _on_order(venue, event)
    elif isinstance(event, AccountUpdate):
        _private(venue, lambda: _push_account(venue, event.account_id))
    elif isinstance(event, PositionUpdate):
        _on_position(venue, event)
    elif isinstance(event, PublicTrade):
        _on_public_trade(venue, event)
    elif isinstance(event, BookUpdate):
        _on_book(venue, event)


# -- private -------------------------------------------------------------------------------------------------------


def _private(venue: OkxVenue, push: Callable[[], None]) -> None:
    venue.deliver(lambda: push_user_event(venue.faults, push))


def _account_sessions(venue: OkxVenue, account_id: str) -> list[OkxSession]:
    return [s for s in venue.sessions["private"] if s.account_id == account_id]


def _on_order(venue: OkxVenue, event: OrderUpdate) -> None:
    listing = venue.catalog.by_inst_id(event.order.symbol)
    if listing is None or event.kind == "TRIGGERED":
        return
    if event.order.is_stop and not event.order.triggered:
        return  # an algo order (algo.py): no ``orders`` push until it triggers and places its order

    def push() -> None:
        # built at delivery: an order placed through the protocol has its entry registered by then
        entry = venue.entry(listing.market, event.order.order_id)
        payload = payloads.order_push(listing, event.order, entry, event.fill, amended=event.kind == "AMENDED")
        for session in _account_sessions(venue, event.account_id):
            subscription = session.subscribed("orders", listing.inst_type, listing.inst_id)
            if subscription is not None:
                session.push({"arg": _channel_arg(subscription, session), "data": [payload]})

    _private(venue, push)


def _channel_arg(subscription: Subscription, session: OkxSession) -> dict[str, Any]:
    arg: dict[str, Any] = {"channel": subscription.channel}
    if subscription.inst_type is not None:
        arg["instType"] = subscription.inst_type
    if subscription.inst_id is not None:
        arg["instId"] = subscription.inst_id
    arg["uid"] = session.account_id
    return arg


def account_snapshot(venue: OkxVenue, account_id: str) -> dict[str, Any]:
    """The whole unified wallet as ``GET /api/v5/account/balance`` and the ``account`` channel show it. Balances
    come from the shared ledger; ``upl`` / ``eq`` add the swap positions' unrealized PnL per settle currency."""
    now = venue.now_ms()
    balances: dict[str, Any] = {}
    upl: dict[str, Decimal] = {}
    for exchange in venue.exchanges.values():
        if account_id not in exchange.account_ids:
            continue
        snapshot = exchange.account(account_id)
        balances.update(snapshot.balances)
        for position in snapshot.positions.values():
            upl[position.settle_asset] = upl.get(position.settle_asset, ZERO) + position.unrealized_pnl
    details = [
        payloads.balance_detail(asset, b.free, b.locked, upl.get(asset, ZERO), now)
        for asset, b in sorted(balances.items())
    ]
    total_usd = sum(
        (b.total + upl.get(asset, ZERO) for asset, b in balances.items() if asset in ("USDT", "USDC", "USD")), ZERO
    )
    return payloads.account(details, total_usd, now)


def _push_account(venue: OkxVenue, account_id: str) -> None:
    sessions = [s for s in _account_sessions(venue, account_id) if s.subscribed("account", "", "")]
    if not sessions:
        return
    data = [account_snapshot(venue, account_id)]
    for session in sessions:
        session.push({"arg": {"channel": "account", "uid": account_id}, "data": data})


def push_account_to(venue: OkxVenue, session: OkxSession) -> None:
    if session.account_id is not None:
        session.push({"arg": {"channel": "account", "uid": session.account_id},
                      "data": [account_snapshot(venue, session.account_id)]})


def position_payloads(venue: OkxVenue, account_id: str, inst_id: str | None = None) -> list[dict[str, Any]]:
    """Open SWAP positions of the account (``GET /api/v5/account/positions``, the ``positions`` snapshot)."""
    rows = []
    for listing in venue.catalog.of_type("SWAP"):
        if inst_id is not None and listing.inst_id != inst_id:
            continue
        exchange = venue.exchange_of(listing)
        if account_id not in exchange.account_ids:
            continue
        snapshot = exchange.position(account_id, listing.inst_id)
        if snapshot.quantity != 0:
            rows.append(_position_row(venue, listing, account_id, snapshot))
    return rows


def _position_row(venue: OkxVenue, listing: Listing, account_id: str, snapshot: PositionSnapshot) -> dict[str, Any]:
    fills = venue.exchange_of(listing).fills(account_id, listing.inst_id)
    trade_id = str(fills[-1].trade_id) if fills else ""
    created = fills[0].time_ms if fills else snapshot.updated_ms
    return payloads.position(listing, snapshot, trade_id, created)


def _on_position(venue: OkxVenue, event: PositionUpdate) -> None:
    listing = venue.catalog.by_inst_id(event.position.symbol)
    if listing is None:
        return
    row = _position_row(venue, listing, event.account_id, event.position)

    def push() -> None:
        for session in _account_sessions(venue, event.account_id):
            subscription = session.subscribed("positions", listing.inst_type, listing.inst_id)
            if subscription is not None:
                session.push({"arg": _channel_arg(subscription, session), "data": [row]})

    _private(venue, push)


def push_positions_to(venue: OkxVenue, session: OkxSession, subscription: Subscription) -> None:
    if session.account_id is None:
        return
    rows = [
        row for row in position_payloads(venue, session.account_id, subscription.inst_id)
        if subscription.matches("positions", row["instType"], row["instId"])
    ]
    session.push({"arg": _channel_arg(subscription, session), "data": rows})


# -- public --------------------------------------------------------------------------------------------------------


def _public_sessions(venue: OkxVenue, channel: str, listing: Listing) -> list[tuple[OkxSession, Subscription]]:
    found = []
    for session in venue.sessions["public"]:
        subscription = session.subscribed(channel, listing.inst_type, listing.inst_id)
        if subscription is not None:
            found.append((session, subscription))
    return found


def _on_public_trade(venue: OkxVenue, trade: PublicTrade) -> None:
    listing = venue.catalog.by_inst_id(trade.symbol)
    if listing is None:
        return
    data = [payloads.public_trade(trade)]

    def push() -> None:
        for session, _ in _public_sessions(venue, "trades", listing):
            session.push({"arg": {"channel": "trades", "instId": listing.inst_id}, "data": data})

    venue.deliver(push)


def _on_book(venue: OkxVenue, update: BookUpdate) -> None:
    listing = venue.catalog.by_inst_id(update.symbol)
    if listing is None:
        return

    def push() -> None:
        for session, _ in _public_sessions(venue, "bbo-tbt", listing):
            bbo = payloads.book(update.bids[:1], update.asks[:1], update.time_ms, update.update_id)
            session.push({"arg": {"channel": "bbo-tbt", "instId": listing.inst_id}, "data": [bbo]})
        for session, _ in _public_sessions(venue, "books", listing):
            push_book_to(venue, session, listing, update)
        for session, _ in _public_sessions(venue, "mark-price", listing):
            mark = payloads.mark_price(listing, update.last_price, update.time_ms)
            session.push({"arg": {"channel": "mark-price", "instId": listing.inst_id}, "data": [mark]})

    venue.deliver(push)


def push_book_to(venue: OkxVenue, session: OkxSession, listing: Listing, update: BookUpdate | None = None) -> None:
    """A ``books`` message for one session: the first is a snapshot; later ones are updates against the last book
    this session saw (changed levels, size ``0`` removes one), chained by ``prevSeqId``."""
    current = update or venue.exchange_of(listing).book(listing.inst_id)
    key = ("books", listing.inst_id)
    previous = session.books.get(key)
    arg = {"channel": "books", "instId": listing.inst_id}
    checksum = payloads.book_checksum(payloads.book_levels(current.bids), payloads.book_levels(current.asks))
    if previous is None:
        data = payloads.book(current.bids, current.asks, current.time_ms, current.update_id, -1, checksum)
        session.books[key] = current
        session.push({"arg": arg, "action": "snapshot", "data": [data]})
        return
    if current.update_id == previous.update_id:
        return
    bids = sorted(_level_changes(previous.bids, current.bids), reverse=True)
    asks = sorted(_level_changes(previous.asks, current.asks))
    data = payloads.book(bids, asks, current.time_ms, current.update_id, previous.update_id, checksum)
    session.books[key] = current
    session.push({"arg": arg, "action": "update", "data": [data]})


def _level_changes(
    before: tuple[tuple[Decimal, Decimal], ...], after: tuple[tuple[Decimal, Decimal], ...]
) -> list[tuple[Decimal, Decimal]]:
    old, new = dict(before), dict(after)
    changes = [(price, size) for price, size in after if old.get(price) != size]
    changes.extend((price, ZERO) for price in old if price not in new)
    return changes


def push_bbo_to(venue: OkxVenue, session: OkxSession, listing: Listing) -> None:
    current = venue.exchange_of(listing).book(listing.inst_id)
    bbo = payloads.book(current.bids[:1], current.asks[:1], current.time_ms, current.update_id)
    session.push({"arg": {"channel": "bbo-tbt", "instId": listing.inst_id}, "data": [bbo]})
