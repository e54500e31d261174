"""Bybit's view of perpetual funding: a settlement is an execution with ``execType=Funding`` (``/v5/execution/list``
and the private ``execution`` topic). Per Bybit's documentation of funding executions: ``execFee`` is the funding fee
(positive = paid), ``feeRate`` the funding rate, ``execPrice`` the mark price, ``execQty`` the position size,
``execValue`` its value, ``side`` the position's side, ``orderLinkId`` is empty and ``orderId`` a synthetic id of
the settlement (no order is involved), ``orderType`` / ``stopOrderType`` ``UNKNOWN``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from backend.simulator.core.funding import FundingPayment
from backend.simulator.venues.bybit.payloads import num

FUNDING_EXEC_ID_BASE = 1 << 120  # funding execution ids apart from trade ids
FUNDING_ORDER_ID_BASE = 1 << 121  # the synthetic order id of a settlement


def funding_exec_id(payment: FundingPayment) -> str:
    return str(uuid.UUID(int=FUNDING_EXEC_ID_BASE + payment.funding_id))


def funding_execution_item(payment: FundingPayment, contract_size: Decimal, seq: int) -> dict[str, Any]:
    size = abs(payment.position_quantity)
    return {
        "category": "linear",
        "symbol": payment.symbol,
        "orderId": str(uuid.UUID(int=FUNDING_ORDER_ID_BASE + payment.funding_id)),
        "orderLinkId": "",
        "side": "Buy" if payment.position_quantity > 0 else "Sell",
        "orderPrice": "0",
        "orderQty": "0",
        "leavesQty": "0",
        "createType": "",
        "orderType": "UNKNOWN",
        "stopOrderType": "UNKNOWN",
        "execFee": num(-payment.amount),
        "execId": funding_exec_id(payment),
        "execPrice": num(payment.mark_price),
        "execQty": num(size),
        "execType": "Funding",
        "execValue": num(size * contract_size * payment.mark_price),
        "execTime": str(payment.time_ms),
        "feeCurrency": payment.asset,
        "isMaker": False,
        "feeRate": num(payment.rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": num(payment.mark_price),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "0",
        "seq": seq,
        "isLeverage": "0",
    }
