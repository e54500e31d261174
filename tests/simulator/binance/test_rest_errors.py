"""Binance's own error answers (HTTP status + ``{"code", "msg"}``) for bad requests; a refused request changes
nothing."""

from __future__ import annotations

import base64
import hashlib

import pytest
from nacl.signing import SigningKey

from backend.simulator.venues.binance.client import SignedClient
from tests.simulator.binance.conftest import books, client

SPOT_LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
              "price": "49000"}
FUTURES_LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
                 "price": "49000"}
INVALID_SYMBOL = (400, {"code": -1121, "msg": "Invalid symbol."})


def missing(name: str) -> tuple[int, dict[str, object]]:
    return 400, {"code": -1102, "msg": f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."}


def without(params: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != name}


@pytest.mark.parametrize(
    ("market", "path", "params", "expected"),
    [
        ("spot", "/api/v3/order", {**SPOT_LIMIT, "symbol": "DOGEUSDT"}, INVALID_SYMBOL),
        ("spot", "/api/v3/order", without(SPOT_LIMIT, "quantity"), missing("quantity")),
        ("spot", "/api/v3/order", without(SPOT_LIMIT, "timeInForce"), missing("timeInForce")),
        ("spot", "/api/v3/order", without(SPOT_LIMIT, "price"), missing("price")),
        ("spot", "/api/v3/order", {**SPOT_LIMIT, "quantity": "0.000011"},
         (400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"})),
        ("spot", "/api/v3/order", {**SPOT_LIMIT, "price": "49000.001"},
         (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"})),
        ("spot", "/api/v3/order", {**SPOT_LIMIT, "quantity": "0.00001"},
         (400, {"code": -1013, "msg": "Filter failure: NOTIONAL"})),
        ("spot", "/api/v3/order", {**SPOT_LIMIT, "quantity": "3"},
         (400, {"code": -2010, "msg": "Account has insufficient balance for requested action."})),
        ("spot", "/api/v3/order", {**SPOT_LIMIT, "side": "SELL", "quantity": "5", "price": "60000"},
         (400, {"code": -2010, "msg": "Account has insufficient balance for requested action."})),
        ("spot", "/api/v3/order", {**SPOT_LIMIT, "side": "HOLD"}, (400, {"code": -1117, "msg": "Invalid side."})),
        ("usdt_futures", "/fapi/v1/order", {**FUTURES_LIMIT, "symbol": "DOGEUSDT"}, INVALID_SYMBOL),
        ("usdt_futures", "/fapi/v1/order", without(FUTURES_LIMIT, "quantity"), missing("quantity")),
        ("usdt_futures", "/fapi/v1/order", {**FUTURES_LIMIT, "quantity": "0.0105"},
         (400, {"code": -4023, "msg": "Qty not increased by step size."})),
        ("usdt_futures", "/fapi/v1/order", {**FUTURES_LIMIT, "quantity": "30"},
         (400, {"code": -2019, "msg": "Margin is insufficient."})),
        ("usdt_futures", "/fapi/v1/order", {**FUTURES_LIMIT, "reduceOnly": "true"},
         (400, {"code": -2022, "msg": "ReduceOnly Order is rejected."})),
        ("usdt_futures", "/fapi/v1/order", {**without(FUTURES_LIMIT, "price"), "type": "STOP_MARKET",
                                            "stopPrice": "51000"},
         (400, {"code": -4120, "msg": "Order type not supported for this endpoint. Please use the Algo Order API "
                                      "endpoints instead."})),
    ],
    ids=["bad-symbol", "no-quantity", "no-tif", "no-price", "lot-size", "tick-size", "notional", "no-quote-funds",
         "no-base-funds", "bad-side", "futures-bad-symbol", "futures-no-quantity", "futures-lot-size",
         "futures-no-margin", "futures-reduce-only", "futures-algo-type"],
)
async def test_new_order_refusals_answer_binance_errors_and_change_nothing(sim, session, market, path, params,
                                                                           expected) -> None:
    before = books(sim)
    assert await client(sim, session, market).request("POST", path, params) == expected
    assert books(sim) == before


async def test_unknown_orders_answer_2011_on_cancel_and_2013_on_query(spot, futures, sim) -> None:
    unknown_cancel = (400, {"code": -2011, "msg": "Unknown order sent."})
    unknown_query = (400, {"code": -2013, "msg": "Order does not exist."})
    before = books(sim)
    assert await spot.request("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 1}) == unknown_cancel
    assert await spot.request("GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}) == \
        unknown_query
    assert await futures.request("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": 1}) == unknown_cancel
    assert await futures.request("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": 1}) == unknown_query
    assert await spot.request("DELETE", "/api/v3/order", {"symbol": "BTCUSDT"}) == missing("orderId")
    assert books(sim) == before

    status, placed = await spot.request("POST", "/api/v3/order", {**SPOT_LIMIT, "newClientOrderId": "twice"})
    assert (status, placed["status"]) == (200, "NEW")
    cancel_twice = {"symbol": "BTCUSDT", "origClientOrderId": "twice"}
    assert (await spot.request("DELETE", "/api/v3/order", cancel_twice))[0] == 200
    assert await spot.request("DELETE", "/api/v3/order", cancel_twice) == unknown_cancel


async def test_signature_timestamp_and_key_checks(sim, session, spot, futures_ed25519) -> None:
    now = spot.now_ms()
    bad_signature = (400, {"code": -1022, "msg": "Signature for this request is not valid."})
    before = books(sim)
    assert await spot.request("POST", "/api/v3/order", SPOT_LIMIT, signature="0" * 64) == bad_signature
    assert await spot.request("POST", "/api/v3/order", SPOT_LIMIT, timestamp=now - 5_001) == \
        (400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."})
    assert await spot.request("POST", "/api/v3/order", SPOT_LIMIT, timestamp=now + 1_001) == \
        (400, {"code": -1021, "msg": "Timestamp for this request was 1000ms ahead of the server's time."})
    other_key = SigningKey(hashlib.sha256(b"not the registered key").digest())
    forged = SignedClient(session, futures_ed25519.base_url, futures_ed25519.api_key,
                          lambda text: base64.b64encode(other_key.sign(text.encode()).signature).decode(),
                          futures_ed25519.now_ms)
    assert await forged.request("POST", "/fapi/v1/order", FUTURES_LIMIT) == bad_signature
    unknown_key = SignedClient(session, spot.base_url, "unknownKey123", spot.sign, spot.now_ms)
    assert await unknown_key.request("POST", "/api/v3/order", SPOT_LIMIT) == \
        (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    no_key = SignedClient(session, spot.base_url, None, spot.sign, spot.now_ms)
    assert await no_key.request("GET", "/api/v3/account") == (401, {"code": -2014, "msg": "API-key format invalid."})
    assert await spot.request("GET", "/api/v3/account", {"timestamp": now}, signed=False) == missing("signature")
    assert books(sim) == before

    # A wider recvWindow accepts the older timestamp; Ed25519 signatures from the registered key pass.
    assert (await spot.request("GET", "/api/v3/account", {"recvWindow": 10_000}, timestamp=now - 5_001))[0] == 200
    assert (await futures_ed25519.request("GET", "/fapi/v2/account"))[0] == 200


async def test_unknown_path_is_404_and_public_endpoints_need_no_key(spot, session) -> None:
    async with session.get(spot.base_url + "/api/v3/nothing") as response:
        assert response.status == 404
    assert (await spot.request("GET", "/api/v3/exchangeInfo", {"symbol": "DOGEUSDT"}, signed=False)) == INVALID_SYMBOL
    assert await spot.request("GET", "/api/v3/time", signed=False) == (200, {"serverTime": spot.now_ms()})


async def test_form_body_and_split_parameters_are_signed_as_total_params(spot, session) -> None:
    """Binance signs ``totalParams`` = query string immediately followed by the body, as python-binance sends it."""
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.01&price=49000&timestamp={spot.now_ms()}"
    signature = spot.sign(query + body)
    async with session.post(f"{spot.base_url}/api/v3/order?{query}", data=f"{body}&signature={signature}",
                            headers={"X-MBX-APIKEY": spot.api_key,
                                     "Content-Type": "application/x-www-form-urlencoded"}) as response:
        placed = await response.json()
        assert (response.status, placed["status"], placed["price"]) == (200, "NEW", "49000.00000000")
    async with session.post(f"{spot.base_url}/api/v3/order?{query}", data=f"{body}&signature={spot.sign(query)}",
                            headers={"X-MBX-APIKEY": spot.api_key,
                                     "Content-Type": "application/x-www-form-urlencoded"}) as response:
        assert (response.status, await response.json()) == \
            (400, {"code": -1022, "msg": "Signature for this request is not valid."})


async def test_bulk_cancels_answer_per_order(spot, futures) -> None:
    for number in range(2):
        await futures.request("POST", "/fapi/v1/order", {**FUTURES_LIMIT, "newClientOrderId": f"f-{number}"})
        await spot.request("POST", "/api/v3/order", {**SPOT_LIMIT, "newClientOrderId": f"s-{number}"})
    status, results = await futures.request("DELETE", "/fapi/v1/batchOrders", {
        "symbol": "BTCUSDT", "origClientOrderIdList": '["f-0","nope"]'})
    assert status == 200
    assert [r.get("status", r.get("code")) for r in results] == ["CANCELED", -2011]
    assert await futures.request("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}) == \
        (200, {"code": 200, "msg": "The operation of cancel all open order is done."})
    assert (await futures.request("GET", "/fapi/v1/openOrders"))[1] == []
    status, cancelled = await spot.request("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert (status, sorted(c["origClientOrderId"] for c in cancelled)) == (200, ["s-0", "s-1"])
    assert await spot.request("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}) == \
        (400, {"code": -2011, "msg": "Unknown order sent."})
