"""OKX v5 protocol on the shared simulator core: one app (REST + ``/ws/v5/public|private|business``) over the
unified account's ``spot`` and ``swap`` exchanges.

NautilusTrader's OKX configs take ``base_url_http`` = ``SIM_OKX_HTTP`` and ``base_url_ws`` = ``SIM_OKX_WS_PUBLIC``
(data client) / ``SIM_OKX_WS_PRIVATE`` (execution client); the adapter derives the business URL itself
(``derive_okx_ws_url(base_url_ws, "business")`` -> ``.../ws/v5/business`` = ``SIM_OKX_WS_BUSINESS``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from backend.simulator.runtime import http_and_ws
from backend.simulator.venues.okx import algo, errors, market_extra, rest, streams, ws_business, ws_private, ws_public
from backend.simulator.venues.okx.defaults import credential_env, default_config
from backend.simulator.venues.okx.state import OkxVenue
from backend.simulator.venues.okx.ws_session import websocket_handler

if TYPE_CHECKING:
    from backend.simulator.runtime import VenueRuntime

WS_PATHS = {"public": "/ws/v5/public", "private": "/ws/v5/private", "business": "/ws/v5/business"}


def create_apps(runtime: VenueRuntime) -> dict[str, web.Application]:
    venue = OkxVenue(runtime)
    for exchange in venue.exchanges.values():
        exchange.subscribe(partial(streams.on_event, venue))
    app = web.Application()
    rest.add_routes(app, venue)
    market_extra.add_routes(app, venue)
    algo.add_routes(app, venue)
    endpoints = {
        "public": ws_public.endpoint(venue),
        "private": ws_private.endpoint(venue),
        "business": ws_business.endpoint(),
    }
    for name, path in WS_PATHS.items():
        app.router.add_get(path, websocket_handler(venue, endpoints[name]))
    return {"main": app}


def endpoint_env(urls: dict[str, str]) -> dict[str, str]:
    http, ws = http_and_ws(urls["main"])
    return {"SIM_OKX_HTTP": http} | {f"SIM_OKX_WS_{name.upper()}": ws + path for name, path in WS_PATHS.items()}


def fault_response(status: int) -> web.Response:
    """What OKX answers with ``status`` when an injected REST failure (``/_sim/faults/rest``) hits a call."""
    if status == 429:
        limited = errors.rate_limited()
        return web.json_response({"code": limited.code, "msg": limited.msg, "data": []}, status=429)
    if status >= 500:
        return web.json_response({"code": "50001", "msg": "Service temporarily unavailable. Please try again later.",
                                  "data": []}, status=status)
    return web.json_response({"code": "50000", "msg": "Request failed.", "data": []}, status=status)


__all__ = ["create_apps", "credential_env", "default_config", "endpoint_env"]
