"""Bybit perpetual funding as the venue shows it: the funding rate on ``/v5/market/tickers``, each settlement an
``execType=Funding`` execution (private ``execution`` topic and ``/v5/execution/list``), the unified wallet moving by
the fee, ``/v5/market/funding/history``; on demand (control API) and at the interval boundary (manual clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.core.funding import DEFAULT_INTERVAL_MS
from backend.simulator.harness import run_simulator
from tests.simulator.bybit.client import BybitClient, receive, receive_topic

D = Decimal
START_MS = 1_767_225_600_000 + DEFAULT_INTERVAL_MS - 60_000  # one minute before the 08:00 UTC settlement


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    config = SimConfig.default(venues=("bybit",), tick_interval_ms=0, manual_clock=True, clock_start_ms=START_MS)
    async with run_simulator(config) as running:
        yield running


class SimClockClient(BybitClient):
    """Signs with the simulator's manual clock (the venue checks timestamps against its own time)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, clock: Callable[[], int]) -> None:
        super().__init__(session, base_url)
        self.clock = clock

    def _headers(self, payload: str, timestamp: int | None) -> dict[str, str]:
        return super()._headers(payload, self.clock() if timestamp is None else timestamp)


@pytest.fixture
async def client(sim: Any) -> AsyncIterator[BybitClient]:
    async with aiohttp.ClientSession() as session:
        yield SimClockClient(session, sim.urls["bybit"]["main"], sim.runtimes["bybit"].clock.now_ms)


async def control(client: BybitClient, action: str, body: dict[str, Any]) -> Any:
    async with client.session.post(f"{client.base_url}/_sim/{action}", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def usdt_wallet(client: BybitClient) -> D:
    _, body = await client.get("/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    return D({c["coin"]: c for c in body["result"]["list"][0]["coin"]}["USDT"]["walletBalance"])


async def open_long(client: BybitClient, qty: str) -> None:
    _, body = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Market", "qty": qty, "orderLinkId": "open-1"})
    assert body["retCode"] == 0, body


async def test_ticker_shows_rate_and_next_settlement_and_control_sets_the_rate(client: BybitClient) -> None:
    _, body = await client.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"}, signed=False)
    ticker = body["result"]["list"][0]
    assert (ticker["fundingRate"], ticker["nextFundingTime"], ticker["fundingIntervalHour"]) == (
        "0.0001", str(START_MS + 60_000), "8")
    await control(client, "funding/rate", {"symbol": "BTCUSDT", "rate": "-0.00025"})
    _, body = await client.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"}, signed=False)
    assert body["result"]["list"][0]["fundingRate"] == "-0.00025"


async def test_settlement_is_a_funding_execution_and_moves_the_wallet(client: BybitClient, sim: Any) -> None:
    await open_long(client, "0.010")
    before = await usdt_wallet(client)
    fills_before = sim.exchange("bybit", "linear").fills(DEMO_ACCOUNT_ID)
    async with client.session.ws_connect(client.ws_url("/v5/private")) as private:
        await private.send_json({"op": "auth", "args": client.auth_args(expires=START_MS + 3_600_000)})
        assert (await receive(private))["success"] is True
        await private.send_json({"op": "subscribe", "args": ["execution", "wallet"], "req_id": "subs"})
        assert (await receive(private))["success"] is True

        settled = await control(client, "funding/settle", {"symbol": "BTCUSDT"})
        payment = settled["payments"][0]
        mark = D(payment["mark_price"])
        fee = (D("0.010") * mark * D("0.0001")).quantize(D("0.00000001"))
        assert D(payment["amount"]) == -fee

        execution = (await receive_topic(private, "execution"))["data"][0]
        assert execution["execType"] == "Funding"
        assert (execution["symbol"], execution["side"], execution["execQty"], execution["orderLinkId"]) == (
            "BTCUSDT", "Buy", "0.01", "")
        assert (D(execution["execFee"]), D(execution["feeRate"]), D(execution["execPrice"])) == (fee, D("0.0001"), mark)
        assert execution["orderId"] and execution["orderType"] == "UNKNOWN"
        coins = {c["coin"]: c for c in (await receive_topic(private, "wallet"))["data"][0]["coin"]}
        assert D(coins["USDT"]["walletBalance"]) == before - fee

    assert await usdt_wallet(client) == before - fee
    assert sim.exchange("bybit", "linear").fills(DEMO_ACCOUNT_ID) == fills_before  # never a trade
    _, listed = await client.get("/v5/execution/list", {"category": "linear", "execType": "Funding"})
    assert [(e["execType"], D(e["execFee"])) for e in listed["result"]["list"]] == [("Funding", fee)]
    _, trades = await client.get("/v5/execution/list", {"category": "linear", "execType": "Trade"})
    assert [e["orderLinkId"] for e in trades["result"]["list"]] == ["open-1"]
    _, everything = await client.get("/v5/execution/list", {"category": "linear"})
    assert [e["execType"] for e in everything["result"]["list"]] == ["Funding", "Trade"]  # newest first


async def test_funding_settles_at_the_interval_boundary(client: BybitClient, sim: Any) -> None:
    await open_long(client, "0.010")
    before = await usdt_wallet(client)
    await control(client, "clock/advance", {"ms": 30_000})
    assert await usdt_wallet(client) == before  # not yet 08:00
    advanced = await control(client, "clock/advance", {"ms": 30_000})
    assert advanced["funding_payments"] == 1
    _, history = await client.get("/v5/market/funding/history", {"category": "linear", "symbol": "BTCUSDT"},
                                  signed=False)
    assert [(h["fundingRate"], h["fundingRateTimestamp"]) for h in history["result"]["list"]] == [
        ("0.0001", str(START_MS + 60_000))]
    assert await usdt_wallet(client) < before
    _, body = await client.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"}, signed=False)
    assert body["result"]["list"][0]["nextFundingTime"] == str(START_MS + 60_000 + DEFAULT_INTERVAL_MS)


async def test_flat_account_pays_nothing(client: BybitClient) -> None:
    before = await usdt_wallet(client)
    assert (await control(client, "funding/settle", {}))["payments"] == []
    assert await usdt_wallet(client) == before
