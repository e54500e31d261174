"""USD-M funding as Binance shows it: ``/fapi/v1/premiumIndex`` (mark price, rate, next settlement), each settlement
an ``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE`` on the user stream and a ``FUNDING_FEE`` row in
``/fapi/v1/income``, the wallet moving by the fee; ``/fapi/v1/fundingRate`` history. On demand (control API) and at the
8-hour boundary of the manual clock (the fixture starts at 00:00 UTC)."""

from __future__ import annotations

from decimal import Decimal

import aiohttp

from backend.simulator.config import DEMO_ACCOUNT_ID
from backend.simulator.core.funding import DEFAULT_INTERVAL_MS
from tests.simulator.binance.conftest import START_MS, control

D = Decimal
OPEN_LONG = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010", "newClientOrderId": "long-1"}


async def wallet(futures) -> D:
    _, balances = await futures.request("GET", "/fapi/v2/balance")
    return D({b["asset"]: b for b in balances}["USDT"]["balance"])


async def test_premium_index_shows_mark_rate_and_next_settlement(sim, futures) -> None:
    status, index = await futures.request("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, signed=False)
    assert status == 200
    last = sim.exchange("binance", "usdt_futures").markets["BTCUSDT"].last_price
    assert (D(index["markPrice"]), D(index["lastFundingRate"]), index["nextFundingTime"]) == (
        last, D("0.0001"), START_MS + DEFAULT_INTERVAL_MS)
    _, every = await futures.request("GET", "/fapi/v1/premiumIndex", signed=False)
    assert [i["symbol"] for i in every] == ["BTCUSDT", "ETHUSDT"]
    state = sim.state("binance")["markets"]
    assert state["usdt_futures"]["funding"] == {"interval_ms": DEFAULT_INTERVAL_MS,
                                                "next_ms": START_MS + DEFAULT_INTERVAL_MS,
                                                "rates": {"BTCUSDT": "0.0001", "ETHUSDT": "0.0001"}}
    assert state["spot"]["funding"] is None


async def test_settlement_is_account_update_funding_fee_and_income_not_a_trade(sim, session, futures) -> None:
    assert (await futures.request("POST", "/fapi/v1/order", OPEN_LONG))[0] == 200
    before = await wallet(futures)
    _, body = await futures.request("POST", "/fapi/v1/listenKey", signed=False)
    ws = await session.ws_connect(f"{sim.env['SIM_BINANCE_FUTURES_WS_STREAM']}/ws?listenKey={body['listenKey']}")
    await control(session, sim, "usdt_futures", "funding/rate", {"symbol": "BTCUSDT", "rate": "0.0003"})
    settled = await control(session, sim, "usdt_futures", "funding/settle", {"symbol": "BTCUSDT"})
    mark = D(settled["payments"][0]["mark_price"])
    fee = (D("0.010") * mark * D("0.0003")).quantize(D("0.00000001"))

    update = await ws.receive_json(timeout=5)
    assert (update["e"], update["a"]["m"], update["a"]["P"]) == ("ACCOUNT_UPDATE", "FUNDING_FEE", [])
    [balance] = update["a"]["B"]
    assert (balance["a"], D(balance["wb"]), D(balance["bc"])) == ("USDT", before - fee, -fee)
    await ws.close()

    assert await wallet(futures) == before - fee
    _, income = await futures.request("GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"})
    assert [(i["symbol"], i["incomeType"], D(i["income"]), i["asset"]) for i in income] == [
        ("BTCUSDT", "FUNDING_FEE", -fee, "USDT")]
    _, all_income = await futures.request("GET", "/fapi/v1/income")
    assert [i["incomeType"] for i in all_income] == ["COMMISSION", "FUNDING_FEE"]
    _, trades = await futures.request("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert len(trades) == 1  # the opening trade only: funding is never a fill
    assert sim.exchange("binance", "usdt_futures").position(DEMO_ACCOUNT_ID, "BTCUSDT").quantity == D("0.010")


async def test_short_receives_at_the_boundary_and_history_lists_the_rate(sim, session, futures) -> None:
    short = {**OPEN_LONG, "side": "SELL", "newClientOrderId": "short-1"}
    assert (await futures.request("POST", "/fapi/v1/order", short))[0] == 200
    before = await wallet(futures)
    advanced = await control(session, sim, "usdt_futures", "clock/advance", {"ms": DEFAULT_INTERVAL_MS})
    assert advanced["funding_payments"] == 1
    received = await wallet(futures) - before
    assert received > 0  # a positive rate: shorts receive
    _, history = await futures.request("GET", "/fapi/v1/fundingRate", {"symbol": "BTCUSDT"}, signed=False)
    assert [(h["fundingRate"], h["fundingTime"]) for h in history] == [
        ("0.00010000", START_MS + DEFAULT_INTERVAL_MS)]
    _, index = await futures.request("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, signed=False)
    assert index["nextFundingTime"] == START_MS + 2 * DEFAULT_INTERVAL_MS


async def test_bad_funding_controls_name_the_field(sim, session: aiohttp.ClientSession) -> None:
    url = f"{sim.urls['binance']['usdt_futures']}/_sim/funding/rate"
    async with session.post(url, json={"symbol": "BTCUSDT", "rate": "0.5"}) as response:
        assert response.status == 400
        assert (await response.json())["error"].startswith("rate: must be between")
    async with session.post(f"{sim.urls['binance']['spot']}/_sim/funding/settle", json={"market": "spot"}) as response:
        assert response.status == 400
        assert "no perpetual market" in (await response.json())["error"]
