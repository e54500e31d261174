"""``/ws/v5/private``: ``login``; channels ``orders``, ``account``, ``positions``; order entry ops ``order``,
``cancel-order``, ``amend-order`` (and ``batch-orders`` / ``batch-cancel-orders`` / ``batch-amend-orders``).

An op answers ``{"id", "op", "code", "msg", "data": [per-order rows], "inTime", "outTime"}`` (times in
microseconds); the resulting ``orders`` / ``account`` / ``positions`` pushes follow the answer.
"""

from __future__ import annotations

from typing import Any

from backend.simulator.venues.okx import errors, streams, trading
from backend.simulator.venues.okx.state import OkxVenue
from backend.simulator.venues.okx.ws_session import Endpoint, OkxSession, Subscription

CHANNELS = frozenset(("orders", "account", "positions"))
MAX_BATCH = 20


def _answer(venue: OkxVenue, message: dict[str, Any], code: str, msg: str, rows: list[dict[str, Any]],
            in_time_us: int) -> dict[str, Any]:
    return {
        "id": message.get("id", ""),
        "op": message["op"],
        "code": code,
        "msg": msg,
        "data": rows,
        "inTime": str(in_time_us),
        "outTime": str(venue.now_ms() * 1000),
    }


def _operation(venue: OkxVenue, single: bool) -> Any:
    async def run(session: OkxSession, message: dict[str, Any]) -> None:
        in_time_us = venue.now_ms() * 1000
        args = message.get("args")
        if session.account_id is None:
            error = errors.ws_error(*errors.WS_LOGIN_REQUIRED)
            session.push(_answer(venue, message, error.code, error.msg, [], in_time_us))
            return
        if (
            not isinstance(args, list)
            or not args
            or (single and len(args) != 1)
            or len(args) > MAX_BATCH
            or not all(isinstance(arg, dict) for arg in args)
        ):
            error = errors.ws_error(*errors.WS_INVALID_ARGS)
            session.push(_answer(venue, message, error.code, error.msg, [], in_time_us))
            return
        action = (trading.OPERATIONS if single else trading.BATCH_OPERATIONS)[message["op"]]
        with venue.deferring_events():
            rows = [action(venue, session.account_id, arg) for arg in args]
            session.push(_answer(venue, message, trading.envelope_code(rows), "", rows, in_time_us))

    return run


def _on_subscribe(venue: OkxVenue) -> Any:
    def snapshot(session: OkxSession, subscription: Subscription) -> None:
        if subscription.channel == "account":
            streams.push_account_to(venue, session)
        elif subscription.channel == "positions":
            streams.push_positions_to(venue, session, subscription)

    return snapshot


def endpoint(venue: OkxVenue) -> Endpoint:
    ops = {op: _operation(venue, single=True) for op in trading.OPERATIONS}
    ops.update({op: _operation(venue, single=False) for op in trading.BATCH_OPERATIONS})
    return Endpoint(name="private", channels=CHANNELS, login_required=True, on_subscribe=_on_subscribe(venue), ops=ops)
