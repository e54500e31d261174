"""OKX v5 REST: ``{"code", "msg", "data"}`` envelopes, request signing, and the endpoints the NautilusTrader
adapter (and ccxt) call.

Private endpoints check ``OK-ACCESS-KEY`` / ``-SIGN`` / ``-TIMESTAMP`` / ``-PASSPHRASE`` before anything runs, so a
refused request changes nothing. Lists are newest first and honour OKX's ``after`` / ``before`` id cursors,
``begin`` / ``end`` (ms) and ``limit`` (at most 100), so paginating clients terminate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from backend.simulator.core.errors import SimError
from backend.simulator.core.orders import SimFill, SimOrder
from backend.simulator.core.rest import integer_param, rest_endpoint
from backend.simulator.venues.okx import errors, orders, payloads, signing, streams, trading
from backend.simulator.venues.okx.catalog import Listing
from backend.simulator.venues.okx.errors import OkxError
from backend.simulator.venues.okx.state import OkxVenue

TIMESTAMP_WINDOW_MS = 30_000
MAX_PAGE = 100
AUTH_HEADERS = ("OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-PASSPHRASE")


@dataclass(frozen=True, slots=True)
class RestCall:
    """One REST request after authentication."""

    venue: OkxVenue
    account_id: str | None
    params: dict[str, str]
    body: Any

    def param(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value else None

    def required(self, name: str) -> str:
        value = self.param(name)
        if value is None:
            raise errors.empty_parameter(name)
        return value

    @property
    def account(self) -> str:
        assert self.account_id is not None, "signed endpoint"
        return self.account_id

    def body_args(self, batch: bool) -> list[dict[str, Any]]:
        """A trade POST body as argument objects (one object, or a list for batch endpoints)."""
        body = self.body
        if batch:
            if not isinstance(body, list) or not body or not all(isinstance(arg, dict) for arg in body):
                raise errors.parameter_error("body")
            return body
        if not isinstance(body, dict):
            raise errors.parameter_error("body")
        return [body]


Handler = Callable[[RestCall], Any]


def authenticate(venue: OkxVenue, request: web.Request, body: str) -> str:
    """The account a signed request acts for, or the OKX error (HTTP 401) refusing it."""
    headers = request.headers
    values = {name: headers.get(name, "") for name in AUTH_HEADERS}
    for name in AUTH_HEADERS:
        if not values[name]:
            raise errors.missing_header(name)
    credential = venue.credentials.get(values["OK-ACCESS-KEY"])
    if credential is None:
        raise errors.invalid_key()
    sent_ms = signing.parse_rest_timestamp_ms(values["OK-ACCESS-TIMESTAMP"])
    if sent_ms is None:
        raise errors.invalid_timestamp()
    if abs(venue.now_ms() - sent_ms) > TIMESTAMP_WINDOW_MS:
        raise errors.timestamp_expired()
    if values["OK-ACCESS-PASSPHRASE"] != credential.passphrase:
        raise errors.wrong_passphrase()
    expected = signing.rest_signature(
        credential.secret, values["OK-ACCESS-TIMESTAMP"], request.method, request.raw_path, body
    )
    if not signing.signatures_match(expected, values["OK-ACCESS-SIGN"]):
        raise errors.invalid_sign()
    return credential.account_id


def _error_response(error: OkxError) -> web.Response:
    return web.json_response({"code": error.code, "msg": error.msg, "data": []}, status=error.status,
                             dumps=_dumps)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def endpoint(venue: OkxVenue, handler: Handler, signed: bool, trade: bool = False) -> Any:
    """Wrap ``handler`` into an aiohttp handler. ``trade`` handlers return per-order rows; the envelope code is
    derived from them (``1`` all failed, ``2`` partly) as on OKX."""

    async def run(request: web.Request) -> Any:
        body_text = await request.text()
        account_id = authenticate(venue, request, body_text) if signed else None
        body: Any = None
        if request.method == "POST":
            if not body_text:
                raise OkxError("50000", "Body for POST request cannot be empty.", 400)
            try:
                body = json.loads(body_text)
            except ValueError:
                raise errors.json_syntax() from None
        call = RestCall(venue, account_id, dict(request.query), body)
        with venue.deferring_events():
            return handler(call)

    def answer(data: Any) -> web.Response:
        if trade:
            code = trading.envelope_code(data)
            msg = {"0": "", "1": "All operations failed", "2": "Bulk operation partially succeeded."}[code]
            return web.json_response({"code": code, "msg": msg, "data": data}, dumps=_dumps)
        return web.json_response({"code": "0", "msg": "", "data": data}, dumps=_dumps)

    return rest_endpoint(run, answer, _error_response, lambda error: errors.from_sim_error(error, "query", "", False))


# -- helpers -------------------------------------------------------------------------------------------------------


def _int_param(call: RestCall, name: str) -> int | None:
    return integer_param(call.param(name), lambda: errors.parameter_error(name))


def _listings(call: RestCall, inst_type_required: bool) -> tuple[Listing, ...]:
    """Listings selected by ``instType`` (and ``instId``)."""
    inst_type = call.required("instType") if inst_type_required else call.param("instType")
    inst_id = call.param("instId")
    if inst_id is not None:
        listing = call.venue.catalog.by_inst_id(inst_id)
        if listing is None:
            raise errors.instrument_not_found()
        return (listing,) if inst_type in (None, listing.inst_type) else ()
    return call.venue.catalog.of_type(inst_type)


def _page(call: RestCall, rows: Sequence[tuple[int, int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Newest first; ``rows`` are ``(id, time_ms, payload)``. ``after`` = older than id, ``before`` = newer."""
    after, before = _int_param(call, "after"), _int_param(call, "before")
    begin, end = _int_param(call, "begin"), _int_param(call, "end")
    limit = _int_param(call, "limit") or MAX_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise errors.parameter_error("limit")
    selected = [
        payload
        for row_id, time_ms, payload in sorted(rows, key=lambda row: row[0], reverse=True)
        if (after is None or row_id < after)
        and (before is None or row_id > before)
        and (begin is None or time_ms >= begin)
        and (end is None or time_ms <= end)
    ]
    return selected[:limit]


