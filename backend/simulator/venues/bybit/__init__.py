"""Simulated Bybit v5 venue: one app (like api.bybit.com + stream.bybit.com) serving REST, the public streams
``/v5/public/{spot,linear}``, the private stream ``/v5/private`` and the trade stream ``/v5/trade``.

The runtime's ``spot`` and ``linear`` exchanges trade from one unified wallet per account.
"""

from __future__ import annotations

import time

from aiohttp import web

from backend.simulator.runtime import VenueRuntime, http_and_ws
from backend.simulator.venues.bybit import market_extra, payloads, rest
from backend.simulator.venues.bybit.defaults import credential_env, default_config
from backend.simulator.venues.bybit.venue import BybitVenue
from backend.simulator.venues.bybit.ws_private import PrivateStream
from backend.simulator.venues.bybit.ws_public import PublicStream
from backend.simulator.venues.bybit.ws_trade import TradeStream

MARKETS = ("spot", "linear")


def create_apps(runtime: VenueRuntime) -> dict[str, web.Application]:
    venue = BybitVenue(runtime)
    app = web.Application()
    for category in MARKETS:
        app.router.add_get(f"/v5/public/{category}", PublicStream(venue, category).handle)
    app.router.add_get("/v5/private", PrivateStream(venue).handle)
    app.router.add_get("/v5/trade", TradeStream(venue).handle)
    rest.add_routes(app, venue)
    rest.add_routes(app, venue, market_extra.ROUTES)
    return {"main": app}


def endpoint_env(urls: dict[str, str]) -> dict[str, str]:
    """``SIM_BYBIT_WS_PUBLIC`` is the public-stream base for ``BybitPublicWsDataClientConfig.base_url_ws_public``
    (the client appends ``/spot`` or ``/linear``); the per-product URLs are given too."""
    http, ws = http_and_ws(urls["main"])
    return {
        "SIM_BYBIT_HTTP": http,
        "SIM_BYBIT_WS_PUBLIC": f"{ws}/v5/public",
        "SIM_BYBIT_WS_PUBLIC_SPOT": f"{ws}/v5/public/spot",
        "SIM_BYBIT_WS_PUBLIC_LINEAR": f"{ws}/v5/public/linear",
        "SIM_BYBIT_WS_PRIVATE": f"{ws}/v5/private",
        "SIM_BYBIT_WS_TRADE": f"{ws}/v5/trade",
    }


def fault_response(status: int) -> web.Response:
    """What Bybit answers with ``status`` when an injected REST failure (``/_sim/faults/rest``) hits a call: the API
    rate limit is retCode 10006 in an HTTP 200 envelope; the IP limit an HTTP 403 without JSON; server trouble
    retCode 10016 with the status."""
    now = int(time.time() * 1000)
    if status == 429:
        return web.json_response(payloads.envelope({}, now, 10006, "Too many visits!"))
    if status == 403:
        return web.Response(status=403, text="403 Forbidden: access too frequent")
    if status >= 500:
        return web.json_response(payloads.envelope({}, now, 10016, "Internal server error."), status=status)
    return web.json_response(payloads.envelope({}, now, 10001, "Request failed."), status=status)


__all__ = ["create_apps", "credential_env", "default_config", "endpoint_env"]
