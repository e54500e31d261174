"""Bybit execution client factory whose client never drops the venue's "order accepted" report.

What NautilusTrader 1.231.0 does: ``BybitExecutionClient._submit_order`` generates ``OrderSubmitted`` and then sends
the order over the trade WebSocket. The event reaches the order only later: the execution engine's
``ThrottledEnqueuer`` puts it on the event queue with ``loop.call_soon_threadsafe`` and the queue's task applies it
one loop turn after that. When the venue's private-stream ``order`` push (status ``New``) is handled within those two
loop turns, ``_handle_order_status_report_pyo3`` still sees the order INITIALIZED, and it generates
``OrderAccepted`` only for a SUBMITTED order: the report is dropped, and the order stays SUBMITTED while it rests
on the venue (a limit order never becomes ACCEPTED; its fills still arrive). A fast venue (the offline simulator,
one order in a few hundred) or a busy event loop (the loop turn takes longer than the venue's round trip) hits it.

What we do instead: an ACCEPTED report for a strategy's order that is still INITIALIZED means our own
``OrderSubmitted`` is queued ahead of it (the venue cannot know an order before it was sent), so ``OrderAccepted``
is generated at once; both events go through the same queue, so the order applies them in that order. Every other
report goes to NautilusTrader's handler unchanged.
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.adapters.bybit.execution import BybitExecutionClient
from nautilus_trader.adapters.bybit.factories import BybitLiveExecClientFactory
from nautilus_trader.core import nautilus_pyo3
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.model.enums import OrderStatus

from backend.live.adapters.class_switch import switch_class


class AcceptReportsBybitExecutionClient(BybitExecutionClient):
    def _handle_order_status_report_pyo3(self, pyo3_report: nautilus_pyo3.OrderStatusReport) -> None:
        report = OrderStatusReport.from_pyo3(pyo3_report)
        order = self._cache.order(report.client_order_id) if report.client_order_id else None
        if (
            order is None
            or report.order_status != OrderStatus.ACCEPTED
            or order.status != OrderStatus.INITIALIZED
            or self._is_external_order(report.client_order_id)
        ):
            BybitExecutionClient._handle_order_status_report_pyo3(self, pyo3_report)
            return
        self._cache_report_position_id(report)
        self.generate_order_accepted(
            strategy_id=order.strategy_id,
            instrument_id=report.instrument_id,
            client_order_id=report.client_order_id,
            venue_order_id=report.venue_order_id,
            ts_event=report.ts_last,
        )


class BybitAcceptReportsExecClientFactory(BybitLiveExecClientFactory):
    """``BybitLiveExecClientFactory`` whose client keeps early "accepted" reports (see the module note)."""

    @staticmethod
    def create(*args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        client = BybitLiveExecClientFactory.create(*args, **kwargs)
        return switch_class(client, BybitExecutionClient, AcceptReportsBybitExecutionClient)
