"""Shared REST plumbing: parameters, security levels (public / API key / signed), JSON and Binance error bodies.

Every endpoint handler is a plain function ``handler(call) -> JSON-able`` that may raise ``BinanceApiError`` or the
core's ``SimError``; ``endpoint`` wraps it (``core.rest.rest_endpoint``) into an aiohttp handler that authenticates
first, so a refused request never reaches the core (nothing changes).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from backend.simulator.core.rest import integer_param, rest_endpoint
from backend.simulator.venues.binance import errors, signing
from backend.simulator.venues.binance.errors import BinanceApiError, Market
from backend.simulator.venues.binance.signing import Authenticator

_ENCODER = msgspec.json.Encoder()


class Security(enum.Enum):
    NONE = "NONE"  # public market data
    API_KEY = "API_KEY"  # X-MBX-APIKEY only (listenKey management)
    SIGNED = "SIGNED"  # TRADE / USER_DATA: key + timestamp + signature


@dataclass(frozen=True, slots=True)
class Call:
    """One REST request after authentication: its parameters and the account it acts for."""

    params: Mapping[str, str]
    account_id: str | None
    api_key: str | None

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        return None if value is None or value == "" else value

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise errors.missing_parameter(name)
        return value

    def integer(self, name: str) -> int | None:
        return integer_param(self.get(name), lambda: errors.malformed_parameter(name))


Handler = Callable[[Call], Any]


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=_ENCODER.encode(payload), status=status, content_type="application/json")


def error_response(error: BinanceApiError) -> web.Response:
    return json_response(error.body(), status=error.status)


def endpoint(
    auth: Authenticator, market: Market, security: Security, handler: Handler, action: errors.Action = "new"
) -> Callable[[web.Request], Any]:
    """An aiohttp handler: parse, authenticate at ``security``, run ``handler``, answer JSON or Binance's error."""

    async def run(request: web.Request) -> Any:
        body = await request.text() if request.body_exists else ""
        params = _parameters(request, body)
        account_id, api_key = None, None
        if security is not Security.NONE:
            api_key = request.headers.get("X-MBX-APIKEY")
            credential = auth.credential(api_key)
            account_id = credential.account_id
            if security is Security.SIGNED:
                payload, signature = signing.split_signature(request.rel_url.raw_query_string, body)
                auth.verify(credential, params, payload, signature)
        return handler(Call(params=params, account_id=account_id, api_key=api_key))

    return rest_endpoint(run, json_response, error_response, lambda exc: errors.from_sim_error(exc, market, action))


def _parameters(request: web.Request, body: str) -> dict[str, str]:
    """Query string and form body merged (Binance accepts both); the query string wins on a repeated name."""
    params: dict[str, str] = dict(request.query)
    if body and not body.lstrip().startswith("{"):
        for key, value in parse_qsl(body, keep_blank_values=True):
            params.setdefault(key, value)
    return params
