"""Private stream ``/v5/private``: ``auth``, then topics ``order``, ``execution``, ``position``, ``wallet``.

Topics may be narrowed to a category (``order.spot``, ``execution.linear`` ...); a push carries the topic name the
client subscribed with. For a fill the ``execution`` push precedes the ``order`` push, then ``wallet`` and (linear)
``position`` follow as the core emits them. While the user stream is paused by a fault, pushes are held and
delivered in order on resume. Acknowledgements use the private stream's snake_case shape
(``{"success", "ret_msg", "op", "conn_id", "req_id"}``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backend.simulator.core.events import AccountUpdate, OrderUpdate, PositionUpdate, SimEvent
from backend.simulator.core.funding import FundingPayment
from backend.simulator.core.ws import WsSession, push_user_event
from backend.simulator.venues.bybit import errors
from backend.simulator.venues.bybit.errors import BybitApiError
from backend.simulator.venues.bybit.framing import serve
from backend.simulator.venues.bybit.venue import CATEGORIES, BybitVenue, cancel_type_of

CHANNELS = ("order", "execution", "position", "wallet")
CATEGORY_TOPICS = {
    "order": CATEGORIES,
    "execution": CATEGORIES,
    "position": ("linear",),
    "wallet": (),
}


def valid_topic(topic: object) -> bool:
    if not isinstance(topic, str):
        return False
    channel, _, category = topic.partition(".")
    return channel in CHANNELS and (not category or category in CATEGORY_TOPICS[channel])


class PrivateStream:
    def __init__(self, venue: BybitVenue) -> None:
        self.venue = venue
        self.connections: set[WsSession] = set()
        for exchange in venue.exchanges.values():
            exchange.subscribe(self.on_event)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(
            request, self.venue.faults, self.venue.new_conn_id("private"), self.on_message, self.connections.discard
        )

    # -- requests --------------------------------------------------------------------------------------------------

    def on_message(self, connection: WsSession, data: dict[str, Any]) -> None:
        op, req_id = data.get("op"), data.get("req_id", "")
        if op == "ping":
            connection.send_json({"req_id": req_id, "op": "pong", "args": [str(self.venue.now_ms())],
                             "conn_id": connection.conn_id})
            return
        try:
            if op == "auth":
                connection.account_id = self.venue.auth.verify_ws_auth(data.get("args")).account_id
                self.connections.add(connection)
            elif op in ("subscribe", "unsubscribe"):
                self._change_subscription(connection, op, data.get("args"))
            else:
                raise errors.unknown_operation(str(op))
        except BybitApiError as error:
            connection.send_json(_ack(connection, op, req_id, False, error.msg))
            return
        connection.send_json(_ack(connection, op, req_id, True, ""))

    @staticmethod
    def _change_subscription(connection: WsSession, op: str, topics: object) -> None:
        if connection.account_id is None:
            raise errors.not_authorized()
        if not isinstance(topics, list) or not topics:
            raise errors.parameter_error("args must be a non-empty list of topics")
        invalid = [t for t in topics if not valid_topic(t)]
        if invalid:
            raise BybitApiError(10001, f"Invalid topic: {invalid[0]}")
        if op == "subscribe":
            connection.topics.update(topics)
        else:
            connection.topics.difference_update(topics)

    # -- pushes ----------------------------------------------------------------------------------------------------

    def on_event(self, event: SimEvent) -> None:
        venue = self.venue
        if isinstance(event, OrderUpdate):
            category = venue.category_of(event.exchange)
            if event.fill is not None:
                self._push(event.account_id, "execution", category,
                           [venue.execution_item(category, event.fill, event.order)])
            self._push(event.account_id, "order", category,
                       [venue.order_item(category, event.order, cancel_type_of(event))])
        elif isinstance(event, FundingPayment):
            self._push(event.account_id, "execution", "linear", [venue.funding_item(event)])
        elif isinstance(event, AccountUpdate):
            self._push(event.account_id, "wallet", None, [venue.wallet_item(event.account_id)])
        elif isinstance(event, PositionUpdate):
            self._push(event.account_id, "position", "linear",
                       [venue.position_item(event.account_id, event.position.symbol)])

    def _push(self, account_id: str, channel: str, category: str | None, data: list[dict[str, Any]]) -> None:
        for connection in list(self.connections):
            if connection.account_id != account_id:
                continue
            topic = next((t for t in (channel, f"{channel}.{category}") if t in connection.topics), None)
            if topic is None:
                continue
            message = {"id": str(self.venue.next_seq()), "topic": topic, "creationTime": self.venue.now_ms(),
                       "data": data}
            push_user_event(self.venue.faults, lambda c=connection, m=message: c.send_json(m))


def _ack(connection: WsSession, op: object, req_id: object, success: bool, ret_msg: str) -> dict[str, Any]:
    return {"success": success, "ret_msg": ret_msg, "op": op, "conn_id": connection.conn_id, "req_id": req_id}
