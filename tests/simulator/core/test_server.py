"""Server, control API, fault middleware and harness, through the test-only venue plug-in."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import aiohttp
import pytest

from backend.simulator.config import SimConfig
from backend.simulator.core import SimError
from backend.simulator.harness import SimulatorThread, run_simulator


async def post(session: aiohttp.ClientSession, url: str, body: dict | None = None) -> tuple[int, dict]:
    async with session.post(url, json=body if body is not None else {}) as response:
        return response.status, await response.json()


async def test_urls_env_and_state(fake_venue) -> None:
    async with run_simulator(fake_venue.fake_config()) as sim, aiohttp.ClientSession() as session:
        base = sim.urls["fakevenue"]["main"]
        assert base.startswith("http://127.0.0.1:")
        assert sim.env == {"SIM_FAKE_HTTP": base, "SIM_FAKE_WS": "ws" + base[4:] + "/ws",
                           "SIM_FAKEVENUE_API_KEY": "k1", "SIM_FAKEVENUE_API_SECRET": "s1"}
        async with session.get(base + "/_sim/state") as response:
            state = await response.json()
        account = state["markets"]["spot"]["accounts"]["acc"]
        assert account["balances"]["USDT"] == {"asset": "USDT", "total": "100000", "free": "100000", "locked": "0"}
        assert state["markets"]["spot"]["prices"]["BTCUSDT"]["last"] == "50000.00"
        assert state["time_ms"] == 1_767_225_600_000


async def test_price_control_fills_resting_order_and_state_shows_it(fake_venue) -> None:
    async with run_simulator(fake_venue.fake_config()) as sim, aiohttp.ClientSession() as session:
        base = sim.urls["fakevenue"]["main"]
        async with session.post(base + "/order", headers={"X-KEY": "k1"},
                                json={"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.5",
                                      "price": "49000"}) as response:
            assert (await response.json())["status"] == "NEW"
        assert (await post(session, base + "/_sim/price", {"symbol": "BTCUSDT", "price": "49000"}))[0] == 200
        state = sim.state("fakevenue")["markets"]["spot"]
        account = state["accounts"]["acc"]
        assert account["open_orders"] == []
        assert [(f["price"], f["quantity"], f["fee"], f["fee_asset"]) for f in account["fills"]] == [
            ("49000", "0.5", "0.00050000", "BTC")]
        assert account["balances"]["USDT"]["total"] == "75500.0"
        status, body = await post(session, base + "/_sim/price", {"symbol": "DOGEUSDT", "price": "1"})
        assert (status, body) == (400, {"error": "symbol: 'DOGEUSDT' is not traded on fakevenue"})
        status, body = await post(session, base + "/_sim/price", {"symbol": "BTCUSDT", "price": "abc"})
        assert (status, body) == (400, {"error": "price: not a decimal number"})


async def test_step_and_clock_advance(fake_venue) -> None:
    async with run_simulator(fake_venue.fake_config()) as sim, aiohttp.ClientSession() as session:
        base = sim.urls["fakevenue"]["main"]
        exchange = sim.exchange("fakevenue", "spot")
        before = exchange.market("BTCUSDT").update_id
        assert await post(session, base + "/_sim/step", {"n": 3}) == (200, {"stepped": 3})
        assert exchange.market("BTCUSDT").update_id == before + 3
        assert len(exchange.recent_trades("BTCUSDT")) == 3
        status, body = await post(session, base + "/_sim/clock/advance", {"ms": 60_000})
        assert (status, body["offset_ms"]) == (200, 60_000)
        async with session.get(base + "/time") as response:
            assert (await response.json())["now_ms"] == 1_767_225_660_000
        assert (await post(session, base + "/_sim/step", {"n": 0}))[1] == {"error": "n: must be at least 1"}


async def test_rest_faults_fail_and_delay_matching_calls_only(fake_venue) -> None:
    async with run_simulator(fake_venue.fake_config()) as sim, aiohttp.ClientSession() as session:
        base = sim.urls["fakevenue"]["main"]
        fault = {"fail_status": 503, "count": 2, "path_prefix": "/time"}
        armed = await post(session, base + "/_sim/faults/rest", fault)
        assert armed == (200, {"armed": 1})
        async with session.post(base + "/order", headers={"X-KEY": "nope"}, json={}) as response:
            assert response.status == 401  # other paths are untouched
        for _ in range(2):
            async with session.get(base + "/time") as response:
                assert response.status == 503
            assert (await post(session, base + "/_sim/step"))[0] == 200  # control calls never fail
        async with session.get(base + "/time") as response:
            assert response.status == 200
        await post(session, base + "/_sim/faults/rest", {"delay_ms": 200})
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with session.get(base + "/time") as response:
            assert response.status == 200
        assert loop.time() - started >= 0.2


async def test_reject_orders_ws_drop_and_user_stream_pause(fake_venue) -> None:
    async with run_simulator(fake_venue.fake_config()) as sim, aiohttp.ClientSession() as session:
        base = sim.urls["fakevenue"]["main"]
        assert await post(session, base + "/_sim/faults/reject-orders", {"count": 1}) == (200, {"reject_next": 1})
        exchange = sim.exchange("fakevenue", "spot")
        with pytest.raises(SimError) as exc:
            exchange.place_order("acc", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("40000"))
        assert exc.value.kind == "injected_reject"

        ws = await session.ws_connect(sim.env["SIM_FAKE_WS"])
        await asyncio.sleep(0)
        for _ in range(50):
            if sim.runtimes["fakevenue"].faults.open_sockets:
                break
            await asyncio.sleep(0.01)
        assert await post(session, base + "/_sim/faults/ws/drop") == (200, {"closed": 1})
        message = await ws.receive()
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await ws.close()

        faults = sim.runtimes["fakevenue"].faults
        delivered: list[str] = []
        assert await post(session, base + "/_sim/faults/user-stream/pause") == (200, {"paused": True})
        assert faults.user_stream_paused
        faults.hold_user_event(lambda: delivered.append("first"))
        faults.hold_user_event(lambda: delivered.append("second"))
        assert delivered == []
        assert await post(session, base + "/_sim/faults/user-stream/resume") == (200, {"paused": False, "delivered": 2})
        assert delivered == ["first", "second"]


async def test_missing_venue_package_fails_clearly(fake_venue) -> None:
    config = fake_venue.fake_config()
    broken = SimConfig(venues={"nosuchvenue": config.venues["fakevenue"]}, tick_interval_ms=0)
    with pytest.raises(RuntimeError, match="venue 'nosuchvenue': no simulator package backend.simulator.venues"):
        async with run_simulator(broken):
            pass


def test_simulator_thread_call_state_and_background_ticks(fake_venue) -> None:
    config = fake_venue.fake_config(tick_interval_ms=5, manual_clock=False, clock_start_ms=None)
    with SimulatorThread(config) as sim:
        exchange = sim.exchange("fakevenue", "spot")
        order = sim.call(exchange.place_order, "acc", "BTCUSDT", "SELL", "MARKET", D("0.5"))
        assert order.status == "FILLED"
        assert sim.state("fakevenue")["markets"]["spot"]["accounts"]["acc"]["balances"]["BTC"]["total"] == "0.5"
        seen = sim.call(lambda: exchange.market("BTCUSDT").update_id)
        for _ in range(200):
            if sim.call(lambda: exchange.market("BTCUSDT").update_id) > seen:
                break
            sim.call(asyncio.sleep, 0.01)
        assert sim.call(lambda: exchange.market("BTCUSDT").update_id) > seen  # the market moved by itself
    assert sim.urls["fakevenue"]["main"].startswith("http://127.0.0.1:")


async def test_same_config_and_requests_give_byte_identical_state(fake_venue) -> None:
    async def run_once() -> bytes:
        async with run_simulator(fake_venue.fake_config()) as sim, aiohttp.ClientSession() as session:
            base = sim.urls["fakevenue"]["main"]
            for side, price in (("BUY", "49990"), ("SELL", "50010"), ("BUY", "49980")):
                async with session.post(base + "/order", headers={"X-KEY": "k1"},
                                        json={"symbol": "BTCUSDT", "side": side, "type": "LIMIT", "quantity": "0.2",
                                              "price": price}):
                    pass
            await post(session, base + "/_sim/step", {"n": 100})
            async with session.get(base + "/_sim/state") as response:
                return await response.read()

    first = await run_once()
    assert first == await run_once()
    assert b'"is_maker":true' in first
