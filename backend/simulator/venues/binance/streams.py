"""Market data streams: ``/stream?streams=a/b`` (combined, ``{"stream", "data"}``) and ``/ws/a/b`` or ``/ws`` (raw).

Clients may add or drop streams with ``{"method": "SUBSCRIBE" | "UNSUBSCRIBE", "params": [...], "id": n}`` and get
``{"result": null, "id": n}`` back (``LIST_SUBSCRIPTIONS`` answers the list). Supported streams per symbol:
``@trade``, ``@aggTrade``, ``@bookTicker``, ``@depth`` / ``@depth@100ms`` (diffs) and ``@depth5|10|20[@100ms]``
(partial books). The book feed is derived from the core's book snapshots: this module keeps one update id per
symbol and sends, per book change, the levels that differ from the previous snapshot (quantity ``0`` = removed), so
a client that applies diffs on top of ``GET /depth`` rebuilds the same book.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from backend.simulator.core import ws
from backend.simulator.core.events import BookUpdate, PublicTrade
from backend.simulator.core.faults import FaultState
from backend.simulator.core.matching import SimExchange
from backend.simulator.core.ws import WsSession
from backend.simulator.venues.binance import payloads

_ENCODER = msgspec.json.Encoder()
Level = tuple[Decimal, Decimal]


@dataclass
class _Book:
    update_id: int
    bids: dict[Decimal, Decimal]
    asks: dict[Decimal, Decimal]




class MarketStreams:
    """One per market app: owns the stream connections and turns core events into stream messages."""

    def __init__(
        self,
        *,
        futures: bool,
        exchange: SimExchange,
        now_ms: Callable[[], int],
        faults: FaultState,
    ) -> None:
        self._futures = futures
        self._exchange = exchange
        self._now_ms = now_ms
        self._faults = faults
        self._connections: list[tuple[WsSession, bool]] = []  # (session, combined)
        self._books: dict[str, _Book] = {}
        for symbol in exchange.instruments:
            start = exchange.book(symbol)
            self._books[symbol] = _Book(update_id=1, bids=dict(start.bids), asks=dict(start.asks))

    # -- REST ----------------------------------------------------------------------------------------------------

    def depth_snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        """``GET /depth``: the current book with the update id the next diff continues from."""
        current = self._exchange.book(symbol)
        book = self._publish_book(symbol, current.bids, current.asks)
        bids = self._levels(symbol, sorted(book.bids.items(), reverse=True)[:limit])
        asks = self._levels(symbol, sorted(book.asks.items())[:limit])
        return payloads.depth_snapshot(book.update_id, bids, asks, self._now_ms(), self._futures)

    # -- WebSocket -----------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """``/stream?streams=a/b`` (combined) or ``/ws/a/b`` (raw): the streams named in the URL, then whatever the
        client subscribes to."""
        combined = request.path.endswith("/stream")
        names = request.query.get("streams", "") if combined else request.match_info.get("streams", "")

        def on_open(session: WsSession) -> None:
            session.topics.update(name for name in names.split("/") if name)
            self._connections.append((session, combined))

        def on_close(session: WsSession) -> None:
            self._connections.remove((session, combined))

        return await ws.serve(request, self._faults, self._on_control, on_open=on_open, on_close=on_close)

    def _on_control(self, connection: WsSession, text: str) -> None:
        try:
            request = msgspec.json.decode(text)
            method, request_id = request.get("method"), request.get("id")
            params = request.get("params") or []
        except (msgspec.DecodeError, AttributeError):
            connection.send_json({"code": 3, "msg": "Invalid JSON"})
            return
        if method == "SUBSCRIBE":
            connection.topics.update(str(p) for p in params)
            result: Any = None
        elif method == "UNSUBSCRIBE":
            connection.topics.difference_update(str(p) for p in params)
            result = None
        elif method == "LIST_SUBSCRIPTIONS":
            result = sorted(connection.topics)
        else:
            connection.send_json({"code": 2, "msg": f"Invalid request: unknown method {method!r}", "id": request_id})
            return
        connection.send_json({"result": result, "id": request_id})

    # -- core events ---------------------------------------------------------------------------------------------

    def on_trade(self, trade: PublicTrade) -> None:
        if not self._connections:
            return
        symbol, trade_id, time_ms = trade.symbol, trade.trade_id, trade.time_ms
        lower = symbol.lower()
        instrument = self._exchange.instruments[symbol]
        price_text = payloads.fmt(trade.price, payloads.price_places(instrument, self._futures))
        qty_text = payloads.fmt(trade.quantity, payloads.qty_places(instrument, self._futures))
        buyer_is_maker = trade.side == "SELL"  # the taker sold into a resting buy
        self._publish(f"{lower}@trade", lambda: payloads.trade_event(symbol, trade_id, price_text, qty_text,
                                                                     buyer_is_maker, time_ms))
        self._publish(f"{lower}@aggTrade", lambda: payloads.agg_trade_event(symbol, trade_id, price_text, qty_text,
                                                                            buyer_is_maker, time_ms))

    def on_book(self, update: BookUpdate) -> None:
        """A core ``BookUpdate`` (levels best first)."""
        if self._connections:
            self._publish_book(update.symbol, update.bids, update.asks)

    def _publish_book(self, symbol: str, bids: Iterable[Level], asks: Iterable[Level]) -> _Book:
        """Take ``symbol``'s current levels and send what changed to its subscribers (a REST snapshot goes through
        here too, so no change is absorbed by a snapshot without reaching the streams)."""
        book, changed_bids, changed_asks = self._refresh(symbol, bids, asks)
        if not changed_bids and not changed_asks:
            return book
        lower = symbol.lower()
        now = self._now_ms()
        best_bid = max(book.bids.items(), default=(Decimal(0), Decimal(0)))
        best_ask = min(book.asks.items(), default=(Decimal(0), Decimal(0)))
        bid = self._levels(symbol, [best_bid])[0]
        ask = self._levels(symbol, [best_ask])[0]
        self._publish(f"{lower}@bookTicker", lambda: payloads.book_ticker_event(
            symbol, book.update_id, (bid[0], bid[1]), (ask[0], ask[1]), now, self._futures))
        self._publish_all((f"{lower}@depth", f"{lower}@depth@100ms"), lambda: payloads.depth_update_event(
            symbol, book.update_id, book.update_id, self._levels(symbol, changed_bids),
            self._levels(symbol, changed_asks), now, self._futures))
        for depth in (5, 10, 20):
            self._publish_all((f"{lower}@depth{depth}", f"{lower}@depth{depth}@100ms"), lambda d=depth: (
                payloads.partial_depth_event(
                    book.update_id,
                    self._levels(symbol, sorted(book.bids.items(), reverse=True)[:d]),
                    self._levels(symbol, sorted(book.asks.items())[:d]),
                )))
        return book

    # -- helpers -------------------------------------------------------------------------------------------------

    def _refresh(
        self, symbol: str, bids: Iterable[Level], asks: Iterable[Level]
    ) -> tuple[_Book, list[Level], list[Level]]:
        """Store the new levels; bump the update id when they changed; return the changed levels per side."""
        book = self._books[symbol]
        new_bids, new_asks = dict(bids), dict(asks)
        changed_bids = _diff(book.bids, new_bids)
        changed_asks = _diff(book.asks, new_asks)
        if changed_bids or changed_asks:
            book.update_id += 1
            book.bids, book.asks = new_bids, new_asks
        return book, changed_bids, changed_asks

    def _levels(self, symbol: str, levels: list[Level]) -> list[list[str]]:
        instrument = self._exchange.instruments[symbol]
        price_places = payloads.price_places(instrument, self._futures)
        qty_places = payloads.qty_places(instrument, self._futures)
        return [[payloads.fmt(price, price_places), payloads.fmt(qty, qty_places)] for price, qty in levels]

    def _publish(self, stream: str, build: Callable[[], dict[str, Any]]) -> None:
        self._publish_all((stream,), build)

    def _publish_all(self, streams: tuple[str, ...], build: Callable[[], dict[str, Any]]) -> None:
        raw: str | None = None
        for connection, combined in self._connections:
            for stream in streams:
                if stream not in connection.topics:
                    continue
                data = build()
                if combined:
                    text = _ENCODER.encode({"stream": stream, "data": data}).decode()
                else:
                    if raw is None:
                        raw = _ENCODER.encode(data).decode()
                    text = raw
                connection.send_text(text)


def _diff(old: dict[Decimal, Decimal], new: dict[Decimal, Decimal]) -> list[Level]:
    """Levels whose quantity changed, including removed levels with quantity 0, in price order."""
    changed = [(price, qty) for price, qty in new.items() if old.get(price) != qty]
    changed += [(price, Decimal(0)) for price in old if price not in new]
    return sorted(changed)
