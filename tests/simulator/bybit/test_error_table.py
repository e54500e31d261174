"""Bybit's error table per category: spot filter failures are the 1701xx codes of Bybit's v5 error page, linear ones
10001 with Bybit's wording or 110094 below the minimum order value; every refusal is HTTP 200 with a retCode and
changes nothing; reduce-only linear orders are exempt from the minimum order value."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.core.errors import Reason, SimError
from backend.simulator.harness import run_simulator
from backend.simulator.venues.bybit import errors
from tests.simulator.bybit.client import BybitClient

SPOT = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
        "price": "49000"}
LINEAR = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
          "price": "49000"}


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with run_simulator(SimConfig.default(venues=("bybit",), tick_interval_ms=0)) as running:
        yield running


@pytest.fixture
async def client(sim: Any) -> AsyncIterator[BybitClient]:
    async with aiohttp.ClientSession() as session:
        yield BybitClient(session, sim.urls["bybit"]["main"])


@pytest.mark.parametrize(("order", "expected"), [
    ({**SPOT, "qty": "0.00001"}, (170136, "Order quantity lower than the minimum.")),
    ({**SPOT, "qty": "0.0000485"}, (170137, "Order volume decimal too long")),
    ({**SPOT, "price": "49000.005"}, (170134, "Order price decimal too long.")),
    ({**SPOT, "qty": "2000000"}, (170135, "Order quantity too large.")),
    ({**SPOT, "qty": "0.00005", "price": "10000"}, (170140, "Transaction amount lower than the minimum.")),
    ({**SPOT, "qty": "50"}, (170131, "Insufficient balance.")),
    ({**LINEAR, "qty": "0.0015"}, (10001, "params error: Qty invalid")),
    ({**LINEAR, "price": "49000.05"}, (10001, "params error: price invalid")),
    ({**LINEAR, "qty": "2000000"}, (10001, "The number of contracts exceeds maximum limit allowed: too large")),
    ({**LINEAR, "qty": "0.001", "price": "4000"}, (110094, "Order does not meet minimum order value 5USDT")),
    ({**LINEAR, "qty": "30"}, (110007, "ab not enough for new order")),
    ({**LINEAR, "reduceOnly": True}, (110017, "current position is zero, cannot fix reduce-only order qty")),
], ids=["spot-min-qty", "spot-step", "spot-tick", "spot-max-qty", "spot-min-value", "spot-funds", "linear-step",
        "linear-tick", "linear-max-qty", "linear-min-value", "linear-funds", "linear-reduce-only"])
async def test_order_refusals_answer_the_venues_code_and_wording(sim, client, order, expected) -> None:
    before = [sim.exchange("bybit", c).order_history(DEMO_ACCOUNT_ID) for c in ("spot", "linear")]
    status, body = await client.post("/v5/order/create", order)
    assert (status, body["retCode"], body["retMsg"], body["result"]) == (200, *expected, {})
    assert [sim.exchange("bybit", c).order_history(DEMO_ACCOUNT_ID) for c in ("spot", "linear")] == before


async def test_duplicate_order_link_id_answers_per_category(client) -> None:
    for order, expected in ((SPOT, (170141, "Duplicate clientOrderId")), (LINEAR, (110072, "OrderLinkedID is duplicate"))):
        first = await client.post("/v5/order/create", {**order, "orderLinkId": "dup"})
        assert first[1]["retCode"] == 0
        _, body = await client.post("/v5/order/create", {**order, "orderLinkId": "dup"})
        assert (body["retCode"], body["retMsg"]) == expected


async def test_a_reduce_only_order_below_the_minimum_order_value_closes_part_of_a_position(sim, client) -> None:
    market = {"category": "linear", "symbol": "BTCUSDT", "orderType": "Market"}
    sim.exchange("bybit", "linear").set_price("BTCUSDT", D("4000"))  # 0.001 BTC is now worth 4 USDT < 5
    opened = await client.post("/v5/order/create", {**market, "side": "Buy", "qty": "0.002"})
    assert opened[1]["retCode"] == 0
    refused = await client.post("/v5/order/create", {**market, "side": "Buy", "qty": "0.001"})
    assert refused[1]["retCode"] == 110094
    reduced = await client.post("/v5/order/create", {**market, "side": "Sell", "qty": "0.001", "reduceOnly": True})
    assert reduced[1]["retCode"] == 0
    assert sim.exchange("bybit", "linear").position(DEMO_ACCOUNT_ID, "BTCUSDT").quantity == D("0.001")


async def test_a_core_refusal_a_rest_handler_does_not_translate_still_answers_a_ret_code(sim, client) -> None:
    """The shared endpoint wrapper turns any core refusal into Bybit's envelope (it used to be an HTTP 500)."""
    status, body = await client.post("/v5/position/set-leverage", {"category": "linear", "symbol": "BTCUSDT",
                                                                    "buyLeverage": "500", "sellLeverage": "500"})
    assert status == 200 and body["retCode"] != 0


def test_every_order_reason_has_a_row_in_both_tables() -> None:
    filters = {Reason.PRICE_TICK, Reason.QUANTITY_STEP, Reason.QUANTITY_BELOW_MIN, Reason.QUANTITY_ABOVE_MAX,
               Reason.NOTIONAL_BELOW_MIN, Reason.INSUFFICIENT_BALANCE, Reason.DUPLICATE_CLIENT_ORDER_ID}
    assert filters <= set(errors.SPOT_ERRORS) and filters <= set(errors.LINEAR_ERRORS)
    error = errors.from_sim_error(SimError(Reason.NOTIONAL_BELOW_MIN, "x", field="notional", limit=D("5.0")), "linear")
    assert (error.code, error.msg, error.status) == (110094, "Order does not meet minimum order value 5USDT", 200)
