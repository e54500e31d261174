"""What the three OKX WebSocket endpoints share: one session per connection, plain-text ping/pong, JSON framing,
``subscribe`` / ``unsubscribe`` bookkeeping and the ``login`` handshake.

Each endpoint (``ws_public``, ``ws_private``, ``ws_business``) supplies an ``Endpoint``: the channels it serves,
whether they need a login, what to send right after a subscription (snapshots) and how to run other ``op``s
(order entry on ``/ws/v5/private``). Sessions, their ordered send queues and socket registration are the shared
``core.ws`` plumbing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from backend.simulator.core import ws
from backend.simulator.venues.okx import errors, signing
from backend.simulator.venues.okx.errors import OkxError
from backend.simulator.venues.okx.state import OkxVenue

LOGIN_WINDOW_MS = 30_000


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscribed channel argument, normalised (``instType`` / ``instId`` / ``instFamily`` as given)."""

    channel: str
    inst_type: str | None = None
    inst_id: str | None = None

    @classmethod
    def from_arg(cls, arg: dict[str, Any]) -> Subscription:
        return cls(arg.get("channel", ""), arg.get("instType"), arg.get("instId"))

    def matches(self, channel: str, inst_type: str, inst_id: str) -> bool:
        """Whether a message on ``channel`` about ``inst_id`` (of ``inst_type``) belongs to this subscription."""
        if self.channel != channel:
            return False
        if self.inst_id is not None:
            return self.inst_id == inst_id
        return self.inst_type in (None, "ANY", inst_type)


class OkxSession(ws.WsSession):
    """One client connection (``core.ws`` session): its login (``account_id``), subscriptions and, for ``books``
    subscribers, the last book each one saw."""

    def __init__(self, socket: web.WebSocketResponse, conn_id: str) -> None:
        super().__init__(socket, conn_id)
        self.subscriptions: list[Subscription] = []
        self.books: dict[tuple[str, str], Any] = {}

    def push(self, payload: Any) -> None:
        """Queue one message (a dict, or plain text such as ``pong``) behind everything queued before it."""
        if isinstance(payload, str):
            self.send_text(payload)
        else:
            self.send_json(payload)

    def subscribed(self, channel: str, inst_type: str, inst_id: str) -> Subscription | None:
        for subscription in self.subscriptions:
            if subscription.matches(channel, inst_type, inst_id):
                return subscription
        return None


