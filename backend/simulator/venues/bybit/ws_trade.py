"""Trade stream ``/v5/trade``: ``auth``, then ``order.create`` / ``order.amend`` / ``order.cancel`` with a ``reqId``.

Responses use the trade stream's camelCase envelope:
``{"reqId", "retCode", "retMsg", "op", "data": {"orderId", "orderLinkId"}, "retExtInfo", "header", "connId"}``.
The request ``header`` must carry ``X-BAPI-TIMESTAMP`` within ``X-BAPI-RECV-WINDOW`` (default 5000 ms) of the venue
clock (10002 otherwise). A refused request (non-zero ``retCode``) changes nothing; accepted ones are followed by
pushes on the private stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from backend.simulator.core.ws import WsSession
from backend.simulator.venues.bybit import errors
from backend.simulator.venues.bybit.errors import BybitApiError
from backend.simulator.venues.bybit.framing import serve
from backend.simulator.venues.bybit.signing import DEFAULT_RECV_WINDOW_MS, MAX_CLOCK_AHEAD_MS
from backend.simulator.venues.bybit.venue import BybitVenue

RATE_LIMIT = 10


class TradeStream:
    def __init__(self, venue: BybitVenue) -> None:
        self.venue = venue
        self.operations = {
            "order.create": venue.place_order,
            "order.amend": venue.amend_order,
            "order.cancel": venue.cancel_order,
        }

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(request, self.venue.faults, self.venue.new_conn_id("trade"), self.on_message)

    def on_message(self, connection: WsSession, data: dict[str, Any]) -> None:
        op, req_id = data.get("op"), data.get("reqId", "")
        now = self.venue.now_ms()
        if op == "ping":
            connection.send_json({"retCode": 0, "retMsg": "OK", "op": "pong", "data": [str(now)],
                             "connId": connection.conn_id})
            return
        if op == "auth":
            try:
                connection.account_id = self.venue.auth.verify_ws_auth(data.get("args")).account_id
            except BybitApiError as error:
                connection.send_json({"retCode": error.code, "retMsg": error.msg, "op": "auth",
                                 "connId": connection.conn_id})
                return
            connection.send_json({"retCode": 0, "retMsg": "OK", "op": "auth", "connId": connection.conn_id})
            return
        try:
            result = self._order_operation(connection, op, data)
        except BybitApiError as error:
            connection.send_json(self._response(connection, op, req_id, {}, error.code, error.msg))
            return
        connection.send_json(self._response(connection, op, req_id, result, 0, "OK"))

    def _order_operation(self, connection: WsSession, op: object, data: Mapping[str, Any]) -> dict[str, str]:
        operation = self.operations.get(op)  # type: ignore[arg-type]
        if operation is None:
            raise errors.unknown_operation(str(op))
        if connection.account_id is None:
            raise errors.not_authorized()
        self._check_header(data.get("header"))
        args = data.get("args")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            raise errors.parameter_error("args must be a list holding one order object")
        return operation(connection.account_id, args[0])

    def _check_header(self, header: object) -> None:
        if not isinstance(header, dict):
            raise errors.parameter_error("header with X-BAPI-TIMESTAMP is required")
        timestamp = str(header.get("X-BAPI-TIMESTAMP", ""))
        recv_window = str(header.get("X-BAPI-RECV-WINDOW", "") or DEFAULT_RECV_WINDOW_MS)
        now = self.venue.now_ms()
        try:
            fresh = now - int(recv_window) <= int(timestamp) < now + MAX_CLOCK_AHEAD_MS
        except ValueError:
            fresh = False
        if not fresh:
            raise errors.timestamp_outside_window(timestamp, now, recv_window)

    def _response(self, connection: WsSession, op: object, req_id: object, result: dict[str, str], ret_code: int,
                  ret_msg: str) -> dict[str, Any]:
        now = self.venue.now_ms()
        return {
            "reqId": req_id,
            "retCode": ret_code,
            "retMsg": ret_msg,
            "op": op,
            "data": result,
            "retExtInfo": {},
            "header": {
                "X-Bapi-Limit": str(RATE_LIMIT),
                "X-Bapi-Limit-Status": str(RATE_LIMIT - 1),
                "X-Bapi-Limit-Reset-Timestamp": str(now),
                "Traceid": f"sim-{req_id}",
                "Timenow": str(now),
            },
            "connId": connection.conn_id,
        }
