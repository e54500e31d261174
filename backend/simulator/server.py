"""Builds and serves the simulated venues: one VenueRuntime per venue, one aiohttp app per venue host (from the venue
package's ``create_apps``), the ``/_sim/`` control API and the REST fault middleware on every app, and a background
task stepping the markets every ``tick_interval_ms``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from aiohttp import web

from backend.simulator.core import funding
from backend.simulator.core.errors import SimError
from backend.simulator.core.faults import FaultState
from backend.simulator.core.matching import SimExchange
from backend.simulator.runtime import VenueRuntime, build_runtime, venue_module
from backend.simulator.schema import SimConfig

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sim/"
FUNDING_CHECK_S = 0.25
SHUTDOWN_TIMEOUT_S = 2.0  # connections a venue did not register are cut after this on stop
_ENCODER = msgspec.json.Encoder()


def build_apps(runtime: VenueRuntime) -> dict[str, web.Application]:
    """The venue's apps, each with the fault middleware and the control routes added."""
    module = venue_module(runtime.name)
    apps = module.create_apps(runtime)
    if not apps:
        raise RuntimeError(f"venue {runtime.name!r}: create_apps returned no app")
    for label, app in apps.items():
        app.middlewares.insert(0, fault_middleware(runtime.faults, getattr(module, "fault_response", None)))
        app.router.add_routes(control_routes(runtime, label))
    return apps


# -- faults --------------------------------------------------------------------------------------------------------


