"""Binance's error table per market: USD-M filter failures have codes of their own (not spot's ``-1013``), reduce-only
orders are exempt from the USD-M minimum notional, and exchangeInfo prints the notional as Binance does."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec
import pytest
from nautilus_trader.adapters.binance.futures.schemas.account import BinanceFuturesSymbolConfig

from backend.simulator.core.errors import Reason, SimError
from backend.simulator.venues.binance import errors
from tests.simulator.binance.conftest import books

FUTURES_LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
                 "price": "49000"}


@pytest.mark.parametrize(("params", "expected"), [
    ({"quantity": "0.0105"}, (-4023, "Qty not increased by step size.")),
    ({"price": "49000.05"}, (-4014, "Price not increased by tick size.")),
    ({"quantity": "0.001"}, (-4164, "Order's notional must be no smaller than 100 (unless you choose reduce only).")),
    ({"quantity": "0"}, (-4003, "Quantity less than or equal to zero.")),
    ({"quantity": "2000000"}, (-4005, "Quantity greater than max quantity.")),
    ({"timeInForce": "GTX", "price": "50100"},
     (-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")),
], ids=["step", "tick", "min-notional", "zero", "max-qty", "post-only"])
async def test_usdm_refusals_use_the_futures_codes_with_http_400(sim, futures, params, expected) -> None:
    before = books(sim)
    status, body = await futures.request("POST", "/fapi/v1/order", {**FUTURES_LIMIT, **params})
    assert (status, body["code"], body["msg"]) == (400, *expected)
    assert books(sim) == before


async def test_spot_keeps_its_filter_failure_wording(sim, spot) -> None:
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "49000"}
    assert await spot.request("POST", "/api/v3/order", {**order, "quantity": "0.00001"}) == \
        (400, {"code": -1013, "msg": "Filter failure: NOTIONAL"})


async def test_a_duplicate_client_order_id_answers_per_market(sim, spot, futures) -> None:
    spot_order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
                  "price": "49000", "newClientOrderId": "dup"}
    assert (await spot.request("POST", "/api/v3/order", spot_order))[0] == 200
    assert await spot.request("POST", "/api/v3/order", spot_order) == \
        (400, {"code": -2010, "msg": "Duplicate order sent."})
    futures_order = {**FUTURES_LIMIT, "newClientOrderId": "dup"}
    assert (await futures.request("POST", "/fapi/v1/order", futures_order))[0] == 200
    assert await futures.request("POST", "/fapi/v1/order", futures_order) == \
        (400, {"code": -4116, "msg": "ClientOrderId is duplicated."})


async def test_reduce_only_orders_are_exempt_from_the_usdm_minimum_notional(sim, futures) -> None:
    market = {"symbol": "BTCUSDT", "type": "MARKET"}
    status, opened = await futures.request("POST", "/fapi/v1/order", {**market, "side": "BUY", "quantity": "0.003"})
    assert (status, opened["status"]) == (200, "FILLED")
    # 0.001 BTC (about 50 USDT) is below the 100 USDT minimum: refused to open, accepted to reduce.
    refused = await futures.request("POST", "/fapi/v1/order", {**market, "side": "BUY", "quantity": "0.001"})
    assert refused[1]["code"] == -4164
    status, reduced = await futures.request("POST", "/fapi/v1/order",
                                            {**market, "side": "SELL", "quantity": "0.001", "reduceOnly": "true"})
    assert (status, reduced["status"], reduced["executedQty"]) == (200, "FILLED", "0.001")
    position = sim.exchange("binance", "usdt_futures").position("demo", "BTCUSDT")
    assert position.quantity == D("0.002")


async def test_futures_exchange_info_prints_the_min_notional_without_an_exponent(sim, futures) -> None:
    _, info = await futures.request("GET", "/fapi/v1/exchangeInfo")
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert {"filterType": "MIN_NOTIONAL", "notional": "100"} in btc["filters"]


async def test_symbol_config_is_auto_add_margin_parses_with_nautilus_schema(sim, futures) -> None:
    """Binance documents ``"isAutoAddMargin": "false"`` (a string), but NautilusTrader 1.231.0's msgspec schema
    declares a bool and refuses the string: the simulator answers a JSON bool so the adapter keeps working."""
    status, configs = await futures.request("GET", "/fapi/v1/symbolConfig")
    assert status == 200 and configs and all(c["isAutoAddMargin"] is False for c in configs)
    decoded = msgspec.json.decode(msgspec.json.encode(configs), type=list[BinanceFuturesSymbolConfig])
    assert decoded[0].isAutoAddMargin is False
    documented = msgspec.json.encode([{**configs[0], "isAutoAddMargin": "false"}])
    with pytest.raises(msgspec.ValidationError, match="Expected `bool`, got `str`"):
        msgspec.json.decode(documented, type=list[BinanceFuturesSymbolConfig])


def test_every_reason_has_an_answer_on_both_markets() -> None:
    """No core reason falls through to the generic ``-1130`` unless it is one that cannot come from an order."""
    unanswered = {Reason.UNKNOWN_ACCOUNT, Reason.EMPTY_CLIENT_ORDER_ID, Reason.AMEND_TRIGGER_NOT_ALLOWED,
                  Reason.LIQUIDITY_BELOW_LOT, Reason.LEVERAGE_NOT_ALLOWED, Reason.LEVERAGE_OUT_OF_RANGE}
    for market in ("spot", "usdt_futures"):
        for reason in set(Reason) - unanswered:
            answer = errors.from_sim_error(SimError(reason, "x", field="quantity", limit=D("5")), market)
            assert answer.code != -1130 and answer.status in (400, 429), (market, reason)
