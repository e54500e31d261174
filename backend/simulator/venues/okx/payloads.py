"""Pure conversions from the core's records to OKX v5 payloads (every number a string, as OKX sends them).

Field sets follow OKX's recorded payloads (NautilusTrader's ``crates/adapters/okx/test_data``): the adapter's serde
models require most of them even when empty, e.g. every ``OKXBalanceDetail`` field and ``instIdCode``.
Swap quantities (``sz``, ``accFillSz``, ``fillSz``, ``pos``, ``lotSz``, ``minSz``) are contracts, which is also
the core's order unit for contract-sized perpetuals. NautilusTrader reads ``cashBal`` as the total and ``availBal``
as the free balance of a currency.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from backend.simulator.core.events import PositionSnapshot, PublicTrade
from backend.simulator.core.orders import SimFill, SimOrder
from backend.simulator.venues.okx.catalog import Listing
from backend.simulator.venues.okx.orders import OrderEntry

ZERO = Decimal(0)

ORDER_STATES = {
    "NEW": "live",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "EXPIRED": "canceled",
}


def text(value: Decimal | None) -> str:
    """Plain decimal text without exponent or trailing zeros (OKX style), empty for None."""
    if value is None:
        return ""
    normalized = value.normalize()
    if normalized == 0:
        return "0"
    return format(normalized, "f")


def ms(value: int) -> str:
    return str(value)


def instrument(listing: Listing) -> dict[str, Any]:
    inst = listing.instrument
    swap = listing.is_swap
    base, quote = inst.base_asset, inst.quote_asset
    return {
        "alias": "",
        "auctionEndTime": "",
        "baseCcy": "" if swap else base,
        "category": "1",
        "contTdSwTime": "",
        "ctMult": "1" if swap else "",
        "ctType": "linear" if swap else "",
        "ctVal": text(inst.contract_size) if swap else "",
        "ctValCcy": base if swap else "",
        "expTime": "",
        "futureSettlement": False,
        "instFamily": f"{base}-{quote}" if swap else "",
        "instId": listing.inst_id,
        "instIdCode": listing.inst_id_code,
        "instType": listing.inst_type,
        "lever": "100" if swap else "10",
        "listTime": ms(listing.listed_ms),
        "lotSz": text(inst.lot_size),
        "maxIcebergSz": "100000000",
        "maxLmtAmt": "20000000",
        "maxLmtSz": "100000000",
        "maxMktAmt": "" if swap else "1000000",
        "maxMktSz": "12000" if swap else "1000000",
        "maxPlatOILmt": "",
        "maxStopSz": "12000" if swap else "1000000",
        "maxTriggerSz": "100000000",
        "maxTwapSz": "100000000",
        "minSz": text(inst.min_quantity),
        "openType": "",
        "optType": "",
        "posLmtAmt": "",
        "posLmtPct": "",
        "preMktSwTime": "",
        "quoteCcy": "" if swap else quote,
        "ruleType": "normal",
        "settleCcy": quote if swap else "",
        "state": "live",
        "stk": "",
        "tickSz": text(inst.tick_size),
        "tradeQuoteCcyList": [] if swap else [quote],
        "uly": f"{base}-{quote}" if swap else "",
    }


def trade_fee(inst_type: str, maker: Decimal, taker: Decimal, ts_ms: int) -> dict[str, Any]:
    """OKX quotes fees as negative numbers when charged (positive = rebate); ``makerU``/``takerU`` are for
    USDT-margined contracts, ``maker``/``taker`` for spot and coin-margined ones."""
    charged_maker, charged_taker = text(-maker), text(-taker)
    swap = inst_type == "SWAP"
    return {
        "category": "1",
        "delivery": "",
        "exercise": "",
        "fiat": [],
        "instType": inst_type,
        "level": "Lv1",
        "maker": charged_maker,
        "makerU": charged_maker if swap else "",
        "makerUSDC": charged_maker if swap else "",
        "taker": charged_taker,
        "takerU": charged_taker if swap else "",
        "takerUSDC": charged_taker if swap else "",
        "ts": ms(ts_ms),
        "uly": "",
    }


def balance_detail(currency: str, free: Decimal, locked: Decimal, upl: Decimal, u_time_ms: int) -> dict[str, Any]:
    cash = free + locked
    equity = cash + upl
    return {
        "accAvgPx": "",
        "availBal": text(free),
        "availEq": text(free),
        "borrowFroz": "",
        "cashBal": text(cash),
        "ccy": currency,
        "clSpotInUseAmt": "",
        "collateralEnabled": False,
        "crossLiab": "",
        "disEq": text(equity),
        "eq": text(equity),
        "eqUsd": text(equity) if currency in ("USDT", "USDC", "USD") else "0",
        "fixedBal": "0",
        "frozenBal": text(locked),
        "imr": "0",
        "interest": "",
        "isoEq": "0",
        "isoLiab": "",
        "isoUpl": "0",
        "liab": "",
        "maxLoan": "",
        "maxSpotInUseAmt": "",
        "mgnRatio": "",
        "mmr": "0",
        "notionalLever": "0",
        "openAvgPx": "",
        "ordFrozen": text(locked),
        "rewardBal": "0",
        "smtSyncEq": "0",
        "spotBal": "",
        "spotCopyTradingEq": "0",
        "spotInUseAmt": "",
        "spotIsoBal": "0",
        "spotUpl": "",
        "spotUplRatio": "",
        "stgyEq": "0",
        "totalPnl": "",
        "totalPnlRatio": "",
        "twap": "0",
        "uTime": ms(u_time_ms),
        "upl": text(upl),
        "uplLiab": "",
    }


def account(details: list[dict[str, Any]], total_eq_usd: Decimal, u_time_ms: int) -> dict[str, Any]:
    return {
        "adjEq": "",
        "availEq": "",
        "borrowFroz": "",
        "details": details,
        "imr": "",
        "isoEq": "0",
        "mgnRatio": "",
        "mmr": "",
        "notionalUsd": "",
        "notionalUsdForBorrow": "",
        "notionalUsdForFutures": "",
        "notionalUsdForOption": "",
        "notionalUsdForSwap": "",
        "ordFroz": "",
        "totalEq": text(total_eq_usd),
        "uTime": ms(u_time_ms),
        "upl": "",
    }


def order_type(order: SimOrder) -> str:
    if order.order_type == "MARKET":
        return "market"
    if order.post_only or order.time_in_force == "GTX":
        return "post_only"
    if order.time_in_force == "IOC":
        return "ioc"
    if order.time_in_force == "FOK":
        return "fok"
    return "limit"


def order_state(order: SimOrder) -> str:
    return ORDER_STATES[order.status]


def fee_currency(listing: Listing, side: str) -> str:
    """What OKX charges fees in: the settle currency of a swap, the received currency of a spot trade."""
    instrument = listing.instrument
    if listing.is_swap:
        return instrument.settlement_asset
    return instrument.base_asset if side == "BUY" else instrument.quote_asset


def order(
    listing: Listing,
    order: SimOrder,
    entry: OrderEntry,
    fill: SimFill | None = None,
) -> dict[str, Any]:
    """One order as ``GET /api/v5/trade/order`` and the ``orders`` channel show it. ``fill`` is the execution that
    produced this update (``fillSz``/``fillPx``/``tradeId``/``fillTime`` describe the last fill, empty before any).
    Fees are negative when charged: ``fee`` is the order's accumulated fee, ``fillFee`` the last fill's."""
    return {
        "accFillSz": text(order.filled_quantity),
        "algoClOrdId": "",
        "algoId": "",
        "attachAlgoClOrdId": "",
        "attachAlgoOrds": [],
        "avgPx": text(order.avg_price) if order.filled_quantity > 0 else "",
        "cTime": ms(order.created_ms),
        "cancelSource": "",
        "cancelSourceReason": "",
        "category": "normal",
        "ccy": entry.margin_currency,
        "clOrdId": order.client_order_id or "",
        "execType": ("M" if fill.is_maker else "T") if fill else "",
        "fee": text(-order.fee_total),
        "feeCcy": fill.fee_asset if fill else fee_currency(listing, order.side),
        "fillFee": text(-fill.fee) if fill else "0",
        "fillFeeCcy": fill.fee_asset if fill else "",
        "fillNotionalUsd": "",
        "fillPnl": text(fill.realized_pnl) if fill else "0",
        "fillPx": text(fill.price) if fill else "",
        "fillSz": text(fill.quantity) if fill else "0",
        "fillTime": ms(fill.time_ms) if fill else "",
        "instId": listing.inst_id,
        "instType": listing.inst_type,
        "isTpLimit": "false",
        "lever": entry.leverage,
        "linkedAlgoOrd": {"algoId": ""},
        "ordId": str(order.order_id),
        "ordType": order_type(order),
        "pnl": "0",
        "posSide": "net" if listing.is_swap else "",
        "px": text(order.price),
        "pxType": "",
        "pxUsd": "",
        "pxVol": "",
        "quickMgnType": "",
        "rebate": "0",
        "rebateCcy": listing.instrument.quote_asset,
        "reduceOnly": "true" if order.reduce_only else "false",
        "side": order.side.lower(),
        "slOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "source": "",
        "state": order_state(order),
        "stpId": "",
        "stpMode": "cancel_maker",
        "sz": text(order.quantity),
        "tag": entry.tag,
        "tdMode": entry.trade_mode,
        "tgtCcy": entry.target_currency,
        "tpOrdPx": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tradeId": str(fill.trade_id) if fill else "",
        "uTime": ms(order.updated_ms),
    }


def order_push(
    listing: Listing, order_snapshot: SimOrder, entry: OrderEntry, fill: SimFill | None, amended: bool
) -> dict[str, Any]:
    """An ``orders`` channel element: the order plus the WebSocket-only fields."""
    payload = order(listing, order_snapshot, entry, fill)
    payload.update(
        amendResult="0" if amended else "",
        amendSource="",
        code="0",
        msg="",
        notionalUsd="",
        reqId=entry.request_id if amended else "",
    )
    return payload


def transaction(listing: Listing, fill: SimFill, bill_id: str) -> dict[str, Any]:
    """One ``GET /api/v5/trade/fills`` row."""
    return {
        "billId": bill_id,
        "clOrdId": fill.client_order_id or "",
        "execType": "M" if fill.is_maker else "T",
        "fee": text(-fill.fee),
        "feeCcy": fill.fee_asset,
        "fillIdxPx": "",
        "fillMarkPx": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillPnl": text(fill.realized_pnl),
        "fillPx": text(fill.price),
        "fillPxUsd": "",
        "fillPxVol": "",
        "fillSz": text(fill.quantity),
        "fillTime": ms(fill.time_ms),
        "instId": listing.inst_id,
        "instType": listing.inst_type,
        "ordId": str(fill.order_id),
        "posSide": "net" if listing.is_swap else "",
        "side": fill.side.lower(),
        "subType": "1" if fill.side == "BUY" else "2",
        "tag": "",
        "tradeId": str(fill.trade_id),
        "ts": ms(fill.time_ms),
    }


def position(listing: Listing, snapshot: PositionSnapshot, trade_id: str, created_ms: int) -> dict[str, Any]:
    """One net-mode position (``GET /api/v5/account/positions`` and the ``positions`` channel). ``pos`` is signed
    contracts; the base quantity is ``pos * ctVal``."""
    return {
        "adl": "1",
        "availPos": text(abs(snapshot.quantity)),
        "avgPx": text(snapshot.entry_price) if snapshot.quantity != 0 else "",
        "baseBal": "",
        "baseBorrowed": "",
        "baseInterest": "",
        "bePx": text(snapshot.entry_price) if snapshot.quantity != 0 else "",
        "bizRefId": "",
        "bizRefType": "",
        "cTime": ms(created_ms),
        "ccy": snapshot.settle_asset,
        "clSpotInUseAmt": "",
        "closeOrderAlgo": [],
        "deltaBS": "",
        "deltaPA": "",
        "fee": "0",
        "fundingFee": "0",
        "gammaBS": "",
        "gammaPA": "",
        "idxPx": text(snapshot.mark_price),
        "imr": text(snapshot.initial_margin),
        "instId": listing.inst_id,
        "instType": listing.inst_type,
        "interest": "",
        "last": text(snapshot.mark_price),
        "lever": str(snapshot.leverage),
        "liab": "",
        "liabCcy": "",
        "liqPenalty": "0",
        "liqPx": "",
        "margin": "",
        "markPx": text(snapshot.mark_price),
        "maxSpotInUseAmt": "",
        "mgnMode": "cross",
        "mgnRatio": "",
        "mmr": text(snapshot.maintenance_margin),
        "notionalUsd": text(abs(snapshot.notional)),
        "optVal": "",
        "pendingCloseOrdLiabVal": "",
        "pnl": text(snapshot.realized_pnl),
        "pos": text(snapshot.quantity),
        "posCcy": "",
        "posId": str(listing.inst_id_code),
        "posSide": "net",
        "quoteBal": "",
        "quoteBorrowed": "",
        "quoteInterest": "",
        "realizedPnl": text(snapshot.realized_pnl),
        "spotInUseAmt": "",
        "spotInUseCcy": "",
        "thetaBS": "",
        "thetaPA": "",
        "tradeId": trade_id,
        "uTime": ms(snapshot.updated_ms),
        "upl": text(snapshot.unrealized_pnl),
        "uplLastPx": text(snapshot.unrealized_pnl),
        "uplRatio": "0",
        "uplRatioLastPx": "0",
        "usdPx": "",
        "vegaBS": "",
        "vegaPA": "",
        "nonSettleAvgPx": "",
        "settledPnl": "",
    }


def public_trade(trade: PublicTrade) -> dict[str, Any]:
    return {
        "instId": trade.symbol,
        "tradeId": str(trade.trade_id),
        "px": text(trade.price),
        "sz": text(trade.quantity),
        "side": trade.side.lower(),
        "ts": ms(trade.time_ms),
        "count": "1",
        "source": "0",
        "seqId": trade.trade_id,
    }


def book_levels(levels: Iterable[tuple[Decimal, Decimal]]) -> list[list[str]]:
    """``[price, size, "0", orders]`` rows (OKX's deprecated liquidated-orders column is always ``"0"``)."""
    return [[text(price), text(size), "0", "1"] for price, size in levels]


def book(
    bids: Iterable[tuple[Decimal, Decimal]],
    asks: Iterable[tuple[Decimal, Decimal]],
    ts_ms: int,
    seq_id: int,
    prev_seq_id: int | None = None,
    checksum: int | None = None,
) -> dict[str, Any]:
    """A ``books`` element (with ``prevSeqId``, -1 on a snapshot, and the checksum of the whole book after it) or
    a ``bbo-tbt`` element (without)."""
    payload: dict[str, Any] = {"asks": book_levels(asks), "bids": book_levels(bids), "ts": ms(ts_ms), "seqId": seq_id}
    if prev_seq_id is not None:
        payload["prevSeqId"] = prev_seq_id
        payload["checksum"] = checksum
    return payload


def book_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """OKX's CRC32 over the first 25 levels, ``bidPx:bidSz:askPx:askSz`` interleaved, as a signed 32-bit int."""
    parts: list[str] = []
    for index in range(25):
        if index < len(bids):
            parts.extend(bids[index][:2])
        if index < len(asks):
            parts.extend(asks[index][:2])
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= (1 << 31) else value


def mark_price(listing: Listing, price: Decimal, ts_ms: int) -> dict[str, Any]:
    return {"instType": listing.inst_type, "instId": listing.inst_id, "markPx": text(price), "ts": ms(ts_ms)}
