"""OKX algo orders of type ``trigger`` (a stop: when the last price crosses ``triggerPx`` an order at ``orderPx``,
``-1`` = market, is placed) on the core's stop orders: ``POST /api/v5/trade/order-algo``, ``cancel-algos``,
``GET /api/v5/trade/order-algo``, ``orders-algo-pending`` and ``orders-algo-history``.

The ``algoId`` is the core order id; once triggered the order trades under the same id as ``ordId`` (OKX gives the
triggered order a new ``ordId``; clients match it through ``algoId`` / ``ordIdList``). Until it triggers an algo order
is not a regular order: ``orders-pending`` and ``GET /api/v5/trade/order`` do not show it (``orders.is_waiting_algo``).
Other algo types (``conditional`` TP/SL, ``oco``, ``move_order_stop``, ``twap``, ``iceberg``) are not simulated and
answer OKX's ``51000 Parameter ordType error``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from backend.simulator.core.errors import SimError
from backend.simulator.core.orders import SimOrder
from backend.simulator.venues.okx import errors, orders, payloads
from backend.simulator.venues.okx.catalog import Listing
from backend.simulator.venues.okx.errors import OkxError
from backend.simulator.venues.okx.rest import RestCall, _listings, _page, endpoint
from backend.simulator.venues.okx.state import OkxVenue

ALGO_TYPE = "trigger"


def _result(arg: dict[str, Any], algo_id: str, error: OkxError | None) -> dict[str, Any]:
    return {"algoId": algo_id, "clOrdId": "", "algoClOrdId": str(arg.get("algoClOrdId") or ""),
            "tag": str(arg.get("tag") or ""), "sCode": error.code if error else "0", "sMsg": error.msg if error else ""}


def _trigger_price(arg: dict[str, Any]) -> Decimal:
    raw = arg.get("triggerPx")
    if raw in (None, ""):
        raise errors.empty_parameter("triggerPx")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise errors.parameter_error("triggerPx") from None
    if not value.is_finite() or value <= 0:
        raise errors.parameter_error("triggerPx")
    return value


def place(venue: OkxVenue, account_id: str, arg: dict[str, Any]) -> dict[str, Any]:
    if arg.get("ordType") != ALGO_TYPE:
        return _result(arg, "", errors.parameter_error("ordType"))
    order_price = str(arg.get("orderPx") or "")
    regular = {**arg, "ordType": "market" if order_price == "-1" else "limit", "px": order_price,
               "clOrdId": arg.get("algoClOrdId") or ""}
    if regular["ordType"] == "market" and "tgtCcy" not in arg:
        regular["tgtCcy"] = "base_ccy"  # a triggered market buy's sz is in base currency here
    try:
        request = orders.parse_place(venue.catalog, regular)
        trigger = _trigger_price(arg)
    except OkxError as error:
        return _result(arg, "", error)
    listing = request.listing
    try:
        order = venue.exchange_of(listing).place_order(
            account_id, listing.inst_id, request.side, "STOP_MARKET" if request.order_type == "MARKET" else "STOP_LIMIT",
            request.quantity, price=request.price, trigger_price=trigger, reduce_only=request.reduce_only,
            client_order_id=request.client_order_id,
        )
    except SimError as error:
        currency = listing.instrument.settlement_asset if listing.is_swap else (
            listing.instrument.quote_asset if request.side == "BUY" else listing.instrument.base_asset)
        return _result(arg, "", errors.from_sim_error(error, "place", currency, listing.is_swap))
    venue.entries[(listing.market, order.order_id)] = request.entry
    return _result(arg, str(order.order_id), None)


def _find(venue: OkxVenue, account_id: str, arg: dict[str, Any]) -> tuple[Listing, SimOrder]:
    """The algo order ``algoId`` / ``algoClOrdId`` names (``instId`` optional); OKX's 51603 when there is none."""
    algo_id, client_id = str(arg.get("algoId") or ""), str(arg.get("algoClOrdId") or "") or None
    if not algo_id and client_id is None:
        raise errors.empty_parameter("algoId")
    try:
        order_id = int(algo_id) if algo_id else None
    except ValueError:
        raise errors.parameter_error("algoId") from None
    inst_id = arg.get("instId")
    for listing in venue.catalog.listings:
        if inst_id and listing.inst_id != inst_id:
            continue
        try:
            order = venue.exchange_of(listing).get_order(account_id, listing.inst_id, order_id,
                                                         None if order_id is not None else client_id)
        except SimError:
            continue
        if order.is_stop:
            return listing, order
    raise errors.order_not_found()


def cancel(venue: OkxVenue, account_id: str, arg: dict[str, Any]) -> dict[str, Any]:
    try:
        listing, order = _find(venue, account_id, arg)
        if not orders.is_waiting_algo(order):
            raise errors.cancel_failed_order_gone()
        venue.exchange_of(listing).cancel_order(account_id, listing.inst_id, order_id=order.order_id)
    except OkxError as error:
        return _result(arg, str(arg.get("algoId") or ""), error)
    except SimError as error:
        return _result(arg, str(arg.get("algoId") or ""), errors.from_sim_error(error, "cancel", "", False))
    return _result({**arg, "algoClOrdId": order.client_order_id or ""}, str(order.order_id), None)


