"""Control API faults seen through the Binance protocol, and byte-identical fills for the same seed and script."""

from __future__ import annotations

from backend.simulator.harness import run_simulator
from backend.simulator.venues.binance import fault_response
from tests.simulator.binance.conftest import binance_config, books, client, control

SPOT_LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
              "price": "49000"}


async def test_reject_next_orders_answers_2010_then_accepts(sim, session, spot, futures) -> None:
    assert await control(session, sim, "spot", "faults/reject-orders", {"count": 2}) == {"reject_next": 2}
    before = books(sim)
    rejected = (400, {"code": -2010, "msg": "New order rejected: simulated venue fault."})
    assert await spot.request("POST", "/api/v3/order", SPOT_LIMIT) == rejected
    futures_limit = {**SPOT_LIMIT, "quantity": "0.010"}
    assert await futures.request("POST", "/fapi/v1/order", futures_limit) == rejected  # faults are per venue
    assert books(sim) == before
    status, body = await spot.request("POST", "/api/v3/order", SPOT_LIMIT)
    assert (status, body["status"]) == (200, "NEW")


async def test_rest_fault_fails_the_call_without_placing_and_delay_still_answers(sim, session, spot) -> None:
    await control(session, sim, "spot", "faults/rest", {"fail_status": 503, "count": 1, "path_prefix": "/api/v3/order"})
    before = books(sim)
    status, body = await spot.request("POST", "/api/v3/order", SPOT_LIMIT)
    assert (status, body["code"]) == (503, -1001)  # Binance's own body for an internal error
    assert books(sim) == before
    await control(session, sim, "spot", "faults/rest", {"delay_ms": 50, "count": 1})
    status, body = await spot.request("POST", "/api/v3/order", SPOT_LIMIT)
    assert (status, body["status"]) == (200, "NEW")
    assert sim.state("binance")["faults"]["rest_faults_armed"] == 0


async def test_set_price_fills_resting_limit_as_maker(sim, session, spot) -> None:
    status, placed = await spot.request("POST", "/api/v3/order", SPOT_LIMIT)
    assert (status, placed["status"]) == (200, "NEW")
    await control(session, sim, "spot", "price", {"symbol": "BTCUSDT", "price": "48990"})
    status, order = await spot.request("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert (status, order["status"], order["executedQty"], order["cummulativeQuoteQty"]) == \
        (200, "FILLED", "0.01000000", "490.00000000")
    status, trades = await spot.request("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert [(t["price"], t["isMaker"], t["isBuyer"]) for t in trades] == [("49000.00000000", True, True)]


async def test_clock_advance_makes_client_timestamps_stale(sim, session, spot) -> None:
    stale_clock = spot.now_ms()
    answer = await control(session, sim, "spot", "clock/advance", {"ms": 60_000})
    assert answer["offset_ms"] == 60_000
    before = books(sim)
    assert await spot.request("POST", "/api/v3/order", SPOT_LIMIT, timestamp=stale_clock) == \
        (400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."})
    assert books(sim) == before
    assert (await spot.request("POST", "/api/v3/order", SPOT_LIMIT))[0] == 200  # signed with the venue's new time


async def scripted_trades(session) -> tuple[bytes, bytes]:
    """One fixed request script against a fresh simulator; the raw myTrades / userTrades bodies."""
    async with run_simulator(binance_config()) as sim:
        spot, futures = client(sim, session, "spot"), client(sim, session, "usdt_futures")
        await control(session, sim, "spot", "step", {"n": 25})
        await spot.request("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                     "quantity": "1.5"})
        await spot.request("POST", "/api/v3/order", {**SPOT_LIMIT, "price": "49500", "quantity": "0.2"})
        await futures.request("POST", "/fapi/v1/order", {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET",
                                                         "quantity": "12.5"})
        await control(session, sim, "spot", "step", {"n": 40})
        await control(session, sim, "spot", "price", {"symbol": "BTCUSDT", "price": "49400"})
        spot_trades = [await spot.request_raw("GET", "/api/v3/myTrades", {"symbol": s}) for s in ("BTCUSDT", "ETHUSDT")]
        futures_trades = [await futures.request_raw("GET", "/fapi/v1/userTrades", {"symbol": s})
                          for s in ("BTCUSDT", "ETHUSDT")]
        assert {status for status, _ in spot_trades + futures_trades} == {200}
        return b"\n".join(body for _, body in spot_trades), b"\n".join(body for _, body in futures_trades)


async def test_same_seed_and_script_give_byte_identical_fills(session) -> None:
    first = await scripted_trades(session)
    second = await scripted_trades(session)
    assert first == second
    spot_trades, futures_trades = first
    assert spot_trades.count(b'"id"') >= 3  # the market buy swept two levels, the limit filled after the moves
    assert futures_trades.count(b'"id"') >= 2  # the ETH sell swept two levels


def test_fault_response_answers_like_binance() -> None:
    """The bodies an injected REST failure should carry (``server.fault_middleware`` hook, see the module)."""
    answers = {status: (r.status, r.text) for status in (403, 418, 429, 503)
               for r in [fault_response(status)]}
    assert answers == {
        403: (403, "403 Forbidden"),
        418: (418, '{"code":-1003,"msg":"Way too many requests; IP(127.0.0.1) banned."}'),
        429: (429, '{"code":-1003,"msg":"Too many requests; current limit of IP(127.0.0.1) request weight per minute '
                   'is 6000."}'),
        503: (503, '{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}'),
    }