def fault_middleware(
    faults: FaultState, venue_response: Callable[[int], web.Response] | None = None
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Injected REST delays / failures; a failure answers in the venue's own error format when the venue module
    provides ``fault_response(status)``, else with a plain JSON error."""
    @web.middleware
    async def inject_rest_faults(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        if request.path.startswith(CONTROL_PREFIX) or request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        fault = faults.take_rest_fault(request.path)
        if fault is not None:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.fail_status is not None:
                if venue_response is not None:
                    return venue_response(fault.fail_status)
                return _json({"error": "simulated venue failure"}, status=fault.fail_status)
        return await handler(request)

    return inject_rest_faults


# -- control API ---------------------------------------------------------------------------------------------------


class ControlError(Exception):
    """A bad control request (answered 400 with ``{"error": message}``)."""


def control_routes(runtime: VenueRuntime, label: str) -> list[web.RouteDef]:
    faults = runtime.faults

    async def price(body: dict[str, Any]) -> dict[str, Any]:
        symbol = _text(body, "symbol")
        value = _decimal(body, "price")
        if value <= 0:
            raise ControlError("price: must be positive")
        targets = [e for e in _targets(runtime, label, body) if symbol in e.instruments]
        if not targets:
            raise ControlError(f"symbol: {symbol!r} is not traded on {runtime.name}")
        for exchange in targets:
            exchange.set_price(symbol, value)
        return {"symbol": symbol, "markets": {e.name: str(e.markets[symbol].last_price) for e in targets}}

    async def liquidity(body: dict[str, Any]) -> dict[str, Any]:
        symbol = _text(body, "symbol")
        quantity = _decimal(body, "quantity")
        targets = [e for e in _targets(runtime, label, body) if symbol in e.instruments]
        if not targets:
            raise ControlError(f"symbol: {symbol!r} is not traded on {runtime.name}")
        for exchange in targets:
            exchange.set_liquidity(symbol, quantity)
        return {"symbol": symbol, "quantity": str(quantity)}

    async def step(body: dict[str, Any]) -> dict[str, Any]:
        n = _integer(body, "n", default=1, minimum=1)
        targets = _targets(runtime, label, body) if "market" in body else list(runtime.exchanges.values())
        for exchange in targets:
            exchange.step(n)
        return {"stepped": n}

    async def advance_clock(body: dict[str, Any]) -> dict[str, Any]:
        runtime.clock.advance(_integer(body, "ms"))
        settled = [p for exchange in runtime.exchanges.values() for p in funding.settle_due(exchange)]
        return {"now_ms": runtime.clock.now_ms(), "offset_ms": runtime.clock.offset_ms,
                "funding_payments": len(settled)}

    def perpetuals(body: dict[str, Any]) -> list[SimExchange]:
        targets = [e for e in (_targets(runtime, label, body) if "market" in body else runtime.exchanges.values())
                   if e.funding is not None]
        if not targets:
            raise ControlError(f"market: {runtime.name} has no perpetual market here")
        symbol = body.get("symbol")
        if symbol is not None and not any(symbol in e.instruments for e in targets):
            raise ControlError(f"symbol: {symbol!r} is not a perpetual on {runtime.name}")
        return targets

    async def settle_funding(body: dict[str, Any]) -> dict[str, Any]:
        symbol = body.get("symbol")
        payments = []
        for exchange in perpetuals(body):
            if symbol is None or symbol in exchange.instruments:
                payments.extend(funding.settle_now(exchange, None if symbol is None else [symbol]))
        return {"payments": msgspec.to_builtins(payments)}

    async def funding_rate(body: dict[str, Any]) -> dict[str, Any]:
        symbol, rate = _text(body, "symbol"), _decimal(body, "rate")
        for exchange in perpetuals(body):
            if symbol in exchange.instruments:
                try:
                    exchange.funding.set_rate(symbol, rate)  # type: ignore[union-attr]
                except ValueError as exc:
                    raise ControlError(str(exc)) from None
        return {"symbol": symbol, "rate": str(rate)}

    async def drop_websockets(body: dict[str, Any]) -> dict[str, Any]:
        return {"closed": await faults.drop_sockets()}

    async def pause_user_stream(body: dict[str, Any]) -> dict[str, Any]:
        faults.pause_user_stream()
        return {"paused": True}

    async def resume_user_stream(body: dict[str, Any]) -> dict[str, Any]:
        return {"paused": False, "delivered": await faults.resume_user_stream()}

    async def rest_faults(body: dict[str, Any]) -> dict[str, Any]:
        fail_status = body.get("fail_status")
        if fail_status is not None and (not isinstance(fail_status, int) or isinstance(fail_status, bool)):
            raise ControlError("fail_status: must be an integer HTTP status")
        path_prefix = body.get("path_prefix", "")
        if not isinstance(path_prefix, str):
            raise ControlError("path_prefix: must be a string")
        try:
            faults.add_rest_fault(delay_ms=_integer(body, "delay_ms", default=0, minimum=0), fail_status=fail_status,
                                  count=_integer(body, "count", default=1, minimum=1), path_prefix=path_prefix)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return {"armed": len(faults.rest_faults)}

    async def reject_orders(body: dict[str, Any]) -> dict[str, Any]:
        faults.reject_next_orders(_integer(body, "count", default=1, minimum=0))
        return {"reject_next": faults.reject_orders_remaining}

    async def state(request: web.Request) -> web.Response:
        return _json(state_of(runtime))

    posts: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
        "price": price,
        "liquidity": liquidity,
        "step": step,
        "clock/advance": advance_clock,
        "funding/settle": settle_funding,
        "funding/rate": funding_rate,
        "faults/ws/drop": drop_websockets,
        "faults/user-stream/pause": pause_user_stream,
        "faults/user-stream/resume": resume_user_stream,
        "faults/rest": rest_faults,
        "faults/reject-orders": reject_orders,
    }
    routes = [web.post(CONTROL_PREFIX + path, _control_handler(action)) for path, action in posts.items()]
    routes.append(web.get(CONTROL_PREFIX + "state", state))
    return routes


def _control_handler(action: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]):
    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = msgspec.json.decode(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ControlError("body: must be a JSON object")
            return _json(await action(body))
        except msgspec.DecodeError:
            return _json({"error": "body: not valid JSON"}, status=400)
        except ControlError as exc:
            return _json({"error": str(exc)}, status=400)
        except SimError as exc:
            return _json({"error": exc.message}, status=400)

    return handle


def _targets(runtime: VenueRuntime, label: str, body: Mapping[str, Any]) -> list[SimExchange]:
    """``body["market"]`` when given; else the app's own market when it is one; else every market of the venue."""
    market = body.get("market")
    if market is not None:
        if market not in runtime.exchanges:
            raise ControlError(f"market: unknown {market!r} (has {', '.join(runtime.exchanges)})")
        return [runtime.exchanges[market]]
    if label in runtime.exchanges:
        return [runtime.exchanges[label]]
    return list(runtime.exchanges.values())


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{name}: required (a non-empty string)")
    return value


def _decimal(body: Mapping[str, Any], name: str) -> Decimal:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        raise ControlError(f"{name}: required (a decimal string)")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ControlError(f"{name}: not a decimal number") from None


def _integer(body: Mapping[str, Any], name: str, default: int | None = None, minimum: int | None = None) -> int:
    value = body.get(name, default)
    if value is None:
        raise ControlError(f"{name}: required (an integer)")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ControlError(f"{name}: must be an integer")
    if minimum is not None and value < minimum:
        raise ControlError(f"{name}: must be at least {minimum}")
    return value


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=_ENCODER.encode(payload), status=status, content_type="application/json")


# -- state ---------------------------------------------------------------------------------------------------------


