"""User data: who receives which account's order and balance events, over which connection.

* Spot: WebSocket API ``/ws-api/v3``: ``session.logon`` (HMAC or Ed25519 signed params) then
  ``userDataStream.subscribe``; events arrive on the same socket as ``{"subscriptionId": n, "event": {...}}``.
* USD-M futures: ``POST/PUT/DELETE /fapi/v1/listenKey`` (API key only) or, on the WebSocket API ``/ws-fapi/v1``,
  ``session.logon`` (Ed25519 keys only, as on Binance) + ``userDataStream.start``; events arrive raw on the stream
  socket ``/ws?listenKey=<key>`` (also ``/ws/<key>`` and ``/private/ws?listenKey=<key>``).

While the user-data fault is active (``/_sim/faults/user-stream/pause``) events are held back in order and
delivered on resume (the core's ``FaultState`` keeps them); fills and balances keep changing meanwhile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from backend.simulator.core import ws
from backend.simulator.core.faults import FaultState
from backend.simulator.core.ws import WsSession, push_user_event
from backend.simulator.venues.binance import errors, signing
from backend.simulator.venues.binance.errors import BinanceApiError
from backend.simulator.venues.binance.signing import Authenticator

_ENCODER = msgspec.json.Encoder()
Sink = Callable[[str], None]


class UserDataHub:
    """Fans each account's user-data messages out to its subscribed sinks. While the venue's user stream is paused
    the pushes are held (``core.ws.push_user_event``) and ``resume_user_stream`` delivers them in order."""

    def __init__(self, faults: FaultState) -> None:
        self._faults = faults
        self._sinks: dict[str, list[Sink]] = {}

    def subscribe(self, account_id: str, sink: Sink) -> None:
        self._sinks.setdefault(account_id, []).append(sink)

    def unsubscribe(self, account_id: str, sink: Sink) -> None:
        sinks = self._sinks.get(account_id, [])
        if sink in sinks:
            sinks.remove(sink)

    def has_subscribers(self, account_id: str) -> bool:
        return bool(self._sinks.get(account_id))

    def publish(self, account_id: str, message: dict[str, Any]) -> None:
        text = _ENCODER.encode(message).decode()
        push_user_event(self._faults, lambda: self._deliver(account_id, text))

    def _deliver(self, account_id: str, text: str) -> None:
        for sink in list(self._sinks.get(account_id, ())):
            sink(text)


@dataclass
class ListenKeys:
    """listenKey registry: one live key per (api key) like Binance, which hands back the same key while it lives."""

    keys: dict[str, str] = field(default_factory=dict)  # listen key -> account id
    by_api_key: dict[str, str] = field(default_factory=dict)
    counter: int = 0

    def create(self, api_key: str, account_id: str) -> str:
        existing = self.by_api_key.get(api_key)
        if existing is not None:
            return existing
        self.counter += 1
        key = hashlib.sha256(f"{api_key}:{self.counter}".encode()).hexdigest()
        self.keys[key] = account_id
        self.by_api_key[api_key] = key
        return key

    def keepalive(self, api_key: str, listen_key: str | None) -> str:
        key = listen_key or self.by_api_key.get(api_key)
        if key is None or key not in self.keys or self.by_api_key.get(api_key) != key:
            raise errors.invalid_listen_key()
        return key

    def close(self, api_key: str, listen_key: str | None) -> None:
        key = self.keepalive(api_key, listen_key)
        del self.keys[key]
        del self.by_api_key[api_key]

    def account(self, listen_key: str) -> str | None:
        return self.keys.get(listen_key)


class WsApiSession:
    """One WebSocket API connection (``/ws-api/v3`` or ``/ws-fapi/v1``): logon state and its user-data sink."""

    def __init__(self, *, futures: bool, auth: Authenticator, hub: UserDataHub, listen_keys: ListenKeys,
                 now_ms: Callable[[], int], session: WsSession) -> None:
        self._futures = futures
        self._auth = auth
        self._hub = hub
        self._listen_keys = listen_keys
        self._now_ms = now_ms
        self._session = session
        self._connected_ms = now_ms()
        self._api_key: str | None = None
        self._account_id: str | None = None
        self._logon_ms: int | None = None
        self._subscription: tuple[int, Sink] | None = None
        self._subscription_counter = 0

    def handle(self, text: str) -> None:
        try:
            request = msgspec.json.decode(text)
            request_id = request.get("id")
            method = request.get("method")
            params = request.get("params") or {}
        except (msgspec.DecodeError, AttributeError):
            self._send({"id": None, "status": 400, "error": {"code": -1100, "msg": "Malformed request."}})
            return
        try:
            result = self._dispatch(str(method), params)
        except BinanceApiError as exc:
            self._send({"id": request_id, "status": exc.status, "error": exc.body()})
            return
        self._send({"id": request_id, "status": 200, "result": result})

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if method == "session.logon":
            return self._logon(params)
        if method == "session.status":
            return self._status()
        if method == "session.logout":
            self.close()
            self._api_key = self._account_id = self._logon_ms = None
            return self._status()
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self._now_ms()}
        account_id = self._require_logon()
        if not self._futures and method == "userDataStream.subscribe":
            return self._subscribe(account_id)
        if not self._futures and method == "userDataStream.unsubscribe":
            self.close()
            return {}
        if self._futures and method == "userDataStream.start":
            return {"listenKey": self._listen_keys.create(self._api_key or "", account_id)}
        if self._futures and method == "userDataStream.ping":
            return {"listenKey": self._listen_keys.keepalive(self._api_key or "", params.get("listenKey"))}
        if self._futures and method == "userDataStream.stop":
            self._listen_keys.close(self._api_key or "", params.get("listenKey"))
            return {}
        raise BinanceApiError(-1100, f"Unknown method '{method}'.")

    def _logon(self, params: dict[str, Any]) -> dict[str, Any]:
        api_key = params.get("apiKey")
        credential = self._auth.credential(api_key if isinstance(api_key, str) else None)
        if self._futures and not self._auth.is_ed25519(credential):
            raise BinanceApiError(-4056, "HMAC_SHA256 API key is not supported.")
        signature = params.get("signature")
        if not isinstance(signature, str) or not signature:
            raise errors.missing_parameter("signature")
        text_params = {key: str(value) for key, value in params.items()}
        signing.check_timestamp(text_params, self._now_ms())
        if not self._auth.signature_valid(credential, signing.ws_api_payload(params), signature):
            raise errors.bad_signature()
        self._api_key, self._account_id, self._logon_ms = str(api_key), credential.account_id, self._now_ms()
        return self._status()

    def _status(self) -> dict[str, Any]:
        return {
            "apiKey": self._api_key,
            "authorizedSince": self._logon_ms,
            "connectedSince": self._connected_ms,
            "returnRateLimits": False,
            "serverTime": self._now_ms(),
            "userDataStream": self._subscription is not None,
        }

    def _require_logon(self) -> str:
        if self._account_id is None:
            raise BinanceApiError(-1002, "You are not authorized to execute this request.", 401)
        return self._account_id

    def _subscribe(self, account_id: str) -> dict[str, Any]:
        if self._subscription is None:
            subscription_id = self._subscription_counter
            self._subscription_counter += 1

            def sink(text: str, subscription_id: int = subscription_id) -> None:
                self._session.send_text(f'{{"subscriptionId":{subscription_id},"event":{text}}}')

            self._subscription = (subscription_id, sink)
            self._hub.subscribe(account_id, sink)
        return {"subscriptionId": self._subscription[0]}

    def close(self) -> None:
        if self._subscription is not None and self._account_id is not None:
            self._hub.unsubscribe(self._account_id, self._subscription[1])
        self._subscription = None

    def _send(self, message: dict[str, Any]) -> None:
        self._session.send_json(message)


class UserDataEndpoints:
    """The aiohttp handlers for one market's user data (WS API, listenKey REST and the listenKey stream)."""

    def __init__(self, *, futures: bool, auth: Authenticator, hub: UserDataHub, listen_keys: ListenKeys,
                 now_ms: Callable[[], int], faults: FaultState) -> None:
        self._futures = futures
        self._auth = auth
        self._hub = hub
        self._listen_keys = listen_keys
        self._now_ms = now_ms
        self._faults = faults

    async def ws_api(self, request: web.Request) -> web.WebSocketResponse:
        sessions: dict[WsSession, WsApiSession] = {}

        def on_open(session: WsSession) -> None:
            sessions[session] = WsApiSession(futures=self._futures, auth=self._auth, hub=self._hub,
                                             listen_keys=self._listen_keys, now_ms=self._now_ms, session=session)

        return await ws.serve(request, self._faults, lambda session, text: sessions[session].handle(text),
                              on_open=on_open, on_close=lambda session: sessions.pop(session).close())

    async def listen_key_stream(self, request: web.Request, listen_key: str | None = None) -> web.StreamResponse:
        """The stream of ``listen_key`` (from the path) or of the ``listenKey`` query parameter."""
        listen_key = listen_key or request.query.get("listenKey", "")
        account_id = self._listen_keys.account(listen_key)
        if account_id is None:
            raise web.HTTPBadRequest(text='{"code":-1125,"msg":"This listenKey does not exist."}',
                                     content_type="application/json")
        return await ws.serve(
            request, self._faults, lambda session, text: None,
            on_open=lambda session: self._hub.subscribe(account_id, session.send_text),
            on_close=lambda session: self._hub.unsubscribe(account_id, session.send_text),
        )

    # listenKey REST (API key only, no signature)

    def create_listen_key(self, call: Any) -> dict[str, str]:
        return {"listenKey": self._listen_keys.create(call.api_key, call.account_id)}

    def keepalive_listen_key(self, call: Any) -> dict[str, str]:
        key = self._listen_keys.keepalive(call.api_key, call.get("listenKey"))
        return {"listenKey": key} if self._futures else {}

    def close_listen_key(self, call: Any) -> dict[str, str]:
        self._listen_keys.close(call.api_key, call.get("listenKey"))
        return {}
