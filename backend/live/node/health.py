"""Client health: which clients the node has, whether each is connected, when it last heard from its venue, and how
often it came back after a disconnect, per client (not per venue).

The clients are known from the factories that create them: ``ClientRegistry.recording(factory, kind)`` is the
factory the node registers with NautilusTrader, the stock one (or ours) plus a note of each client it returns, so no
engine internals are read; each execution client also gets the probe of its private streams
(``backend/live/adapters/private_streams.py``) before it connects. ``HealthMonitor`` reads the message bus itself
(``subscribe``): market data makes a data client's public age, order events tell which orders still wait for the
venue's answer. It polls the clients' ``is_connected`` every ``POLL_SECS`` and samples the private-stream probes every
``SAMPLE_SECS`` (``run``); ``snapshot()`` is what ``LiveTradingNode.health()``, ``live run`` and monitoring read
(fields: /tmp/coord/health-fields.md, docs/live/OPERATIONS.md).

A private stream that comes back (the adapter reconnected it, or the whole client reconnected) is reported through
``on_stream_back(client_id, reason)``: the node asks the venue audit to cover the gap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from nautilus_trader.model.events import (
    AccountState,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderSubmitted,
)

from backend.live.adapters.private_streams import ACTIVE, DOWN, RECONNECTING, SAMPLE_SECS, PrivateStreamProbe, probe_for

log = logging.getLogger(__name__)

POLL_SECS = 0.5
# Order events NautilusTrader makes itself before the venue answers: they do not count as hearing from the venue.
LOCAL_ORDER_EVENTS = frozenset(("OrderInitialized", "OrderDenied", "OrderEmulated", "OrderReleased"))
AWAITING_ANSWER = (OrderSubmitted, OrderPendingUpdate, OrderPendingCancel)  # sent to the venue, answer due


class ClientHealth(msgspec.Struct, frozen=True):
    """One client's health (ages in seconds; None = nothing heard yet / not applicable to this kind)."""

    client: str
    kind: str  # data / exec
    venue: str
    connected: bool  # NautilusTrader's flag; for an exec client also: its private stream is not down
    last_message_age_secs: float | None  # data: last_public_age_secs; exec: last_private_age_secs
    stale: bool  # connected, but not hearing what it should (data: no market data; exec: private stream not alive)
    reconnects: int  # the client reconnected, plus (exec) its private stream's reconnects inside the adapter
    last_public_age_secs: float | None = None  # data: market data of this client's venue
    last_private_age_secs: float | None = None  # exec: the private stream's last message (order/account events
    # from the venue when no probe observes the stream)
    private_stream_alive: bool | None = None  # exec: active and answering; None for data clients
    private_stream_detail: str | None = None  # exec: why it is not alive
    private_stream_state: str | None = None  # exec: active / reconnecting / down / unknown (no probe)
    private_stream_reconnects: int | None = None  # exec: reconnects of the private WebSockets inside the adapter
    awaiting_answer_secs: float | None = None  # exec: the oldest order command still waiting for the venue


