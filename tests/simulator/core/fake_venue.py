"""A tiny test-only venue plug-in (``runtime.VenueModule``) to exercise server, harness and control API
without any real venue protocol. Installed as ``backend.simulator.venues.fakevenue`` by the ``fake_venue`` fixture."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from backend.simulator.config import AccountConfig, ApiKeyConfig, MarketConfig, SimConfig, VenueConfig
from backend.simulator.core import SimError, SimInstrument

MODULE_NAME = "backend.simulator.venues.fakevenue"


def create_apps(runtime) -> dict[str, web.Application]:
    exchange = runtime.exchanges["spot"]

    async def place(request: web.Request) -> web.Response:
        body = await request.json()
        credential = runtime.credentials.get(request.headers.get("X-KEY", ""))
        if credential is None:
            return web.json_response({"error": "bad key"}, status=401)
        try:
            price = Decimal(body["price"]) if "price" in body else None
            order = exchange.place_order(credential.account_id, body["symbol"], body["side"], body["type"],
                                         Decimal(body["quantity"]), price=price)
        except SimError as exc:
            return web.json_response({"error": exc.kind}, status=400)
        return web.json_response({"order_id": order.order_id, "status": order.status})

    async def time(request: web.Request) -> web.Response:
        return web.json_response({"now_ms": runtime.clock.now_ms()})

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        runtime.faults.register_socket(ws)
        try:
            async for _ in ws:
                pass
        finally:
            runtime.faults.unregister_socket(ws)
        return ws

    app = web.Application()
    app.router.add_post("/order", place)
    app.router.add_get("/time", time)
    app.router.add_get("/ws", socket)
    return {"main": app}


def endpoint_env(urls: dict[str, str]) -> dict[str, str]:
    return {"SIM_FAKE_HTTP": urls["main"], "SIM_FAKE_WS": "ws" + urls["main"][4:] + "/ws"}


def credential_env(settings: VenueConfig) -> dict[str, str]:
    key = settings.accounts[0].keys[0]
    return {"SIM_FAKEVENUE_API_KEY": key.api_key, "SIM_FAKEVENUE_API_SECRET": key.api_secret}


def default_config() -> VenueConfig:
    return fake_config().venues["fakevenue"]


def fake_config(**overrides) -> SimConfig:
    instrument = SimInstrument(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", kind="spot",
                               tick_size=Decimal("0.01"), lot_size=Decimal("0.001"), min_quantity=Decimal("0.001"),
                               start_price=Decimal("50000"), liquidity=Decimal("1"))
    venue = VenueConfig(
        markets={"spot": MarketConfig(instruments=(instrument,))},
        accounts=(AccountConfig(account_id="acc", keys=(ApiKeyConfig(api_key="k1", api_secret="s1"),),
                                balances={"spot": {"USDT": Decimal("100000"), "BTC": Decimal("1")}}),),
    )
    settings = {"seed": 5, "tick_interval_ms": 0, "manual_clock": True, "clock_start_ms": 1_767_225_600_000}
    return SimConfig(venues={"fakevenue": venue}, **(settings | overrides))
