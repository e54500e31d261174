"""Binance spot (api.binance.com) and USD-M futures (fapi.binance.com) on the shared simulator core.

One aiohttp app per market, each on its own port, serving that host's REST API, WebSocket API, user-data stream and
market streams. NautilusTrader's unmodified adapters connect through their base-URL settings (see
``endpoint_env``). Matching, balances and positions all come from the core's ``SimExchange``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backend.simulator.runtime import http_and_ws
from backend.simulator.venues.binance import errors, events, futures, market_extra, spot
from backend.simulator.venues.binance.defaults import credential_env, default_config
from backend.simulator.venues.binance.market import BinanceMarket
from backend.simulator.venues.binance.rest import error_response
from backend.simulator.venues.binance.signing import Authenticator
from backend.simulator.venues.binance.streams import MarketStreams
from backend.simulator.venues.binance.user_data import ListenKeys, UserDataEndpoints, UserDataHub

MARKETS = ("spot", "usdt_futures")


def create_apps(runtime: Any) -> dict[str, web.Application]:
    apps: dict[str, web.Application] = {}
    for label in MARKETS:
        exchange = runtime.exchanges.get(label)
        if exchange is None:
            continue
        market = _market(runtime, label, exchange)
        app = web.Application()
        app.add_routes(spot.routes(market) if label == "spot" else futures.routes(market))
        app.add_routes(market_extra.routes(market))
        exchange.subscribe(events.listener(market))
        apps[label] = app
    return apps


def _market(runtime: Any, label: Any, exchange: Any) -> BinanceMarket:
    now_ms = runtime.clock.now_ms
    futures_market = label == "usdt_futures"
    auth = Authenticator(runtime.credentials, now_ms)
    hub = UserDataHub(runtime.faults)
    listen_keys = ListenKeys()
    return BinanceMarket(
        label=label,
        exchange=exchange,
        auth=auth,
        hub=hub,
        streams=MarketStreams(futures=futures_market, exchange=exchange, now_ms=now_ms, faults=runtime.faults),
        listen_keys=listen_keys,
        user=UserDataEndpoints(futures=futures_market, auth=auth, hub=hub, listen_keys=listen_keys, now_ms=now_ms,
                               faults=runtime.faults),
        now_ms=now_ms,
    )


def endpoint_env(urls: dict[str, str]) -> dict[str, str]:
    """Environment variables naming the URLs an adapter config needs, per market app that runs."""
    env: dict[str, str] = {}
    if "spot" in urls:
        http, ws = http_and_ws(urls["spot"])
        env.update({
            "SIM_BINANCE_SPOT_HTTP": http,
            "SIM_BINANCE_SPOT_WS": ws,
            "SIM_BINANCE_SPOT_WS_API": f"{ws}/ws-api/v3",
        })
    if "usdt_futures" in urls:
        http, ws = http_and_ws(urls["usdt_futures"])
        env.update({
            "SIM_BINANCE_FUTURES_HTTP": http,
            "SIM_BINANCE_FUTURES_WS": ws,
            "SIM_BINANCE_FUTURES_WS_API": f"{ws}/ws-fapi/v1",
            "SIM_BINANCE_FUTURES_WS_STREAM": ws,
        })
    return env


def fault_response(status: int) -> web.Response:
    """What Binance answers with ``status`` when an injected REST failure (``/_sim/faults/rest``) hits a call."""
    if status == 403:  # the WAF refuses before the API sees the request: no JSON body
        return web.Response(status=403, text="403 Forbidden")
    if status == 418:
        return error_response(errors.ip_banned())
    if status == 429:
        return error_response(errors.too_many_requests())
    if status >= 500:
        return error_response(errors.internal_error(status))
    return error_response(errors.unknown_error(status))


__all__ = ["create_apps", "credential_env", "default_config", "endpoint_env", "fault_response"]
