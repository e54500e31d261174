"""Health per client from the private streams (backend/live/adapters/private_streams.py, backend/live/node/health.py):
an exec client whose private stream is down, reconnecting too long or not answering its orders is reported so
while market data keeps its data client fresh; a stream that comes back asks for an audit; the probes count the
Rust clients' internal reconnects. Plus the guard on the adapter attributes the probes rely on."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest
from nautilus_trader.adapters.bybit.execution import BybitExecutionClient
from nautilus_trader.adapters.okx.execution import OKXExecutionClient
from nautilus_trader.core import nautilus_pyo3
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.events import OrderAccepted, OrderSubmitted
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    StrategyId,
    TraderId,
    Venue,
    VenueOrderId,
)

from backend.live.adapters.private_streams import RUST_PRIVATE_SOCKETS, RustSocketsProbe
from backend.live.node.health import ClientRegistry, ClientState, HealthMonitor


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeSocket:
    active: bool = False
    closed: bool = False

    def is_active(self) -> bool:
        return self.active

    def is_closed(self) -> bool:
        return self.closed


@dataclass
class FakeRustExecClient:
    """The parts of a Bybit execution client a probe reads: two Rust sockets, ``_handle_msg``, ``is_connected``."""

    id: ClientId = field(default_factory=lambda: ClientId("BYBIT"))
    venue: Venue = field(default_factory=lambda: Venue("BYBIT"))
    is_connected: bool = True
    _ws_private_client: FakeSocket = field(default_factory=FakeSocket)
    _ws_trade_client: FakeSocket = field(default_factory=FakeSocket)
    handled: list[Any] = field(default_factory=list)

    def _handle_msg(self, msg: Any) -> None:
        self.handled.append(msg)


@dataclass
class FakeDataClient:
    id: ClientId
    venue: Venue
    is_connected: bool = True


def monitored(stale_after_secs: float = 10.0) -> tuple[HealthMonitor, FakeRustExecClient, RustSocketsProbe, Clock,
                                                       list[tuple[str, str]]]:
    """A monitor over a Bybit data client and a Bybit exec client whose sockets are up; audit requests collected."""
    clock, requests = Clock(), []
    registry = ClientRegistry()
    registry.record("data", FakeDataClient(ClientId("BYBIT"), Venue("BYBIT")))
    client = FakeRustExecClient()
    probe = RustSocketsProbe(client, ("_ws_private_client", "_ws_trade_client"), clock=clock)
    registry.clients.append(ClientState(name="BYBIT", kind="exec", client=client, stream=probe))
    monitor = HealthMonitor(registry, stale_after_secs, clock=clock,
                            on_stream_back=lambda client_id, reason: requests.append((client_id, reason)))
    client._ws_private_client.active = client._ws_trade_client.active = True
    monitor.sample_streams()
    return monitor, client, probe, clock, requests


def by_kind(monitor: HealthMonitor) -> dict[str, Any]:
    return {h.kind: h for h in monitor.snapshot()}


def test_a_socket_the_adapter_reconnects_counts_once_and_asks_for_an_audit_when_the_stream_is_whole_again():
    monitor, client, probe, clock, requests = monitored()
    client._ws_private_client.active = client._ws_trade_client.active = False  # the venue dropped both
    monitor.sample_streams()
    assert by_kind(monitor)["exec"].private_stream_state == "reconnecting"
    client._ws_trade_client.active = True
    monitor.sample_streams()
    assert requests == []  # the private socket is still away
    client._ws_private_client.active = True
    monitor.sample_streams()
    monitor.sample_streams()
    health = by_kind(monitor)["exec"]
    assert (health.private_stream_state, health.private_stream_reconnects, health.reconnects) == ("active", 2, 2)
    assert requests == [("BYBIT", "private stream reconnected")]


def test_a_socket_the_adapter_never_connected_is_not_waited_for():
    clock = Clock()
    client = FakeRustExecClient()
    probe = RustSocketsProbe(client, ("_ws_private_client", "_ws_trade_client"), clock=clock)
    client._ws_private_client.active = True  # Bybit demo: no trade socket
    probe.sample()
    assert probe.state == "active"
    client._ws_private_client.closed = True
    assert probe.state == "down"


def test_messages_the_adapter_receives_make_the_private_age_and_still_reach_the_adapter():
    monitor, client, probe, clock, requests = monitored()
    client._handle_msg("an order update")
    clock.now += 2.5
    monitor.record_market_data("BYBIT")
    health = by_kind(monitor)
    assert (health["exec"].last_private_age_secs, health["exec"].last_message_age_secs) == (2.5, 2.5)
    assert (health["data"].last_public_age_secs, health["data"].last_private_age_secs) == (0.0, None)
    assert client.handled == ["an order update"]


def order_event(kind: type, order_id: str) -> Any:
    common = dict(trader_id=TraderId("T-001"), strategy_id=StrategyId("S-001"),
                  instrument_id=InstrumentId.from_str("BTCUSDT-SPOT.BYBIT"), client_order_id=ClientOrderId(order_id))
    if kind is OrderAccepted:
        return OrderAccepted(**common, venue_order_id=VenueOrderId("1"), account_id=AccountId("BYBIT-UNIFIED"),
                             event_id=UUID4(), ts_event=0, ts_init=0)
    return OrderSubmitted(**common, account_id=AccountId("BYBIT-UNIFIED"), event_id=UUID4(), ts_event=0, ts_init=0)


def test_a_private_stream_that_does_not_answer_an_order_is_stale_while_market_data_flows():
    monitor, client, probe, clock, requests = monitored(stale_after_secs=10)
    monitor.on_order_event(order_event(OrderSubmitted, "O-1"))
    clock.now += 11
    monitor.record_market_data("BYBIT")
    health = by_kind(monitor)
    assert (health["data"].stale, health["data"].last_public_age_secs) == (False, 0.0)
    exec_health = health["exec"]
    assert (exec_health.connected, exec_health.stale, exec_health.private_stream_alive) == (True, True, False)
    assert exec_health.awaiting_answer_secs == 11
    assert exec_health.private_stream_detail == "no answer from the venue for 11 s to order O-1"
    monitor.on_order_event(order_event(OrderAccepted, "O-1"))
    exec_health = by_kind(monitor)["exec"]
    assert (exec_health.stale, exec_health.private_stream_alive, exec_health.awaiting_answer_secs) == (False, True,
                                                                                                        None)


def test_a_private_stream_that_is_down_shows_the_client_down():
    monitor, client, probe, clock, requests = monitored()
    client._ws_private_client.closed = True
    health = by_kind(monitor)["exec"]
    assert (health.connected, health.private_stream_state, health.private_stream_alive) == (False, "down", False)
    assert health.private_stream_detail == "the private stream is down and not being re-established"


def test_a_stream_reconnecting_longer_than_stale_after_is_not_alive():
    monitor, client, probe, clock, requests = monitored(stale_after_secs=10)
    client._ws_private_client.active = False
    monitor.sample_streams()
    clock.now += 5
    assert by_kind(monitor)["exec"].private_stream_alive is True  # a reconnect takes a moment
    clock.now += 6
    health = by_kind(monitor)["exec"]
    assert (health.stale, health.private_stream_alive) == (True, False)
    assert health.private_stream_detail == "the private stream has been reconnecting for 11 s"


def test_a_whole_exec_client_reconnecting_asks_for_an_audit():
    monitor, client, probe, clock, requests = monitored()
    for connected in (True, False, True):
        client.is_connected = connected
        monitor.poll()
    assert requests == [("BYBIT", "client reconnected")]


@pytest.mark.parametrize("client_type", list(RUST_PRIVATE_SOCKETS), ids=lambda t: t.__name__)
def test_adapter_attributes_the_probes_rely_on(client_type):
    """Guard: NautilusTrader 1.231.0's Bybit / OKX execution clients create the sockets under these names and hand
    ``self._handle_msg`` to them when they connect (so wrapping it on the instance before connect sees every
    message); their Rust clients answer ``is_active`` / ``is_closed``."""
    init, connect = inspect.getsource(client_type.__init__), inspect.getsource(client_type._connect)
    for name in RUST_PRIVATE_SOCKETS[client_type]:
        assert f"self.{name} = " in init or f"self.{name}: " in init, name
        assert f"await self.{name}.connect(" in connect, name
    assert connect.count("callback=self._handle_msg") == len(RUST_PRIVATE_SOCKETS[client_type])
    rust_type = nautilus_pyo3.BybitWebSocketClient if client_type is BybitExecutionClient \
        else nautilus_pyo3.OKXWebSocketClient
    assert client_type in (BybitExecutionClient, OKXExecutionClient)
    assert callable(rust_type.is_active) and callable(rust_type.is_closed)
