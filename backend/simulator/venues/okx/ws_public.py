"""``/ws/v5/public``: channels ``instruments`` (the listed instruments of an ``instType`` on subscribe),
``bbo-tbt`` (best bid/offer), ``books`` (snapshot, then updates), ``trades`` and ``mark-price`` (the last price:
the simulated market has no separate index)."""

from __future__ import annotations

from typing import Any

from backend.simulator.venues.okx import payloads, streams
from backend.simulator.venues.okx.state import OkxVenue
from backend.simulator.venues.okx.ws_session import Endpoint, OkxSession, Subscription

CHANNELS = frozenset(("instruments", "bbo-tbt", "books", "trades", "mark-price"))


def _on_subscribe(venue: OkxVenue) -> Any:
    def snapshot(session: OkxSession, subscription: Subscription) -> None:
        arg: dict[str, Any] = {"channel": subscription.channel}
        if subscription.channel == "instruments":
            arg["instType"] = subscription.inst_type
            listings = venue.catalog.of_type(subscription.inst_type)
            session.push({"arg": arg, "data": [payloads.instrument(listing) for listing in listings]})
            return
        listing = venue.catalog.by_inst_id(subscription.inst_id or "")
        if listing is None:
            return
        if subscription.channel == "bbo-tbt":
            streams.push_bbo_to(venue, session, listing)
        elif subscription.channel == "books":
            streams.push_book_to(venue, session, listing)
        elif subscription.channel == "mark-price":
            book = venue.exchange_of(listing).book(listing.inst_id)
            arg["instId"] = listing.inst_id
            session.push({"arg": arg, "data": [payloads.mark_price(listing, book.last_price, book.time_ms)]})

    return snapshot


def endpoint(venue: OkxVenue) -> Endpoint:
    return Endpoint(name="public", channels=CHANNELS, login_required=False, on_subscribe=_on_subscribe(venue))