@dataclass
class ClientState:
    """One client as the monitor tracks it."""

    name: str  # NautilusTrader's client id
    kind: str  # data / exec
    client: Any  # the adapter's DataClient / ExecutionClient
    was_connected: bool | None = None  # at the previous poll (None: not polled yet)
    reconnects: int = 0
    stream: PrivateStreamProbe | None = None  # exec clients: their private streams
    stream_recoveries_seen: int = 0
    stream_state: str | None = None  # at the previous sample
    stream_state_since: float = 0.0

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
        stream = probe_for(client) if kind == "exec" else None
        self.clients.append(ClientState(name=client.id.value, kind=kind, client=client, stream=stream))

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
                 clock: Callable[[], float] = time.monotonic,
                 on_stream_back: Callable[[str, str], None] = lambda _client_id, _reason: None) -> None:
        self.registry = registry
        self.stale_after_secs = stale_after_secs
        self.on_stream_back = on_stream_back
        self._clock = clock
        self._market_data: dict[str, float] = {}  # venue -> monotonic time of its last market data
        self._venue_answers: dict[str, float] = {}  # venue -> last order / account event the venue sent
        self._awaiting: dict[str, dict[str, float]] = {}  # venue -> {client order id: since} (answer due)

    # -- what the bus tells ----------------------------------------------------------------------------------------

    def subscribe(self, msgbus: Any) -> None:
        msgbus.subscribe(topic="data.*", handler=self.on_market_data)
        msgbus.subscribe(topic="events.order.*", handler=self.on_order_event)
        msgbus.subscribe(topic="events.account.*", handler=self.on_account_event)

    def on_market_data(self, data: Any) -> None:
        instrument_id = getattr(data, "instrument_id", None)
        if instrument_id is not None:
            self.record_market_data(instrument_id.venue.value)

    def record_market_data(self, venue: str) -> None:
        self._market_data[venue] = self._clock()

    def on_order_event(self, event: Any) -> None:
        venue, order_id = event.instrument_id.venue.value, event.client_order_id.value
        awaiting = self._awaiting.setdefault(venue, {})
        if isinstance(event, AWAITING_ANSWER):
            awaiting.setdefault(order_id, self._clock())
        elif type(event).__name__ not in LOCAL_ORDER_EVENTS:
            awaiting.pop(order_id, None)
            self.record_venue_answer(venue)

    def on_account_event(self, event: AccountState) -> None:
        if event.is_reported:
            self.record_venue_answer(event.account_id.get_issuer())

    def record_venue_answer(self, venue: str) -> None:
        """An order or account event the venue sent (an exec client's private age when no probe observes it)."""
        self._venue_answers[venue] = self._clock()

    # -- the report ------------------------------------------------------------------------------------------------

    def _age(self, times: dict[str, float], state: ClientState) -> float | None:
        last = times.get(state.venue or state.name)
        return None if last is None else round(self._clock() - last, 3)

    def snapshot(self) -> list[ClientHealth]:
        return [self._exec_health(state) if state.kind == "exec" else self._data_health(state)
                for state in self.registry.clients]

    def _data_health(self, state: ClientState) -> ClientHealth:
        age, connected = self._age(self._market_data, state), state.connected
        return ClientHealth(client=state.name, kind=state.kind, venue=state.venue, connected=connected,
                            last_message_age_secs=age, stale=connected and age is not None and age > self.stale_after_secs,
                            reconnects=state.reconnects, last_public_age_secs=age)

    def _exec_health(self, state: ClientState) -> ClientHealth:
        now, stream = self._clock(), state.stream
        stream_state = stream.state if stream is not None else "unknown"
        last_message = stream.last_message_monotonic if stream is not None else None
        if last_message is None:
            last_message = self._venue_answers.get(state.venue or state.name)
        age = None if last_message is None else round(now - last_message, 3)
        awaiting = self._awaiting.get(state.venue or state.name) or {}
        oldest = min(awaiting.items(), key=lambda item: item[1], default=None)
        waited = None if oldest is None else round(now - oldest[1], 3)
        connected = state.connected and stream_state != DOWN
        detail = None
        if not state.connected:
            detail = "the client is not connected"
        elif stream_state == DOWN:
            detail = "the private stream is down and not being re-established"
        elif stream_state == RECONNECTING and state.stream_state == RECONNECTING \
                and now - state.stream_state_since > self.stale_after_secs:
            detail = f"the private stream has been reconnecting for {now - state.stream_state_since:.0f} s"
        elif waited is not None and waited > self.stale_after_secs:
            detail = f"no answer from the venue for {waited:.0f} s to order {oldest[0]}"
        error = getattr(stream, "last_error", None)
        if detail is not None and error:
            detail += f" (last error: {error})"
        reconnects = stream.reconnects if stream is not None else 0
        return ClientHealth(
            client=state.name, kind=state.kind, venue=state.venue, connected=connected, last_message_age_secs=age,
            stale=connected and detail is not None, reconnects=state.reconnects + reconnects,
            last_private_age_secs=age, private_stream_alive=detail is None, private_stream_detail=detail,
            private_stream_state=stream_state, private_stream_reconnects=reconnects if stream is not None else None,
            awaiting_answer_secs=waited,
        )

    # -- watching --------------------------------------------------------------------------------------------------

    def poll(self) -> None:
        """Note each client's connected flag; a return after a disconnect counts as a reconnect."""
        for state in self.registry.clients:
            connected = state.connected
            if state.was_connected is True and not connected:
                log.warning("Client %s (%s) disconnected", state.name, state.kind)
            if state.was_connected is False and connected:
                state.reconnects += 1
                log.info("Client %s (%s) reconnected", state.name, state.kind)
                if state.kind == "exec":
                    self.on_stream_back(state.name, "client reconnected")
            state.was_connected = connected

    def sample_streams(self) -> None:
        """Sample each private-stream probe; a stream complete again after a reconnect is reported back."""
        for state in self.registry.clients:
            stream = state.stream
            if stream is None:
                continue
            stream.sample()
            current = stream.state
            if current != state.stream_state:
                if state.stream_state is not None:
                    log.log(logging.INFO if current == ACTIVE else logging.WARNING,
                            "Private stream of %s: %s -> %s", state.name, state.stream_state, current)
                state.stream_state, state.stream_state_since = current, self._clock()
            if stream.recoveries > state.stream_recoveries_seen:
                state.stream_recoveries_seen = stream.recoveries
                self.on_stream_back(state.name, "private stream reconnected")

    async def run(self) -> None:
        polls_per_sample = max(1, round(POLL_SECS / SAMPLE_SECS))
        tick = 0
        while True:
            self.sample_streams()
            if tick % polls_per_sample == 0:
                self.poll()
            tick += 1
            await asyncio.sleep(SAMPLE_SECS)
