"""Public streams ``/v5/public/spot`` and ``/v5/public/linear``: ``orderbook.{depth}.{symbol}``,
``publicTrade.{symbol}``, ``tickers.{symbol}`` (and ``kline.{interval}.{symbol}``, acknowledged but silent: the
simulator keeps no candles).

Every book push is a ``snapshot`` of the top ``depth`` levels (Bybit clients must accept a snapshot at any time and
reset their book); the first one follows the subscription acknowledgement. Acknowledgements use the public shape
``{"success", "ret_msg", "conn_id", "req_id", "op"}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backend.simulator.core.events import BookUpdate, PublicTrade, SimEvent
from backend.simulator.core.ws import WsSession
from backend.simulator.venues.bybit import payloads
from backend.simulator.venues.bybit.framing import serve
from backend.simulator.venues.bybit.payloads import Category
from backend.simulator.venues.bybit.venue import BybitVenue

BOOK_DEPTHS: dict[Category, frozenset[int]] = {
    "spot": frozenset((1, 50, 200, 1000)),
    "linear": frozenset((1, 50, 200, 500, 1000)),
}
KLINE_INTERVALS = frozenset(("1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M"))


class PublicStream:
    def __init__(self, venue: BybitVenue, category: Category) -> None:
        self.venue = venue
        self.category = category
        self.exchange = venue.exchanges[category]
        self.connections: set[WsSession] = set()
        self.exchange.subscribe(self.on_event)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(
            request, self.venue.faults, self.venue.new_conn_id(f"public-{self.category}"), self.on_message,
            self.connections.discard,
        )

    # -- requests --------------------------------------------------------------------------------------------------

    def on_message(self, connection: WsSession, data: dict[str, Any]) -> None:
        op, req_id = data.get("op"), data.get("req_id", "")
        if op == "ping":
            connection.send_json(_ack(connection, "ping", req_id, True, "pong"))
            return
        if op not in ("subscribe", "unsubscribe"):
            connection.send_json(_ack(connection, op, req_id, False, f"error:op not found,op:{op}"))
            return
        topics = data.get("args")
        if not isinstance(topics, list) or not topics:
            connection.send_json(_ack(connection, op, req_id, False, "error:args must be a non-empty list of topics"))
            return
        invalid = next((t for t in topics if self.topic_symbol(t) is None), None)
        if invalid is not None:
            connection.send_json(_ack(connection, op, req_id, False, f"error:handler not found,topic:{invalid}"))
            return
        if op == "unsubscribe":
            connection.topics.difference_update(topics)
            connection.send_json(_ack(connection, op, req_id, True, ""))
            return
        self.connections.add(connection)
        connection.topics.update(topics)
        connection.send_json(_ack(connection, op, req_id, True, "subscribe"))
        for topic in topics:
            self._send_initial(connection, topic)

    def topic_symbol(self, topic: object) -> str | None:
        """The symbol a valid topic names, None for an unknown topic or symbol."""
        if not isinstance(topic, str):
            return None
        parts = topic.split(".")
        if parts[0] == "orderbook" and len(parts) == 3 and parts[1].isdigit():
            valid = int(parts[1]) in BOOK_DEPTHS[self.category]
        elif parts[0] == "kline" and len(parts) == 3:
            valid = parts[1] in KLINE_INTERVALS
        else:
            valid = parts[0] in ("publicTrade", "tickers") and len(parts) == 2
        symbol = parts[-1]
        return symbol if valid and symbol in self.exchange.instruments else None

    def _send_initial(self, connection: WsSession, topic: str) -> None:
        symbol = self.topic_symbol(topic)
        if topic.startswith("orderbook."):
            connection.send_json(self._book_message(topic, self.exchange.book(symbol)))  # type: ignore[arg-type]
        elif topic.startswith("tickers."):
            connection.send_json(self._ticker_message(topic, symbol, self.venue.now_ms()))  # type: ignore[arg-type]

    # -- pushes ----------------------------------------------------------------------------------------------------

    def on_event(self, event: SimEvent) -> None:
        if isinstance(event, BookUpdate):
            for connection, topic in self._subscribers(event.symbol, ("orderbook", "tickers")):
                if topic.startswith("orderbook."):
                    connection.send_json(self._book_message(topic, event))
                else:
                    connection.send_json(self._ticker_message(topic, event.symbol, event.time_ms))
        elif isinstance(event, PublicTrade):
            item = payloads.public_trade_item(self.category, event.symbol, event.trade_id, event.price, event.quantity, event.side,
                                              event.time_ms)
            for connection, topic in self._subscribers(event.symbol, ("publicTrade",)):
                connection.send_json({"topic": topic, "type": "snapshot", "ts": event.time_ms, "data": [item]})

    def _subscribers(self, symbol: str, channels: tuple[str, ...]) -> list[tuple[WsSession, str]]:
        return [
            (connection, topic)
            for connection in list(self.connections)
            for topic in sorted(connection.topics)
            if topic.split(".")[0] in channels and topic.endswith(f".{symbol}")
        ]

    def _book_message(self, topic: str, book: BookUpdate) -> dict[str, Any]:
        depth = int(topic.split(".")[1])
        return {
            "topic": topic,
            "type": "snapshot",
            "ts": book.time_ms,
            "data": {
                "s": book.symbol,
                "b": payloads.book_levels(book.bids[:depth]),
                "a": payloads.book_levels(book.asks[:depth]),
                "u": book.update_id,
                "seq": book.update_id,
            },
            "cts": book.time_ms,
        }

    def _ticker_message(self, topic: str, symbol: str, time_ms: int) -> dict[str, Any]:
        return {
            "topic": topic,
            "type": "snapshot",
            "data": self.venue.ticker_item(self.category, symbol),
            "cs": self.exchange.markets[symbol].update_id,
            "ts": time_ms,
        }


def _ack(connection: WsSession, op: object, req_id: object, success: bool, ret_msg: str) -> dict[str, Any]:
    return {"success": success, "ret_msg": ret_msg, "conn_id": connection.conn_id, "req_id": req_id, "op": op}