def algo_state(order: SimOrder) -> str:
    if order.triggered:
        return "effective"
    return "live" if order.is_open else "canceled"


def algo_payload(venue: OkxVenue, listing: Listing, order: SimOrder) -> dict[str, Any]:
    entry = venue.entry(listing.market, order.order_id)
    text, ms = payloads.text, payloads.ms
    triggered = order.triggered
    return {
        "instType": listing.inst_type, "instId": listing.inst_id, "ccy": entry.margin_currency,
        "ordId": str(order.order_id) if triggered else "", "ordIdList": [str(order.order_id)] if triggered else [],
        "algoId": str(order.order_id), "clOrdId": "", "algoClOrdId": order.client_order_id or "",
        "sz": text(order.quantity), "closeFraction": "", "ordType": ALGO_TYPE, "side": order.side.lower(),
        "posSide": "net" if listing.is_swap else "", "tdMode": entry.trade_mode, "tgtCcy": entry.target_currency,
        "state": algo_state(order), "lever": venue.leverage(listing, order.account_id),
        "tpTriggerPx": "", "tpTriggerPxType": "", "tpOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "",
        "slOrdPx": "", "triggerPx": text(order.trigger_price), "triggerPxType": "last",
        "ordPx": text(order.price) if order.order_type == "STOP_LIMIT" else "-1",
        "actualSz": text(order.quantity) if triggered else "", "actualPx": text(order.price) if triggered else "",
        "actualSide": "", "triggerTime": ms(order.updated_ms) if triggered else "", "pxVar": "", "pxSpread": "",
        "szLimit": "", "pxLimit": "", "tag": entry.tag, "timeInterval": "", "callbackRatio": "",
        "callbackSpread": "", "activePx": "", "moveTriggerPx": "", "reduceOnly": "true" if order.reduce_only else "false",
        "quickMgnType": "", "last": text(venue.exchange_of(listing).markets[listing.inst_id].last_price),
        "failCode": "", "cTime": ms(order.created_ms), "uTime": ms(order.updated_ms), "isTradeBorrowMode": "",
        "chaseType": "", "chaseVal": "", "maxChaseType": "", "maxChaseVal": "", "amendPxOnTriggerType": "0",
        "attachAlgoOrds": [], "linkedOrd": {"ordId": ""},
    }


# -- REST ----------------------------------------------------------------------------------------------------------


def _check_type(call: RestCall) -> None:
    ord_type = call.required("ordType")
    if any(t not in ("trigger", "conditional", "oco", "move_order_stop", "twap", "iceberg", "chase")
           for t in ord_type.split(",")):
        raise errors.parameter_error("ordType")


def _rows(call: RestCall, keep: Any) -> list[dict[str, Any]]:
    if "trigger" not in call.required("ordType").split(","):
        return []
    algo_id = call.param("algoId")
    rows = []
    for listing in _listings(call, inst_type_required=False):
        for order in call.venue.exchange_of(listing).order_history(call.account, listing.inst_id):
            if order.is_stop and keep(order) and (algo_id is None or str(order.order_id) == algo_id):
                rows.append((order.order_id, order.created_ms, algo_payload(call.venue, listing, order)))
    return _page(call, rows)


def pending(call: RestCall) -> list[dict[str, Any]]:
    _check_type(call)
    return _rows(call, orders.is_waiting_algo)


def history(call: RestCall) -> list[dict[str, Any]]:
    _check_type(call)
    state = call.param("state")
    if state is None and call.param("algoId") is None:
        raise errors.OkxError("51000", "Parameter state or algoId error")
    return _rows(call, lambda o: not orders.is_waiting_algo(o) and (state is None or algo_state(o) == state))


def details(call: RestCall) -> list[dict[str, Any]]:
    listing, order = _find(call.venue, call.account, dict(call.params))
    return [algo_payload(call.venue, listing, order)]


def _place(call: RestCall) -> list[dict[str, Any]]:
    return [place(call.venue, call.account, arg) for arg in call.body_args(batch=False)]


def _cancel(call: RestCall) -> list[dict[str, Any]]:
    return [cancel(call.venue, call.account, arg) for arg in call.body_args(batch=True)]


def add_routes(app: web.Application, venue: OkxVenue) -> None:
    app.router.add_post("/api/v5/trade/order-algo", endpoint(venue, _place, signed=True, trade=True))
    app.router.add_post("/api/v5/trade/cancel-algos", endpoint(venue, _cancel, signed=True, trade=True))
    app.router.add_get("/api/v5/trade/order-algo", endpoint(venue, details, signed=True))
    app.router.add_get("/api/v5/trade/orders-algo-pending", endpoint(venue, pending, signed=True))
    app.router.add_get("/api/v5/trade/orders-algo-history", endpoint(venue, history, signed=True))
