"""Binance endpoints beyond what NautilusTrader calls, which everyday clients (ccxt) use.

Spot: ``GET /api/v3/ticker/24hr``, ``/api/v3/ticker/price``, ``POST /api/v3/order/cancelReplace`` and the margin pair
lists ``/sapi/v1/margin/allPairs`` / ``isolated/allPairs`` (empty: the simulator has no margin trading).
USD-M: ``/fapi/v1/ticker/24hr``, ``/fapi/v1/ticker/price``, ``/fapi/v1/premiumIndex`` (mark price and funding rate),
``/fapi/v1/fundingRate`` (settlement history), ``/fapi/v1/fundingInfo``, ``/fapi/v1/leverageBracket`` and
``/fapi/v1/income`` (funding fees, commissions and realized PnL). The 24-hour statistics cover the trades the
simulator keeps (the most recent 1000 per symbol).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from backend.simulator.core.errors import SimError
from backend.simulator.venues.binance import errors, futures, payloads, spot
from backend.simulator.venues.binance.errors import BinanceApiError
from backend.simulator.venues.binance.market import BinanceMarket
from backend.simulator.venues.binance.rest import Call, Security, endpoint

DAY_MS = 24 * 60 * 60 * 1000
ZERO = Decimal(0)
INCOME_TYPES = ("FUNDING_FEE", "COMMISSION", "REALIZED_PNL")


def routes(market: BinanceMarket) -> list[web.RouteDef]:
    kind = "usdt_futures" if market.futures else "spot"

    def rest(method: str, path: str, security: Security, handler: Any, action: errors.Action = "new") -> web.RouteDef:
        return web.route(method, path, endpoint(market.auth, kind, security, handler, action))

    none, signed = Security.NONE, Security.SIGNED
    if not market.futures:
        return [
            rest("GET", "/api/v3/ticker/24hr", none, lambda call: tickers(market, call, full=True)),
            rest("GET", "/api/v3/ticker/price", none, lambda call: prices(market, call)),
            rest("POST", "/api/v3/order/cancelReplace", signed, lambda call: cancel_replace(market, call)),
            rest("GET", "/sapi/v1/margin/allPairs", signed, lambda call: []),
            rest("GET", "/sapi/v1/margin/isolated/allPairs", signed, lambda call: []),
        ]
    return [
        rest("GET", "/fapi/v1/ticker/24hr", none, lambda call: tickers(market, call, full=False)),
        rest("GET", "/fapi/v1/ticker/price", none, lambda call: prices(market, call)),
        rest("GET", "/fapi/v2/ticker/price", none, lambda call: prices(market, call)),
        rest("GET", "/fapi/v1/premiumIndex", none, lambda call: premium_index(market, call)),
        rest("GET", "/fapi/v1/fundingRate", none, lambda call: funding_rate_history(market, call)),
        rest("GET", "/fapi/v1/fundingInfo", none, lambda call: funding_info(market)),
        rest("GET", "/fapi/v1/leverageBracket", signed, lambda call: leverage_brackets(market, call)),
        rest("GET", "/fapi/v1/income", signed, lambda call: income(market, call)),
    ]


def _symbols(market: BinanceMarket, call: Call) -> tuple[list[str], bool]:
    """The symbols asked for (``symbol`` or ``symbols=["A","B"]``, else all) and whether one object is answered."""
    one = spot.symbol_param(market, call, required=False)
    if one is not None:
        return [one], True
    listed = call.get("symbols")
    if listed:
        wanted = [s.strip().strip('"') for s in listed.strip("[]").split(",") if s.strip()]
        if any(s not in market.exchange.instruments for s in wanted):
            raise errors.bad_symbol()
        return wanted, False
    return sorted(market.exchange.instruments), False


def _answer(items: list[dict[str, Any]], single: bool) -> Any:
    return items[0] if single else items


# -- tickers -------------------------------------------------------------------------------------------------------


def ticker_24hr(market: BinanceMarket, symbol: str, full: bool) -> dict[str, Any]:
    instrument = market.instrument(symbol)
    pp, qp = payloads.price_places(instrument, market.futures), payloads.qty_places(instrument, market.futures)
    now = market.now_ms()
    trades = [t for t in market.exchange.recent_trades(symbol, 1000) if t.time_ms >= now - DAY_MS]
    last = market.exchange.markets[symbol].last_price
    open_price = trades[0].price if trades else last
    volume = sum((t.quantity for t in trades), ZERO)
    quote_volume = sum((t.quantity * t.price * instrument.contract_size for t in trades), ZERO)
    change = last - open_price
    item: dict[str, Any] = {
        "symbol": symbol,
        "priceChange": payloads.fmt(change, pp),
        "priceChangePercent": payloads.fmt(change * 100 / open_price if open_price else ZERO, 3),
        "weightedAvgPrice": payloads.fmt(quote_volume / volume if volume else last, pp),
    }
    if full:
        item["prevClosePrice"] = payloads.fmt(open_price, pp)
    item.update({
        "lastPrice": payloads.fmt(last, pp),
        "lastQty": payloads.fmt(trades[-1].quantity if trades else ZERO, qp),
    })
    if full:
        book = market.exchange.book(symbol)
        bid = book.bids[0] if book.bids else (ZERO, ZERO)
        ask = book.asks[0] if book.asks else (ZERO, ZERO)
        item.update({"bidPrice": payloads.fmt(bid[0], pp), "bidQty": payloads.fmt(bid[1], qp),
                     "askPrice": payloads.fmt(ask[0], pp), "askQty": payloads.fmt(ask[1], qp)})
    item.update({
        "openPrice": payloads.fmt(open_price, pp),
        "highPrice": payloads.fmt(max((t.price for t in trades), default=last), pp),
        "lowPrice": payloads.fmt(min((t.price for t in trades), default=last), pp),
        "volume": payloads.fmt(volume, qp),
        "quoteVolume": payloads.fmt(quote_volume, pp + qp),
        "openTime": trades[0].time_ms if trades else now - DAY_MS,
        "closeTime": now,
        "firstId": trades[0].trade_id if trades else -1,
        "lastId": trades[-1].trade_id if trades else -1,
        "count": len(trades),
    })
    return item


def tickers(market: BinanceMarket, call: Call, full: bool) -> Any:
    symbols, single = _symbols(market, call)
    return _answer([ticker_24hr(market, s, full) for s in symbols], single)


def prices(market: BinanceMarket, call: Call) -> Any:
    symbols, single = _symbols(market, call)
    items = []
    for symbol in symbols:
        item: dict[str, Any] = {"symbol": symbol, "price": payloads.fmt(
            market.exchange.markets[symbol].last_price, payloads.price_places(market.instrument(symbol),
                                                                               market.futures))}
        if market.futures:
            item["time"] = market.now_ms()
        items.append(item)
    return _answer(items, single)


# -- spot cancel-replace -------------------------------------------------------------------------------------------


class CancelReplaceError(BinanceApiError):
    """-2021 / -2022 with the ``data`` object telling which half failed."""

    def __init__(self, code: int, msg: str, data: dict[str, Any], status: int) -> None:
        super().__init__(code, msg, status)
        self.data = data

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg, "data": self.data}


def cancel_replace(market: BinanceMarket, call: Call) -> dict[str, Any]:
    """Cancel an order and place a new one in one request (``cancelReplaceMode`` STOP_ON_FAILURE / ALLOW_FAILURE)."""
    spot.symbol_param(market, call)
    mode = call.required("cancelReplaceMode")
    if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
        raise BinanceApiError(-1100, "Illegal characters found in parameter 'cancelReplaceMode'; legal range is "
                                     "'STOP_ON_FAILURE, ALLOW_FAILURE'.")
    if call.get("cancelOrderId") is None and call.get("cancelOrigClientOrderId") is None:
        raise errors.missing_parameter("cancelOrderId")
    cancel_params = {"symbol": call.required("symbol")}
    for source, target in (("cancelOrderId", "orderId"), ("cancelOrigClientOrderId", "origClientOrderId"),
                           ("cancelNewClientOrderId", "newClientOrderId")):
        value = call.get(source)
        if value is not None:
            cancel_params[target] = value
    new_params = {k: v for k, v in call.params.items() if not k.startswith("cancel")}
    try:
        cancel_response: dict[str, Any] = spot.cancel_order(market, Call(cancel_params, call.account_id, call.api_key))
        cancel_result = "SUCCESS"
    except (BinanceApiError, SimError) as exc:
        cancel_response, cancel_result = _error_body(exc, "cancel"), "FAILURE"
        if mode == "STOP_ON_FAILURE":
            raise CancelReplaceError(-2022, "Order cancel-replace failed.", {
                "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED", "cancelResponse": cancel_response,
                "newOrderResponse": None}, 400) from None
    try:
        new_response = spot.new_order(market, Call(new_params, call.account_id, call.api_key))
    except (BinanceApiError, SimError) as exc:
        failed_both = cancel_result == "FAILURE"
        raise CancelReplaceError(-2022 if failed_both else -2021,
                                 "Order cancel-replace failed." if failed_both
                                 else "Order cancel-replace partially failed.", {
                                     "cancelResult": cancel_result, "newOrderResult": "FAILURE",
                                     "cancelResponse": cancel_response, "newOrderResponse": _error_body(exc, "new")},
                                 400 if failed_both else 409) from None
    if cancel_result == "FAILURE":
        raise CancelReplaceError(-2021, "Order cancel-replace partially failed.", {
            "cancelResult": "FAILURE", "newOrderResult": "SUCCESS", "cancelResponse": cancel_response,
            "newOrderResponse": new_response}, 409)
    return {"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS", "cancelResponse": cancel_response,
            "newOrderResponse": new_response}


def _error_body(exc: BinanceApiError | SimError, action: errors.Action) -> dict[str, object]:
    error = exc if isinstance(exc, BinanceApiError) else errors.from_sim_error(exc, "spot", action)
    return error.body()


# -- USD-M: mark price, funding, leverage brackets, income ---------------------------------------------------------


def premium_index(market: BinanceMarket, call: Call) -> Any:
    symbols, single = _symbols(market, call)
    schedule = market.exchange.funding
    assert schedule is not None
    now = market.now_ms()
    items = []
    for symbol in symbols:
        pp = payloads.price_places(market.instrument(symbol), True)
        mark = payloads.fmt(market.exchange.markets[symbol].last_price, pp)
        items.append({
            "symbol": symbol,
            "markPrice": mark,
            "indexPrice": mark,
            "estimatedSettlePrice": mark,
            "lastFundingRate": payloads.fmt(schedule.rate(symbol), 8),
            "interestRate": "0.00010000",
            "nextFundingTime": schedule.next_ms,
            "time": now,
        })
    return _answer(items, single)


def funding_rate_history(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = spot.symbol_param(market, call, required=False)
    schedule = market.exchange.funding
    assert schedule is not None
    start, end = call.integer("startTime"), call.integer("endTime")
    limit = min(call.integer("limit") or 100, 1000)
    rows = [
        {"symbol": s.symbol, "fundingRate": payloads.fmt(s.rate, 8), "fundingTime": s.time_ms,
         "markPrice": payloads.fmt(s.mark_price, 8)}
        for s in schedule.settlements
        if (symbol is None or s.symbol == symbol) and (start is None or s.time_ms >= start)
        and (end is None or s.time_ms <= end)
    ]
    return rows[:limit] if start is not None else rows[-limit:]


def funding_info(market: BinanceMarket) -> list[dict[str, Any]]:
    schedule = market.exchange.funding
    assert schedule is not None
    return [
        {"symbol": symbol, "adjustedFundingRateCap": "0.03000000", "adjustedFundingRateFloor": "-0.03000000",
         "fundingIntervalHours": max(1, schedule.interval_ms // 3_600_000), "disclaimer": False}
        for symbol in sorted(market.exchange.instruments)
    ]


def leverage_brackets(market: BinanceMarket, call: Call) -> Any:
    """One bracket per symbol: the simulator has a flat maintenance margin rate and leverage up to 125x."""
    symbols, single = _symbols(market, call)
    rate = market.exchange.maintenance_margin_rate
    items = [
        {"symbol": symbol, "notionalCoef": 1.0, "brackets": [{
            "bracket": 1, "initialLeverage": 125, "notionalCap": int(futures.MAX_NOTIONAL), "notionalFloor": 0,
            "maintMarginRatio": float(rate), "cum": 0.0}]}
        for symbol in symbols
    ]
    return _answer(items, single)


def income(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    """Income history, oldest first: ``FUNDING_FEE`` per settlement, ``COMMISSION`` and ``REALIZED_PNL`` per fill."""
    symbol = spot.symbol_param(market, call, required=False)
    income_type = call.get("incomeType")
    if income_type is not None and income_type not in INCOME_TYPES + ("TRANSFER", "INSURANCE_CLEAR"):
        raise BinanceApiError(-1130, "Data sent for parameter 'incomeType' is not valid.")
    schedule = market.exchange.funding
    assert schedule is not None
    rows: list[tuple[int, int, int, dict[str, Any]]] = []  # (time, fills before funding of that ms, id, row)
    for payment in schedule.payments(call.account_id or "", symbol):
        rows.append((payment.time_ms, 1, payment.funding_id, {
            "symbol": payment.symbol, "incomeType": "FUNDING_FEE", "income": payloads.fmt(payment.amount, 8),
            "asset": payment.asset, "info": "FUNDING_FEE", "time": payment.time_ms,
            "tranId": funding_tran_id(payment.funding_id), "tradeId": ""}))
    for fill in market.exchange.fills(call.account_id, symbol):
        asset = market.instrument(fill.symbol).settlement_asset
        entries = [("COMMISSION", -fill.fee)]
        if fill.realized_pnl:
            entries.append(("REALIZED_PNL", fill.realized_pnl))
        for kind, amount in entries:
            rows.append((fill.time_ms, 0, fill.trade_id, {
                "symbol": fill.symbol, "incomeType": kind, "income": payloads.fmt(amount, 8), "asset": asset,
                "info": kind, "time": fill.time_ms, "tranId": fill.trade_id, "tradeId": str(fill.trade_id)}))
    start, end = call.integer("startTime"), call.integer("endTime")
    limit = min(call.integer("limit") or 100, 1000)
    selected = [row for t, _, _, row in sorted(rows, key=lambda r: r[:3])
                if (income_type is None or row["incomeType"] == income_type)
                and (start is None or t >= start) and (end is None or t <= end)]
    return selected[:limit] if start is not None else selected[-limit:]


def funding_tran_id(funding_id: int) -> int:
    """Funding transaction ids live in their own range, apart from trade ids."""
    return 9_000_000_000 + funding_id