def state_of(runtime: VenueRuntime) -> dict[str, Any]:
    """Everything tests compare against, as JSON-ready builtins (decimals as strings)."""
    markets: dict[str, Any] = {}
    for label, exchange in runtime.exchanges.items():
        accounts = {}
        for account_id in exchange.account_ids:
            account = exchange.account(account_id)
            accounts[account_id] = {
                "balances": account.balances,
                "positions": account.positions,
                "margins": account.margins,
                "leverage": account.leverage,
                "open_orders": exchange.open_orders(account_id),
                "fills": exchange.fills(account_id),
            }
        markets[label] = {
            "exchange": exchange.name,
            "kind": exchange.kind,
            "prices": {
                symbol: {"last": m.last_price, "bid": m.best_bid, "ask": m.best_ask, "liquidity": m.liquidity}
                for symbol, m in exchange.markets.items()
            },
            "funding": None if exchange.funding is None else {
                "interval_ms": exchange.funding.interval_ms, "next_ms": exchange.funding.next_ms,
                "rates": exchange.funding.rates,
            },
            "accounts": accounts,
        }
    return msgspec.to_builtins({
        "venue": runtime.name,
        "time_ms": runtime.clock.now_ms(),
        "unified": runtime.settings.unified,
        "faults": {
            "user_stream_paused": runtime.faults.user_stream_paused,
            "reject_orders_remaining": runtime.faults.reject_orders_remaining,
            "rest_faults_armed": len(runtime.faults.rest_faults),
            "open_websockets": runtime.faults.open_sockets,
        },
        "markets": markets,
    })


# -- serving -------------------------------------------------------------------------------------------------------


class SimulatorServer:
    """All venues of a config served on ``host``: ports from ``port_base`` upwards, or free ports when None."""

    def __init__(self, config: SimConfig, host: str = "127.0.0.1", port_base: int | None = None) -> None:
        self.config = config
        self.host = host
        self.port_base = port_base
        self.runtimes: dict[str, VenueRuntime] = {}
        self.urls: dict[str, dict[str, str]] = {}
        self.env: dict[str, str] = {}
        self._runners: list[web.AppRunner] = []
        self._stepper: asyncio.Task[None] | None = None
        self._funding_timer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        port = self.port_base
        for venue in self.config.venues:
            runtime = build_runtime(venue, self.config)
            apps = build_apps(runtime)
            self.runtimes[venue] = runtime
            urls: dict[str, str] = {}
            for label, app in apps.items():
                runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                       shutdown_timeout=SHUTDOWN_TIMEOUT_S)
                await runner.setup()
                self._runners.append(runner)
                site = web.TCPSite(runner, self.host, port if port is not None else 0)
                await site.start()
                bound_port = runner.addresses[0][1]
                urls[label] = f"http://{self.host}:{bound_port}"
                if port is not None:
                    port += 1
            self.urls[venue] = urls
            module = venue_module(venue)
            self.env.update(module.endpoint_env(urls))
            self.env.update(module.credential_env(runtime.settings))
        if self.config.tick_interval_ms > 0:
            self._stepper = asyncio.create_task(self._step_markets(self.config.tick_interval_ms / 1000))
        if not self.config.manual_clock:  # a manual clock settles funding when advanced (/_sim/clock/advance)
            self._funding_timer = asyncio.create_task(self._settle_funding())

    async def stop(self) -> None:
        for task in (self._stepper, self._funding_timer):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._stepper = self._funding_timer = None
        for runtime in self.runtimes.values():
            await runtime.faults.drop_sockets()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    def exchange(self, venue: str, market: str) -> SimExchange:
        try:
            return self.runtimes[venue].exchanges[market]
        except KeyError:
            raise KeyError(f"no market {venue}/{market} (running: "
                           f"{', '.join(f'{v}/{m}' for v, r in self.runtimes.items() for m in r.exchanges)})") from None

    def state(self, venue: str) -> dict[str, Any]:
        return state_of(self.runtimes[venue])

    async def _settle_funding(self) -> None:
        """Funding at each perpetual's interval boundary (checked every FUNDING_CHECK_S)."""
        while True:
            await asyncio.sleep(FUNDING_CHECK_S)
            for runtime in self.runtimes.values():
                for exchange in runtime.exchanges.values():
                    try:
                        funding.settle_due(exchange)
                    except Exception:
                        log.exception("funding on %s failed", exchange.name)

    async def _step_markets(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            for runtime in self.runtimes.values():
                for exchange in runtime.exchanges.values():
                    try:
                        exchange.step()
                    except Exception:
                        log.exception("stepping %s failed", exchange.name)
