"""The Bybit "accepted report" shim (``backend/live/adapters/bybit_exec.py``): what it relies on in NautilusTrader
1.231.0, and what it does with a report that beats the queued ``OrderSubmitted``."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from nautilus_trader.adapters.bybit.execution import BybitExecutionClient
from nautilus_trader.live.enqueue import ThrottledEnqueuer
from nautilus_trader.model.enums import OrderStatus

from backend.live.adapters import bybit_exec
from backend.live.adapters.bybit_exec import AcceptReportsBybitExecutionClient, BybitAcceptReportsExecClientFactory
from backend.live.venues import VENUES


def test_nautilus_still_drops_an_accepted_report_for_an_order_it_has_not_marked_submitted() -> None:
    """Fails loudly when an upgrade changes either half of the race: if NautilusTrader applies OrderSubmitted
    synchronously, or accepts from INITIALIZED itself, the shim is no longer needed (remove it)."""
    handler = inspect.getsource(BybitExecutionClient._handle_order_status_report_pyo3)
    assert "elif report.order_status == OrderStatus.ACCEPTED:" in handler
    assert "if order.status == OrderStatus.SUBMITTED:" in handler
    assert "call_soon_threadsafe" in inspect.getsource(ThrottledEnqueuer.enqueue)
    for name in ("_cache_report_position_id", "_is_external_order", "generate_order_accepted"):
        assert callable(getattr(BybitExecutionClient, name)), name
    # The class switch needs an instance layout the subclass does not change.
    assert AcceptReportsBybitExecutionClient.__dict__.keys() <= {"__module__", "__doc__", "__qualname__",
                                                                 "_handle_order_status_report_pyo3", "__firstlineno__",
                                                                 "__static_attributes__"}


def test_the_node_builds_bybit_exec_clients_through_the_shim() -> None:
    assert VENUES["BYBIT"].exec_factory is BybitAcceptReportsExecClientFactory


class FakeClient:
    """Just what the handler touches on ``self``."""

    def __init__(self, order_status: OrderStatus, external: bool = False) -> None:
        self.order = SimpleNamespace(status=order_status, strategy_id="S-1")
        self._cache = SimpleNamespace(order=lambda client_order_id: self.order)
        self.external = external
        self.accepted: list[dict] = []
        self.cached: list[object] = []
        self.delegated: list[object] = []

    def _is_external_order(self, client_order_id: object) -> bool:
        return self.external

    def _cache_report_position_id(self, report: object) -> None:
        self.cached.append(report)

    def generate_order_accepted(self, **event: object) -> None:
        self.accepted.append(event)


@pytest.fixture
def plain_reports(monkeypatch):
    """Reports as plain objects (``from_pyo3`` is the identity) and NautilusTrader's own handler recorded."""
    monkeypatch.setattr(bybit_exec, "OrderStatusReport", SimpleNamespace(from_pyo3=lambda report: report))
    monkeypatch.setattr(BybitExecutionClient, "_handle_order_status_report_pyo3",
                        lambda self, report: self.delegated.append(report))


def report(status: OrderStatus) -> SimpleNamespace:
    return SimpleNamespace(order_status=status, client_order_id="O-1", instrument_id="BTCUSDT-SPOT.BYBIT",
                           venue_order_id="V-1", ts_last=7)


def test_an_accepted_report_for_an_order_still_initialized_generates_order_accepted(plain_reports) -> None:
    client = FakeClient(OrderStatus.INITIALIZED)
    accepted = report(OrderStatus.ACCEPTED)
    AcceptReportsBybitExecutionClient._handle_order_status_report_pyo3(client, accepted)  # type: ignore[arg-type]
    assert client.accepted == [{"strategy_id": "S-1", "instrument_id": "BTCUSDT-SPOT.BYBIT", "client_order_id": "O-1",
                                "venue_order_id": "V-1", "ts_event": 7}]
    assert client.cached == [accepted] and client.delegated == []


@pytest.mark.parametrize(("order_status", "report_status", "external"), [
    (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, False),  # the usual order of things
    (OrderStatus.INITIALIZED, OrderStatus.CANCELED, False),  # only ACCEPTED is special
    (OrderStatus.INITIALIZED, OrderStatus.ACCEPTED, True),  # external orders: NautilusTrader's path
])
def test_every_other_report_goes_to_nautilus_unchanged(plain_reports, order_status, report_status, external) -> None:
    client = FakeClient(order_status, external)
    other = report(report_status)
    AcceptReportsBybitExecutionClient._handle_order_status_report_pyo3(client, other)  # type: ignore[arg-type]
    assert client.delegated == [other] and client.accepted == []
