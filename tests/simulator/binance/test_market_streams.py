"""Market streams: combined ``/stream?streams=`` and raw ``/ws`` with SUBSCRIBE, driven by the control API."""

from __future__ import annotations

from decimal import Decimal

from tests.simulator.binance.conftest import control


async def test_combined_stream_gets_trade_book_ticker_and_depth_diffs(sim, session, spot) -> None:
    streams = "btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms"
    ws = await session.ws_connect(f"{sim.env['SIM_BINANCE_SPOT_WS']}/stream?streams={streams}")
    status, snapshot = await spot.request("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 10}, signed=False)
    assert status == 200 and len(snapshot["bids"]) == len(snapshot["asks"]) == 10

    await control(session, sim, "spot", "price", {"symbol": "BTCUSDT", "price": "50100"})
    messages = {}
    while len(messages) < 3:
        message = await ws.receive_json()
        messages[message["stream"]] = message["data"]
    trade = messages["btcusdt@trade"]
    assert (trade["e"], trade["s"], trade["p"]) == ("trade", "BTCUSDT", "50100.00000000")
    ticker = messages["btcusdt@bookTicker"]
    assert (ticker["b"], ticker["a"]) == ("50099.99000000", "50100.01000000")
    diff = messages["btcusdt@depth@100ms"]
    assert diff["U"] == diff["u"] == snapshot["lastUpdateId"] + 1
    # Applying the diff to the snapshot gives the simulator's book.
    book = {side: {p: q for p, q in snapshot[side]} for side in ("bids", "asks")}
    for side, key in (("bids", "b"), ("asks", "a")):
        for price, quantity in diff[key]:
            if Decimal(quantity) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = quantity
    current = sim.exchange("binance", "spot").book("BTCUSDT")
    assert sorted(Decimal(p) for p in book["bids"]) == sorted(p for p, _ in current.bids)
    assert sorted(Decimal(p) for p in book["asks"]) == sorted(p for p, _ in current.asks)
    await ws.close()


async def test_raw_ws_subscribe_on_futures_gets_agg_trades(sim, session) -> None:
    ws = await session.ws_connect(f"{sim.env['SIM_BINANCE_FUTURES_WS']}/ws")
    await ws.send_json({"method": "SUBSCRIBE", "params": ["ethusdt@aggTrade", "ethusdt@bookTicker"], "id": 7})
    assert await ws.receive_json() == {"result": None, "id": 7}
    await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
    assert await ws.receive_json() == {"result": ["ethusdt@aggTrade", "ethusdt@bookTicker"], "id": 8}

    await control(session, sim, "usdt_futures", "price", {"symbol": "ETHUSDT", "price": "3100"})
    first, second = await ws.receive_json(), await ws.receive_json()
    by_type = {m["e"]: m for m in (first, second)}
    assert (by_type["aggTrade"]["s"], by_type["aggTrade"]["p"]) == ("ETHUSDT", "3100.00")
    assert (by_type["bookTicker"]["b"], by_type["bookTicker"]["a"]) == ("3099.99", "3100.01")
    await ws.close()
