"""OKX v5 REST against the simulator: envelopes, signing errors with OKX's codes and HTTP statuses, trade errors,
rejected requests leaving everything unchanged, and swap quantities in contracts."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import aiohttp
import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import run_simulator
from backend.simulator.venues.okx import signing
from tests.simulator.okx.conftest import Keys, OkxRest, OkxSim

ACCOUNT = "/api/v5/account/balance"
ORDER = "/api/v5/trade/order"


def balances(body: dict) -> dict[str, tuple[str, str, str]]:
    """``{ccy: (cashBal, availBal, frozenBal)}`` of a balance answer."""
    return {d["ccy"]: (d["cashBal"], d["availBal"], d["frozenBal"]) for d in body["data"][0]["details"]}


async def test_public_endpoints_list_instruments_with_codes_and_contract_values(okx: OkxSim) -> None:
    status, body = await okx.rest.get("/api/v5/public/instruments?instType=SWAP", signed=False)
    assert status == 200 and body["code"] == "0" and body["msg"] == ""
    by_id = {i["instId"]: i for i in body["data"]}
    assert set(by_id) == {"BTC-USDT-SWAP", "ETH-USDT-SWAP"}
    btc = by_id["BTC-USDT-SWAP"]
    assert (btc["ctVal"], btc["ctValCcy"], btc["settleCcy"], btc["lotSz"], btc["tickSz"]) == (
        "0.01", "BTC", "USDT", "0.01", "0.1")
    assert isinstance(btc["instIdCode"], int)
    status, body = await okx.rest.get("/api/v5/public/instruments?instType=SPOT", signed=False)
    assert {i["instId"] for i in body["data"]} == {"BTC-USDT", "ETH-USDT"}
    codes = {i["instIdCode"] for i in body["data"]} | {btc["instIdCode"]}
    assert len(codes) == 3
    status, body = await okx.rest.get("/api/v5/public/time", signed=False)
    assert status == 200 and int(body["data"][0]["ts"]) > 0


async def test_balance_reports_the_unified_wallet(okx: OkxSim) -> None:
    status, body = await okx.rest.get(ACCOUNT)
    assert status == 200 and body["code"] == "0"
    assert balances(body) == {"BTC": ("2", "2", "0"), "ETH": ("20", "20", "0"), "USDT": ("100000", "100000", "0")}


@pytest.mark.parametrize(
    ("case", "code", "msg"),
    [
        ("bad_sign", "50113", "Invalid signature."),
        ("stale_timestamp", "50102", "Timestamp request expired."),
        ("unknown_key", "50111", "Invalid OK-ACCESS-KEY."),
        ("wrong_passphrase", "50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.'),
    ],
)
async def test_authentication_errors_are_http_401_and_change_nothing(okx: OkxSim, case: str, code: str,
                                                                     msg: str) -> None:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.1", "px": "40000"}
    overrides: dict = {
        "bad_sign": {"signature": signing.rest_signature("wrong-secret", "2026-01-01T00:00:00.000Z", "POST", ORDER,
                                                         "{}")},
        "stale_timestamp": {"timestamp": signing.format_rest_timestamp(int(time.time() * 1000) - 60_000)},
        "unknown_key": {"keys": Keys(api_key="not-a-key")},
        "wrong_passphrase": {"keys": Keys(passphrase="wrong")},
    }[case]
    before = okx.sim.state("okx")
    status, answer = await okx.rest.post(ORDER, body, **overrides)
    assert (status, answer) == (401, {"code": code, "msg": msg, "data": []})
    assert okx.sim.state("okx")["markets"] == before["markets"]


async def test_missing_header_names_it(okx: OkxSim) -> None:
    status, answer = await okx.rest.get(ACCOUNT, signed=False)
    assert (status, answer["code"], answer["msg"]) == (401, "50103", 'Request header "OK-ACCESS-KEY" cannot be empty.')


async def test_insufficient_balance_is_51008_and_changes_nothing(okx: OkxSim) -> None:
    before = okx.sim.state("okx")
    body = {"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": "big1", "side": "buy", "ordType": "limit",
            "sz": "3", "px": "50000"}
    status, answer = await okx.rest.post(ORDER, body)
    assert status == 200
    assert answer["code"] == "1" and answer["msg"] == "All operations failed"
    row = answer["data"][0]
    assert (row["sCode"], row["sMsg"], row["ordId"], row["clOrdId"]) == (
        "51008", "Order failed. Insufficient USDT balance in account", "", "big1")
    swap = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "market", "sz": "30000"}
    status, answer = await okx.rest.post(ORDER, swap)
    assert answer["data"][0]["sCode"] == "51008"
    assert answer["data"][0]["sMsg"] == "Order failed. Insufficient USDT margin in account"
    assert okx.sim.state("okx")["markets"] == before["markets"]


async def test_unknown_instrument_is_51001(okx: OkxSim) -> None:
    body = {"instId": "DOGE-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "1", "px": "1"}
    status, answer = await okx.rest.post(ORDER, body)
    assert status == 200 and answer["code"] == "1"
    assert (answer["data"][0]["sCode"], answer["data"][0]["sMsg"]) == (
        "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
    status, answer = await okx.rest.get("/api/v5/public/instruments?instType=SPOT&instId=DOGE-USDT", signed=False)
    assert (status, answer["code"]) == (200, "51001")


async def test_unknown_order_is_51603(okx: OkxSim) -> None:
    status, answer = await okx.rest.get(f"{ORDER}?instId=BTC-USDT&ordId=12345")
    assert (status, answer) == (200, {"code": "51603", "msg": "Order does not exist.", "data": []})
    status, answer = await okx.rest.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": "12345"})
    assert answer["code"] == "1" and answer["data"][0]["sCode"] == "51400"


async def test_place_query_amend_cancel_over_rest(okx: OkxSim) -> None:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": "rest1", "side": "buy", "ordType": "limit",
            "sz": "0.5", "px": "40000"}
    status, answer = await okx.rest.post(ORDER, body)
    assert answer["code"] == "0" and answer["data"][0]["sCode"] == "0"
    order_id = answer["data"][0]["ordId"]
    _, answer = await okx.rest.get(f"{ORDER}?instId=BTC-USDT&clOrdId=rest1")
    order = answer["data"][0]
    assert (order["ordId"], order["state"], order["sz"], order["px"], order["ordType"], order["tdMode"]) == (
        order_id, "live", "0.5", "40000", "limit", "cash")
    _, answer = await okx.rest.get(ACCOUNT)
    assert balances(answer)["USDT"] == ("100000", "80000", "20000")
    _, answer = await okx.rest.post("/api/v5/trade/amend-order", {"instId": "BTC-USDT", "ordId": order_id,
                                                                  "newPx": "39000"})
    assert answer["code"] == "0"
    _, answer = await okx.rest.get(ACCOUNT)
    assert balances(answer)["USDT"] == ("100000", "80500", "19500")
    _, answer = await okx.rest.get("/api/v5/trade/orders-pending?instType=SPOT")
    assert [(o["ordId"], o["px"]) for o in answer["data"]] == [(order_id, "39000")]
    _, answer = await okx.rest.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "clOrdId": "rest1"})
    assert answer["code"] == "0" and answer["data"][0]["ordId"] == order_id
    _, answer = await okx.rest.get("/api/v5/trade/orders-history?instType=SPOT")
    assert [(o["ordId"], o["state"]) for o in answer["data"]] == [(order_id, "canceled")]
    _, answer = await okx.rest.get(ACCOUNT)
    assert balances(answer)["USDT"] == ("100000", "100000", "0")


async def test_swap_trades_in_contracts(okx: OkxSim) -> None:
    price = okx.swap.market("BTC-USDT-SWAP").best_ask
    body = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "3"}
    _, answer = await okx.rest.post(ORDER, body)
    assert answer["code"] == "0"
    _, answer = await okx.rest.get("/api/v5/trade/fills?instType=SWAP")
    fill = answer["data"][0]
    assert (fill["fillSz"], fill["fillPx"], fill["side"]) == ("3", str(price), "buy")
    notional = Decimal("3") * Decimal("0.01") * price
    assert Decimal(fill["fee"]) == -(notional * Decimal("0.0005"))
    _, answer = await okx.rest.get("/api/v5/account/positions?instType=SWAP")
    position = answer["data"][0]
    assert (position["instId"], position["pos"], position["posSide"], position["avgPx"]) == (
        "BTC-USDT-SWAP", "3", "net", str(price))
    core_position = okx.swap.position(okx.swap.account_ids[0], "BTC-USDT-SWAP")
    assert core_position.quantity == Decimal("3")
    assert core_position.quantity * okx.swap.instrument("BTC-USDT-SWAP").contract_size == Decimal("0.03")
    _, answer = await okx.rest.get(ACCOUNT)
    cash = Decimal(balances(answer)["USDT"][0])
    assert cash == Decimal("100000") - notional * Decimal("0.0005")


async def test_same_seed_and_requests_give_byte_identical_answers() -> None:
    """Two simulators on a manual clock (same start) answer the same signed request sequence identically."""
    start_ms = int(time.time() * 1000)
    timestamp = signing.format_rest_timestamp(start_ms)
    script = [
        ("POST", ORDER, {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "0.1",
                         "tgtCcy": "base_ccy"}),
        ("POST", ORDER, {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "limit",
                         "sz": "2", "px": "50000.1"}),
        ("POST", ORDER, {"instId": "ETH-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market",
                         "sz": "5"}),
        ("GET", "/api/v5/trade/fills?instType=SPOT", None),
        ("GET", "/api/v5/trade/orders-history?instType=SWAP", None),
        ("GET", "/api/v5/account/positions", None),
        ("GET", ACCOUNT, None),
    ]

    async def run_once() -> list[bytes]:
        config = SimConfig.default(venues=("okx",), tick_interval_ms=0, manual_clock=True, clock_start_ms=start_ms)
        async with run_simulator(config) as sim, aiohttp.ClientSession() as http:
            rest = OkxRest(http, sim.env["SIM_OKX_HTTP"])
            answers = []
            for method, path, body in script:
                text = "" if body is None else json.dumps(body)
                headers = rest.headers(method, path, text, timestamp=timestamp)
                async with http.request(method, rest.base_url + path, data=text or None, headers=headers) as reply:
                    answers.append(await reply.read())
            return answers

    first, second = await run_once(), await run_once()
    assert first == second
    assert all(b'"code":"0"' in answer for answer in first)