def _last_fill(fills: Iterable[SimFill], order_id: int) -> SimFill | None:
    found = None
    for fill in fills:
        if fill.order_id == order_id:
            found = fill
    return found


def _order_rows(call: RestCall, listing: Listing, records: Iterable[SimOrder]) -> list[tuple[int, int, dict]]:
    venue = call.venue
    fills = venue.exchange_of(listing).fills(call.account, listing.inst_id)
    return [
        (
            order.order_id,
            order.created_ms,
            payloads.order(listing, order, venue.entry(listing.market, order.order_id),
                           _last_fill(fills, order.order_id)),
        )
        for order in records
    ]


# -- public --------------------------------------------------------------------------------------------------------


def server_time(call: RestCall) -> list[dict[str, str]]:
    return [{"ts": str(call.venue.now_ms())}]


def instruments(call: RestCall) -> list[dict[str, Any]]:
    return [payloads.instrument(listing) for listing in _listings(call, inst_type_required=True)]


def mark_price(call: RestCall) -> list[dict[str, Any]]:
    rows = []
    for listing in _listings(call, inst_type_required=True):
        book = call.venue.exchange_of(listing).book(listing.inst_id)
        rows.append(payloads.mark_price(listing, book.last_price, book.time_ms))
    return rows


def order_book(call: RestCall) -> list[dict[str, Any]]:
    listing = call.venue.catalog.by_inst_id(call.required("instId"))
    if listing is None:
        raise errors.instrument_not_found()
    depth = _int_param(call, "sz") or 1
    book = call.venue.exchange_of(listing).book(listing.inst_id)
    return [{"asks": payloads.book_levels(book.asks[:depth]), "bids": payloads.book_levels(book.bids[:depth]),
             "ts": payloads.ms(book.time_ms)}]


# -- account -------------------------------------------------------------------------------------------------------


def balance(call: RestCall) -> list[dict[str, Any]]:
    snapshot = streams.account_snapshot(call.venue, call.account)
    wanted = call.param("ccy")
    if wanted is not None:
        currencies = set(wanted.split(","))
        snapshot["details"] = [d for d in snapshot["details"] if d["ccy"] in currencies]
    return [snapshot]


def trade_fee(call: RestCall) -> list[dict[str, Any]]:
    inst_type = call.required("instType")
    market = {"SPOT": "spot", "SWAP": "swap"}.get(inst_type)
    exchange = call.venue.exchanges.get(market or "")
    if exchange is None:
        raise errors.parameter_error("instType")
    fees = exchange.account(call.account).fees
    return [payloads.trade_fee(inst_type, fees.maker, fees.taker, call.venue.now_ms())]


def positions(call: RestCall) -> list[dict[str, Any]]:
    inst_type = call.param("instType")
    if inst_type not in (None, "SWAP", "MARGIN", "FUTURES", "OPTION"):
        raise errors.parameter_error("instType")
    if inst_type not in (None, "SWAP"):
        return []
    return streams.position_payloads(call.venue, call.account, call.param("instId"))


def account_config(call: RestCall) -> list[dict[str, Any]]:
    return [{
        "acctLv": "2",
        "acctStpMode": "cancel_maker",
        "autoLoan": False,
        "ctIsoMode": "automatic",
        "enableSpotBorrow": False,
        "greeksType": "PA",
        "ip": "",
        "kycLv": "3",
        "label": "simulator",
        "level": "Lv1",
        "levelTmp": "",
        "liquidationGear": "-1",
        "mainUid": call.account,
        "mgnIsoMode": "automatic",
        "opAuth": "1",
        "perm": "read_only,trade",
        "posMode": "net_mode",
        "roleType": "0",
        "spotBorrowAutoRepay": False,
        "spotOffsetType": "",
        "spotRoleType": "0",
        "spotTraderInsts": [],
        "traderInsts": [],
        "type": "0",
        "uid": call.account,
    }]