SubscribeHook = Callable[[OkxSession, Subscription], None]
OpHandler = Callable[[OkxSession, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What one WebSocket URL serves."""

    name: str  # "public" | "private" | "business"
    channels: frozenset[str]
    login_required: bool
    on_subscribe: SubscribeHook | None = None
    ops: dict[str, OpHandler] = field(default_factory=dict)


def error_event(session: OkxSession, error: OkxError, request_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event": "error", "code": error.code, "msg": error.msg, "connId": session.conn_id}
    if request_id is not None:
        event = {"id": request_id, **event}
    return event


def login(venue: OkxVenue, args: Any) -> str:
    """The account id a ``login`` op (its ``args``) authenticates, or raise the WebSocket error OKX answers with."""
    if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
        raise errors.ws_error(*errors.WS_INVALID_ARGS)
    arg = args[0]
    fields = [arg.get(name) for name in ("apiKey", "passphrase", "timestamp", "sign")]
    if not all(isinstance(value, str) and value for value in fields):
        raise errors.ws_error(*errors.WS_INVALID_ARGS)
    api_key, passphrase, timestamp, signature = fields
    credential = venue.credentials.get(api_key)
    if credential is None:
        raise errors.ws_error(*errors.WS_INVALID_KEY)
    sent_ms = signing.parse_ws_timestamp_ms(timestamp)
    if sent_ms is None:
        raise errors.ws_error(*errors.WS_INVALID_TIMESTAMP)
    if abs(venue.now_ms() - sent_ms) > LOGIN_WINDOW_MS:
        raise errors.ws_error(*errors.WS_TIMESTAMP_EXPIRED)
    if passphrase != credential.passphrase:
        raise errors.ws_error(*errors.WS_WRONG_PASSPHRASE)
    expected = signing.ws_login_signature(credential.secret, timestamp)
    if not signing.signatures_match(expected, signature):
        raise errors.ws_error(*errors.WS_INVALID_SIGN)
    return credential.account_id


def _handle_subscription(venue: OkxVenue, endpoint: Endpoint, session: OkxSession, message: dict[str, Any]) -> None:
    op = message["op"]
    request_id = message.get("id")
    args = message.get("args")
    if not isinstance(args, list) or not args:
        session.push(error_event(session, errors.ws_error(*errors.WS_INVALID_ARGS), request_id))
        return
    for arg in args:
        if not isinstance(arg, dict):
            session.push(error_event(session, errors.ws_error(*errors.WS_INVALID_ARGS), request_id))
            continue
        subscription = Subscription.from_arg(arg)
        if subscription.channel not in endpoint.channels:
            unknown = errors.ws_error(
                "60018", f"Wrong URL or channel:{subscription.channel} doesn't exist. Please use the correct URL, "
                "channel and parameters referring to API document.",
            )
            session.push(error_event(session, unknown, request_id))
            continue
        if endpoint.login_required and session.account_id is None:
            session.push(error_event(session, errors.ws_error(*errors.WS_LOGIN_REQUIRED), request_id))
            continue
        if subscription.inst_id is not None and venue.catalog.by_inst_id(subscription.inst_id) is None:
            unknown_inst = errors.ws_error(
                "60018", f"Wrong URL or channel:{subscription.channel},instId:{subscription.inst_id} doesn't "
                "exist. Please use the correct URL, channel and parameters referring to API document.",
            )
            session.push(error_event(session, unknown_inst, request_id))
            continue
        ack: dict[str, Any] = {"event": op, "arg": arg, "connId": session.conn_id}
        if request_id is not None:
            ack = {"id": request_id, **ack}
        if op == "subscribe":
            if subscription not in session.subscriptions:
                session.subscriptions.append(subscription)
            session.push(ack)
            if endpoint.on_subscribe is not None:
                endpoint.on_subscribe(session, subscription)
        else:
            with contextlib.suppress(ValueError):
                session.subscriptions.remove(subscription)
            session.push(ack)


async def _handle_text(venue: OkxVenue, endpoint: Endpoint, session: OkxSession, text: str) -> None:
    if text == "ping":
        session.push("pong")
        return
    try:
        message = json.loads(text)
    except ValueError:
        session.push(error_event(session, errors.ws_error(*errors.WS_INVALID_REQUEST)))
        return
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        session.push(error_event(session, errors.ws_error(*errors.WS_INVALID_REQUEST)))
        return
    op = message["op"]
    if op == "login":
        try:
            session.account_id = login(venue, message.get("args"))
        except OkxError as error:
            session.push(error_event(session, error))
            return
        session.push({"event": "login", "code": "0", "msg": "", "connId": session.conn_id})
    elif op in ("subscribe", "unsubscribe"):
        _handle_subscription(venue, endpoint, session, message)
    elif op in endpoint.ops:
        await endpoint.ops[op](session, message)
    else:
        invalid_op = errors.ws_error("60019", f"Invalid op: {op}")
        session.push(error_event(session, invalid_op, message.get("id")))


def websocket_handler(venue: OkxVenue, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler serving one endpoint: registers each session with the venue while it is open."""
    sessions = venue.sessions[endpoint.name]

    async def handle(request: web.Request) -> web.StreamResponse:
        return await ws.serve(
            request, venue.faults, lambda session, text: _handle_text(venue, endpoint, session, text),
            conn_id=venue.next_conn_id(), session_type=OkxSession, on_open=sessions.append, on_close=sessions.remove,
        )

    return handle
