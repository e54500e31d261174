"""OKX v5 endpoints beyond what NautilusTrader calls, which everyday clients (ccxt) use.

Public: ``/api/v5/market/ticker``, ``/market/tickers``, ``/market/trades``, ``/public/funding-rate``,
``/public/funding-rate-history``. Private: ``/api/v5/asset/currencies`` (the configured coins; the simulator has
no deposits or withdrawals, so ``canDep`` / ``canWd`` are false), ``/trade/fills-history`` (the simulator keeps
every fill, so it equals ``/trade/fills``), ``/account/leverage-info`` and ``/account/bills`` / ``bills-archive``
(funding fees: type 8, subType 173 expense / 174 income; the simulator books no other bills).
24-hour ticker figures cover the trades the simulator keeps (the latest 1000 per instrument).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from backend.simulator.core.funding import FundingPayment
from backend.simulator.venues.okx import errors, payloads
from backend.simulator.venues.okx.catalog import Listing
from backend.simulator.venues.okx.rest import RestCall, _int_param, _listings, _page, endpoint, fills
from backend.simulator.venues.okx.state import OkxVenue

DAY_MS = 24 * 60 * 60 * 1000
ZERO = Decimal(0)
FUNDING_BILL_TYPE = "8"
FUNDING_BILL_ID_BASE = 9_000_000_000_000


def _listing(call: RestCall) -> Listing:
    listing = call.venue.catalog.by_inst_id(call.required("instId"))
    if listing is None:
        raise errors.instrument_not_found()
    return listing


def _swap(call: RestCall) -> Listing:
    listing = _listing(call)
    if not listing.is_swap:
        raise errors.parameter_error("instId")
    return listing


# -- market --------------------------------------------------------------------------------------------------------


def ticker_row(venue: OkxVenue, listing: Listing) -> dict[str, Any]:
    exchange = venue.exchange_of(listing)
    now = venue.now_ms()
    book = exchange.book(listing.inst_id)
    trades = [t for t in exchange.recent_trades(listing.inst_id, 1000) if t.time_ms >= now - DAY_MS]
    last = book.last_price
    open_price = trades[0].price if trades else last
    volume = sum((t.quantity for t in trades), ZERO)
    size = listing.instrument.contract_size
    bid = book.bids[0] if book.bids else (ZERO, ZERO)
    ask = book.asks[0] if book.asks else (ZERO, ZERO)
    return {
        "instType": listing.inst_type,
        "instId": listing.inst_id,
        "last": payloads.text(last),
        "lastSz": payloads.text(trades[-1].quantity if trades else ZERO),
        "askPx": payloads.text(ask[0]),
        "askSz": payloads.text(ask[1]),
        "bidPx": payloads.text(bid[0]),
        "bidSz": payloads.text(bid[1]),
        "open24h": payloads.text(open_price),
        "high24h": payloads.text(max((t.price for t in trades), default=last)),
        "low24h": payloads.text(min((t.price for t in trades), default=last)),
        # spot: volCcy24h in quote, vol24h in base; swap: vol24h in contracts, volCcy24h in base
        "volCcy24h": payloads.text(volume * size if listing.is_swap
                                   else sum((t.quantity * t.price for t in trades), ZERO)),
        "vol24h": payloads.text(volume),
        "ts": payloads.ms(now),
        "sodUtc0": payloads.text(open_price),
        "sodUtc8": payloads.text(open_price),
    }


def ticker(call: RestCall) -> list[dict[str, Any]]:
    return [ticker_row(call.venue, _listing(call))]


def tickers(call: RestCall) -> list[dict[str, Any]]:
    call.required("instType")
    return [ticker_row(call.venue, listing) for listing in _listings(call, inst_type_required=True)]


def trades(call: RestCall) -> list[dict[str, Any]]:
    listing = _listing(call)
    limit = _int_param(call, "limit") or 100
    if not 1 <= limit <= 500:
        raise errors.parameter_error("limit")
    recent = call.venue.exchange_of(listing).recent_trades(listing.inst_id, limit)
    return [payloads.public_trade(t) for t in reversed(recent)]


def funding_rate(call: RestCall) -> list[dict[str, Any]]:
    listing = _swap(call)
    schedule = call.venue.exchange_of(listing).funding
    assert schedule is not None
    rate = payloads.text(schedule.rate(listing.inst_id))
    previous = [s for s in schedule.settlements if s.symbol == listing.inst_id]
    return [{
        "instType": "SWAP",
        "instId": listing.inst_id,
        "method": "current_period",
        "formulaType": "withRate",
        "fundingRate": rate,
        "nextFundingRate": "",
        "fundingTime": payloads.ms(schedule.next_ms),
        "nextFundingTime": payloads.ms(schedule.next_ms + schedule.interval_ms),
        "minFundingRate": "-0.03",
        "maxFundingRate": "0.03",
        "settState": "settled",
        "settFundingRate": payloads.text(previous[-1].rate) if previous else rate,
        "premium": "0",
        "sprdRate": "0",
        "interestRate": "0.0001",
        "impactValue": "",
        "ts": payloads.ms(call.venue.now_ms()),
    }]


def funding_rate_history(call: RestCall) -> list[dict[str, Any]]:
    listing = _swap(call)
    schedule = call.venue.exchange_of(listing).funding
    assert schedule is not None
    rows = [
        (s.time_ms, s.time_ms, {"instType": "SWAP", "instId": s.symbol, "formulaType": "withRate",
                                "fundingRate": payloads.text(s.rate), "realizedRate": payloads.text(s.rate),
                                "fundingTime": payloads.ms(s.time_ms), "method": "current_period"})
        for s in schedule.settlements if s.symbol == listing.inst_id
    ]
    return _page(call, rows)


# -- private -------------------------------------------------------------------------------------------------------


def currencies(call: RestCall) -> list[dict[str, Any]]:
    wanted = set((call.param("ccy") or "").split(",")) - {""}
    coins = sorted({a for listing in call.venue.catalog.listings
                    for a in (listing.instrument.base_asset, listing.instrument.quote_asset)})
    return [
        {"ccy": coin, "name": coin, "chain": f"{coin}-{coin}", "canDep": False, "canWd": False,
         "canInternal": False, "minDep": "0", "minWd": "0", "maxWd": "0", "wdTickSz": "8", "wdQuota": "0",
         "usedWdQuota": "0", "minFee": "0", "maxFee": "0", "mainNet": True, "needTag": False, "logoLink": "",
         "minDepArrivalConfirm": "0", "minWdUnlockConfirm": "0", "depQuotaFixed": "", "usedDepQuotaFixed": "",
         "depQuoteDailyLayer2": "", "ctAddr": "", "burningFeeRate": "", "depEstOpenTime": "",
         "wdEstOpenTime": "", "fee": "0"}
        for coin in coins if not wanted or coin in wanted
    ]


def leverage_info(call: RestCall) -> list[dict[str, Any]]:
    margin_mode = call.required("mgnMode")
    if margin_mode not in ("cross", "isolated"):
        raise errors.parameter_error("mgnMode")
    rows = []
    for inst_id in call.required("instId").split(","):
        listing = call.venue.catalog.by_inst_id(inst_id)
        if listing is None:
            raise errors.instrument_not_found()
        if listing.is_swap:
            rows.append({"instId": inst_id, "mgnMode": margin_mode, "posSide": "net", "ccy": "",
                         "lever": call.venue.leverage(listing, call.account)})
    return rows


def bill_row(venue: OkxVenue, payment: FundingPayment) -> dict[str, Any]:
    listing = venue.catalog.by_inst_id(payment.symbol)
    assert listing is not None
    bill_id = str(FUNDING_BILL_ID_BASE + payment.funding_id)
    return {
        "bal": payloads.text(payment.balance_after), "balChg": payloads.text(payment.amount), "billId": bill_id,
        "ccy": payment.asset, "clOrdId": "", "execType": "", "fee": "0", "fillFwdPx": "", "fillIdxPx": "",
        "fillMarkPx": payloads.text(payment.mark_price), "fillMarkVol": "", "fillPxUsd": "", "fillPxVol": "",
        "fillTime": payloads.ms(payment.time_ms), "from": "", "instId": payment.symbol, "instType": "SWAP",
        "interest": "0", "mgnMode": "cross", "notes": "", "ordId": "", "pnl": payloads.text(payment.amount),
        "posBal": "0", "posBalChg": "0", "px": payloads.text(payment.mark_price),
        "subType": "174" if payment.amount > 0 else "173", "sz": payloads.text(abs(payment.position_quantity)),
        "tag": "", "to": "", "tradeId": "", "ts": payloads.ms(payment.time_ms), "type": FUNDING_BILL_TYPE,
    }


def bills(call: RestCall) -> list[dict[str, Any]]:
    bill_type, inst_type = call.param("type"), call.param("instType")
    ccy, inst_id = call.param("ccy"), call.param("instId")
    if bill_type not in (None, FUNDING_BILL_TYPE) or inst_type not in (None, "SWAP"):
        return []
    rows = []
    for listing in call.venue.catalog.of_type("SWAP"):
        if inst_id is not None and listing.inst_id != inst_id:
            continue
        schedule = call.venue.exchange_of(listing).funding
        if schedule is None:
            continue
        for payment in schedule.payments(call.account, listing.inst_id):
            if ccy is None or payment.asset == ccy:
                rows.append((FUNDING_BILL_ID_BASE + payment.funding_id, payment.time_ms,
                             bill_row(call.venue, payment)))
    return _page(call, rows)


def add_routes(app: web.Application, venue: OkxVenue) -> None:
    public = {
        "/api/v5/market/ticker": ticker,
        "/api/v5/market/tickers": tickers,
        "/api/v5/market/trades": trades,
        "/api/v5/public/funding-rate": funding_rate,
        "/api/v5/public/funding-rate-history": funding_rate_history,
    }
    for path, handler in public.items():
        app.router.add_get(path, endpoint(venue, handler, signed=False))
    private = {
        "/api/v5/asset/currencies": currencies,
        "/api/v5/trade/fills-history": fills,
        "/api/v5/account/leverage-info": leverage_info,
        "/api/v5/account/bills": bills,
        "/api/v5/account/bills-archive": bills,
    }
    for path, handler in private.items():
        app.router.add_get(path, endpoint(venue, handler, signed=True))
