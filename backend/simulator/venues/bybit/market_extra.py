"""Bybit v5 endpoints beyond what NautilusTrader calls, which everyday clients (ccxt) use:
``/v5/asset/coin/query-info`` (the coins of the configured markets; the simulator has no deposits or withdrawals)
and ``/v5/market/funding/history`` (funding settlements of a linear perpetual, newest first).
"""

from __future__ import annotations

from typing import Any

from backend.simulator.venues.bybit import errors, payloads
from backend.simulator.venues.bybit.rest import Handler, Params, _limit
from backend.simulator.venues.bybit.venue import BybitVenue


def coin_info(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    wanted = params.get("coin")
    coins = sorted({a for e in venue.exchanges.values() for i in e.instruments.values()
                    for a in (i.base_asset, i.quote_asset)})
    rows = [
        {"name": coin, "coin": coin, "remainAmount": "0", "chains": [{
            "chainType": coin, "confirmation": "0", "withdrawFee": "0", "depositMin": "0", "withdrawMin": "0",
            "chain": coin, "chainDeposit": "0", "chainWithdraw": "0", "minAccuracy": "8",
            "withdrawPercentageFee": "0", "contractAddress": "", "safeConfirmNumber": "0",
        }]}
        for coin in coins if not wanted or coin == wanted
    ]
    return {"rows": rows}


def funding_history(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    category = params.get("category")
    if category != "linear":
        raise errors.parameter_error(f"category only support linear, got {category!r}")
    symbol = venue.instrument("linear", params.get("symbol")).symbol
    schedule = venue.exchanges["linear"].funding
    assert schedule is not None
    start, end = params.get("startTime"), params.get("endTime")
    rows = [
        {"symbol": s.symbol, "fundingRate": payloads.num(s.rate), "fundingRateTimestamp": str(s.time_ms)}
        for s in reversed(schedule.settlements)
        if s.symbol == symbol and (not start or s.time_ms >= int(start)) and (not end or s.time_ms <= int(end))
    ]
    return {"category": "linear", "list": rows[: _limit(params, 200, default=200)]}


ROUTES: dict[str, tuple[str, bool, Handler]] = {
    "/v5/asset/coin/query-info": ("GET", True, coin_info),
    "/v5/market/funding/history": ("GET", False, funding_history),
}
