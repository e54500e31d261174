"""Client health alone: the registry learns clients from the factories NautilusTrader calls, the monitor reports
connected / last message age / stale / reconnects from the clients' own flags and the venue activity it is told of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory
from nautilus_trader.model.identifiers import ClientId, Venue

from backend.live.node.health import ClientRegistry, HealthMonitor


@dataclass
class FakeClient:
    id: ClientId
    venue: Venue | None
    is_connected: bool = True


class FakeDataFactory(LiveDataClientFactory):
    @staticmethod
    def create(loop: Any, name: str, config: Any, msgbus: Any, cache: Any, clock: Any) -> FakeClient:
        return FakeClient(ClientId(name), Venue(config))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_recording_factory_is_the_factory_and_notes_each_client_it_creates() -> None:
    registry = ClientRegistry()
    factory = registry.recording(FakeDataFactory, "data")
    assert issubclass(factory, LiveDataClientFactory) and issubclass(factory, FakeDataFactory)
    created = factory.create(loop=None, name="BYBIT", config="BYBIT", msgbus=None, cache=None, clock=None)
    assert [(s.name, s.kind, s.client) for s in registry.clients] == [("BYBIT", "data", created)]
    assert registry.of_kind("data") == {"BYBIT": created} and registry.of_kind("exec") == {}


def test_an_exec_factory_records_exec_clients() -> None:
    registry = ClientRegistry()

    class FakeExecFactory(LiveExecClientFactory):
        @staticmethod
        def create(*args: Any, **kwargs: Any) -> FakeClient:
            return FakeClient(ClientId(kwargs["name"]), Venue("OKX"))

    registry.recording(FakeExecFactory, "exec").create(loop=None, name="OKX", config=None, msgbus=None, cache=None,
                                                       clock=None)
    assert list(registry.of_kind("exec")) == ["OKX"]


def test_a_data_clients_age_and_staleness_follow_its_venues_market_data() -> None:
    registry, clock = ClientRegistry(), Clock()
    monitor = HealthMonitor(registry, stale_after_secs=60, clock=clock)
    registry.record("data", FakeClient(ClientId("BINANCE_SPOT"), Venue("BINANCE")))
    registry.record("data", FakeClient(ClientId("OKX"), Venue("OKX")))
    registry.record("data", FakeClient(ClientId("BYBIT"), Venue("BYBIT"), is_connected=False))
    monitor.record_market_data("BINANCE")
    monitor.record_market_data("BYBIT")
    clock.now += 61
    monitor.record_market_data("OKX")
    clock.now += 1.5
    binance, okx, bybit = monitor.snapshot()
    assert (binance.client, binance.kind, binance.venue, binance.connected) == ("BINANCE_SPOT", "data", "BINANCE", True)
    assert (binance.last_message_age_secs, binance.stale) == (62.5, True)
    assert (okx.last_message_age_secs, okx.stale) == (1.5, False)
    assert (bybit.connected, bybit.stale) == (False, False)  # down, not stale


def test_a_client_never_heard_from_has_no_age_and_is_not_stale() -> None:
    registry = ClientRegistry()
    monitor = HealthMonitor(registry, stale_after_secs=1)
    registry.record("data", FakeClient(ClientId("Y"), Venue("Y")))
    assert [(h.last_message_age_secs, h.stale) for h in monitor.snapshot()] == [(None, False)]


def test_poll_counts_a_return_after_a_disconnect_as_a_reconnect() -> None:
    registry = ClientRegistry()
    monitor = HealthMonitor(registry, stale_after_secs=60)
    client = FakeClient(ClientId("BYBIT"), Venue("BYBIT"))
    registry.record("exec", client)
    for connected in (True, False, False, True, False, True):
        client.is_connected = connected
        monitor.poll()
    assert [h.reconnects for h in monitor.snapshot()] == [2]
