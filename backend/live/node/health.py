"""Client health: which clients the node has, whether each is connected, when its venue was last heard from, and how
often it came back after a disconnect.

The clients are known from the factories that create them: ``ClientRegistry.recording(factory, kind)`` is the
factory the node registers with NautilusTrader, the stock one (or ours) plus a note of each client it returns, so no
engine internals are read. ``HealthMonitor`` polls the recorded clients' ``is_connected`` every ``interval_secs``
(``run``) and is told of venue activity by the event pipeline (``record_activity``); ``snapshot()`` is what
``LiveTradingNode.health()``, ``live run`` and monitoring read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

log = logging.getLogger(__name__)


class ClientHealth(msgspec.Struct, frozen=True):
    client: str
    kind: str  # data / exec
    venue: str
    connected: bool
    last_message_age_secs: float | None
    stale: bool  # connected, but nothing heard for longer than health.stale_after_secs
    reconnects: int


@dataclass
class ClientState:
    """One client as the monitor tracks it."""

    name: str  # NautilusTrader's client id
    kind: str  # data / exec
    client: Any  # the adapter's DataClient / ExecutionClient
    was_connected: bool | None = None  # at the previous poll (None: not polled yet)
    reconnects: int = 0

    @property
    def venue(self) -> str:
        return self.client.venue.value if self.client.venue else ""

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected)


class ClientRegistry:
    """Every client the node's factories created, in creation order."""

    def __init__(self) -> None:
        self.clients: list[ClientState] = []

    def of_kind(self, kind: str) -> dict[str, Any]:
        """``{client id: client}`` of the ``data`` or ``exec`` clients."""
        return {state.name: state.client for state in self.clients if state.kind == kind}

    def record(self, kind: str, client: Any) -> None:
        self.clients.append(ClientState(name=client.id.value, kind=kind, client=client))

    def recording(self, factory: type, kind: str) -> type:
        """A subclass of ``factory`` (a NautilusTrader ``Live*ClientFactory``) whose ``create`` records the client."""
        registry = self

        def create(*args: Any, **kwargs: Any) -> Any:
            client = factory.create(*args, **kwargs)
            registry.record(kind, client)
            return client

        return type(f"Recording{factory.__name__}", (factory,), {"create": staticmethod(create)})


class HealthMonitor:
    def __init__(self, registry: ClientRegistry, stale_after_secs: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry
        self.stale_after_secs = stale_after_secs
        self._clock = clock
        self._last_activity: dict[str, float] = {}  # venue (routing venue or account issuer) -> monotonic time

    def record_activity(self, venue: str) -> None:
        self._last_activity[venue] = self._clock()

    def last_message_age(self, state: ClientState) -> float | None:
        last = self._last_activity.get(state.venue or state.name)
        return None if last is None else round(self._clock() - last, 3)

    def snapshot(self) -> list[ClientHealth]:
        result = []
        for state in self.registry.clients:
            age = self.last_message_age(state)
            connected = state.connected
            result.append(ClientHealth(
                client=state.name, kind=state.kind, venue=state.venue, connected=connected,
                last_message_age_secs=age,
                stale=connected and age is not None and age > self.stale_after_secs,
                reconnects=state.reconnects,
            ))
        return result

    def poll(self) -> None:
        """Note each client's connected flag; a return after a disconnect counts as a reconnect."""
        for state in self.registry.clients:
            connected = state.connected
            if state.was_connected is True and not connected:
                log.warning("Client %s (%s) disconnected", state.name, state.kind)
            if state.was_connected is False and connected:
                state.reconnects += 1
                log.info("Client %s (%s) reconnected", state.name, state.kind)
            state.was_connected = connected

    async def run(self, interval_secs: float = 0.5) -> None:
        while True:
            self.poll()
            await asyncio.sleep(interval_secs)
