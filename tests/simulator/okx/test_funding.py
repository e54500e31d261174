"""OKX perpetual funding as OKX shows it: ``/api/v5/public/funding-rate`` (rate, next settlement), each settlement a
bill of type 8 in ``/api/v5/account/bills`` (subType 173 paid / 174 received) and an ``account`` push with the new
cash balance; ``/api/v5/public/funding-rate-history``. Funding is never a fill."""

from __future__ import annotations

from decimal import Decimal

from tests.simulator.okx.conftest import OkxSim

D = Decimal
SWAP = "BTC-USDT-SWAP"


def is_channel(channel: str):
    return lambda message: message.get("arg", {}).get("channel") == channel and "data" in message


async def cash(okx: OkxSim) -> D:
    _, body = await okx.rest.get("/api/v5/account/balance?ccy=USDT")
    return D(body["data"][0]["details"][0]["cashBal"])


async def control(okx: OkxSim, action: str, body: dict) -> dict:
    async with okx.http.post(f"{okx.sim.env['SIM_OKX_HTTP']}/_sim/{action}", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_funding_rate_endpoint_shows_rate_and_settlement_times(okx: OkxSim) -> None:
    status, body = await okx.rest.get(f"/api/v5/public/funding-rate?instId={SWAP}", signed=False)
    assert (status, body["code"]) == (200, "0")
    [row] = body["data"]
    schedule = okx.swap.funding
    assert (row["instId"], row["fundingRate"], row["fundingTime"], row["nextFundingTime"]) == (
        SWAP, "0.0001", str(schedule.next_ms), str(schedule.next_ms + schedule.interval_ms))
    _, spot = await okx.rest.get("/api/v5/public/funding-rate?instId=BTC-USDT", signed=False)
    assert spot["code"] == "51000"  # spot has no funding


async def test_settlement_is_a_type_8_bill_and_an_account_push(okx: OkxSim) -> None:
    _, placed = await okx.rest.post("/api/v5/trade/order", {"instId": SWAP, "tdMode": "cross", "side": "sell",
                                                            "ordType": "market", "sz": "2"})
    assert placed["code"] == "0", placed
    before = await cash(okx)
    socket = await okx.private_socket()
    await socket.subscribe({"channel": "account"})
    await socket.receive_until(is_channel("account"))  # the snapshot on subscribe

    settled = await control(okx, "funding/settle", {"symbol": SWAP})
    payment = settled["payments"][0]
    contract = okx.swap.instrument(SWAP).contract_size
    received = (D("2") * contract * D(payment["mark_price"]) * D("0.0001")).quantize(D("0.00000001"))
    assert D(payment["amount"]) == received  # a short receives a positive rate

    pushed = await socket.receive_until(is_channel("account"))
    detail = next(d for d in pushed["data"][0]["details"] if d["ccy"] == "USDT")
    assert D(detail["cashBal"]) == before + received
    assert await cash(okx) == before + received

    _, bills = await okx.rest.get("/api/v5/account/bills?type=8")
    [bill] = bills["data"]
    assert (bill["type"], bill["subType"], bill["instId"], bill["ccy"]) == ("8", "174", SWAP, "USDT")
    assert (D(bill["balChg"]), D(bill["bal"]), bill["sz"]) == (received, before + received, "2")
    _, none = await okx.rest.get("/api/v5/account/bills?type=2")
    assert none["data"] == []
    _, fills = await okx.rest.get("/api/v5/trade/fills?instType=SWAP")
    assert len(fills["data"]) == 1  # the opening trade only
    _, history = await okx.rest.get(f"/api/v5/public/funding-rate-history?instId={SWAP}", signed=False)
    assert [h["fundingRate"] for h in history["data"]] == ["0.0001"]