def set_position_mode(call: RestCall) -> list[dict[str, str]]:
    body = call.body_args(batch=False)[0]
    if body.get("posMode") != "net_mode":
        raise OkxError("51000", "Parameter posMode error")
    return [{"posMode": "net_mode"}]


def set_leverage(call: RestCall) -> list[dict[str, str]]:
    body = call.body_args(batch=False)[0]
    listing = orders.resolve_listing(call.venue.catalog, body)
    try:
        lever = int(Decimal(str(body.get("lever", ""))))
    except (ArithmeticError, ValueError):
        raise errors.parameter_error("lever") from None
    call.venue.exchange_of(listing).set_leverage(call.account, listing.inst_id, lever)
    return [{"instId": listing.inst_id, "lever": str(lever), "mgnMode": str(body.get("mgnMode", "cross")),
             "posSide": "net"}]


# -- trade: queries --------------------------------------------------------------------------------------------------


def get_order(call: RestCall) -> list[dict[str, Any]]:
    venue = call.venue
    ref = orders.parse_ref(venue.catalog, call.params)
    exchange = venue.exchange_of(ref.listing)
    try:
        order = exchange.get_order(call.account, ref.listing.inst_id, ref.order_id, ref.client_order_id)
    except SimError as error:
        raise errors.from_sim_error(error, "query", "", ref.listing.is_swap) from None
    if order.is_stop and not order.triggered:
        raise errors.order_not_found()  # an algo order (algo.py) until it triggers
    return [row for _, _, row in _order_rows(call, ref.listing, [order])]


def orders_pending(call: RestCall) -> list[dict[str, Any]]:
    rows = []
    for listing in _listings(call, inst_type_required=False):
        exchange = call.venue.exchange_of(listing)
        rows.extend(_order_rows(call, listing, [o for o in exchange.open_orders(call.account, listing.inst_id)
                                                if not orders.is_waiting_algo(o)]))
    return _page(call, rows)


def orders_history(call: RestCall) -> list[dict[str, Any]]:
    state = call.param("state")
    rows = []
    for listing in _listings(call, inst_type_required=True):
        exchange = call.venue.exchange_of(listing)
        closed = [o for o in exchange.order_history(call.account, listing.inst_id)
                  if not o.is_open and not (o.is_stop and not o.triggered)]  # an untriggered algo never was an order
        rows.extend(_order_rows(call, listing, closed))
    if state is not None:
        rows = [row for row in rows if row[2]["state"] == state]
    return _page(call, rows)


def fills(call: RestCall) -> list[dict[str, Any]]:
    order_id = _int_param(call, "ordId")
    rows = []
    for listing in _listings(call, inst_type_required=False):
        for fill in call.venue.exchange_of(listing).fills(call.account, listing.inst_id):
            if order_id is None or fill.order_id == order_id:
                rows.append((fill.trade_id, fill.time_ms, payloads.transaction(listing, fill, str(fill.trade_id))))
    return _page(call, rows)


# -- trade: order entry ----------------------------------------------------------------------------------------------


def _trade(action: Callable[[OkxVenue, str, dict[str, Any]], dict[str, Any]], batch: bool) -> Handler:
    def run(call: RestCall) -> list[dict[str, Any]]:
        return [action(call.venue, call.account, arg) for arg in call.body_args(batch)]

    return run


def add_routes(app: web.Application, venue: OkxVenue) -> None:
    get, post = app.router.add_get, app.router.add_post
    public = {
        "/api/v5/public/time": server_time,
        "/api/v5/public/instruments": instruments,
        "/api/v5/public/mark-price": mark_price,
        "/api/v5/market/books": order_book,
    }
    for path, handler in public.items():
        get(path, endpoint(venue, handler, signed=False))
    private_get = {
        "/api/v5/account/balance": balance,
        "/api/v5/account/trade-fee": trade_fee,
        "/api/v5/account/positions": positions,
        "/api/v5/account/config": account_config,
        "/api/v5/trade/order": get_order,
        "/api/v5/trade/orders-pending": orders_pending,
        "/api/v5/trade/orders-history": orders_history,
        "/api/v5/trade/fills": fills,
    }
    for path, handler in private_get.items():
        get(path, endpoint(venue, handler, signed=True))
    post("/api/v5/account/set-position-mode", endpoint(venue, set_position_mode, signed=True))
    post("/api/v5/account/set-leverage", endpoint(venue, set_leverage, signed=True))
    trade_posts = {
        "/api/v5/trade/order": _trade(trading.place, batch=False),
        "/api/v5/trade/cancel-order": _trade(trading.cancel, batch=False),
        "/api/v5/trade/amend-order": _trade(trading.amend, batch=False),
        "/api/v5/trade/batch-orders": _trade(trading.place, batch=True),
        "/api/v5/trade/cancel-batch-orders": _trade(trading.cancel, batch=True),
        "/api/v5/trade/amend-batch-orders": _trade(trading.amend, batch=True),
    }
    for path, handler in trade_posts.items():
        post(path, endpoint(venue, handler, signed=True, trade=True))
