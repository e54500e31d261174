"""The private (authenticated) streams of each venue's execution client, observed for health.

NautilusTrader 1.231.0 does not report them: an execution client's ``is_connected`` stays True whatever happens to
its streams, and the Bybit and OKX clients reconnect their Rust WebSockets inside the adapter without telling
Python. What a probe observes, without changing what the adapters do:

* Binance: the user-data stream of ``binance_user_stream.py`` counts its own reconnects (WebSocket API socket and
  futures listenKey stream) and the times it was subscribed again, exactly.
* Bybit (``_ws_private_client``: orders, executions, positions, wallet; ``_ws_trade_client``: order entry) and OKX
  (``_ws_client``: orders, fills, account; ``_ws_business_client``: algo orders): each Rust client's
  ``is_active()`` is sampled (``sample()``, every ``SAMPLE_SECS`` by the health monitor). A socket seen inactive
  and later active again counts as a reconnect and, once every socket is active, as the stream recovered. A
  reconnect that completes between two samples is missed (against the simulator the adapters take ~0.2 s to
  reconnect after a drop; the sample period is 0.05 s). The messages the venue delivers are noted by wrapping
  the client's ``_handle_msg`` on the instance before it connects: that bound method is the callback the adapter
  hands its Rust clients in ``_connect``.

``probe_for(client)`` gives the probe of an execution client (None when the client is none of these);
``tests/live/test_health_streams.py`` guards the attributes relied on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from nautilus_trader.adapters.bybit.execution import BybitExecutionClient
from nautilus_trader.adapters.okx.execution import OKXExecutionClient

from backend.live.adapters.binance_user_stream import user_stream_health

SAMPLE_SECS = 0.05
ACTIVE, RECONNECTING, DOWN = "active", "reconnecting", "down"

# The Rust WebSocket clients of each adapter's private side (attribute names in NautilusTrader 1.231.0).
RUST_PRIVATE_SOCKETS: dict[type, tuple[str, ...]] = {
    BybitExecutionClient: ("_ws_private_client", "_ws_trade_client"),
    OKXExecutionClient: ("_ws_client", "_ws_business_client"),
}


class PrivateStreamProbe(Protocol):
    reconnects: int  # private sockets that reconnected inside the adapter
    recoveries: int  # times the private stream was complete again after a reconnect
    last_message_monotonic: float | None

    @property
    def state(self) -> str: ...  # active / reconnecting / down

    def sample(self) -> None: ...


class BinanceUserStreamProbe:
    """Reads the counters the recovering Binance user-data stream keeps itself."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def sample(self) -> None:
        self._stream.ensure_recovering()  # it counts its own reconnects; a socket closed for good is reopened

    @property
    def _stream(self) -> Any:
        return user_stream_health(self._client)

    @property
    def reconnects(self) -> int:
        return self._stream.stream_health.reconnects

    @property
    def recoveries(self) -> int:
        return self._stream.stream_health.recoveries

    @property
    def last_message_monotonic(self) -> float | None:
        return self._stream.stream_health.last_message_monotonic

    @property
    def last_error(self) -> str | None:
        return self._stream.stream_health.last_error

    @property
    def state(self) -> str:
        return self._stream.stream_state


class RustSocketsProbe:
    """Samples ``is_active()`` of an adapter's Rust private WebSockets; notes each message the adapter receives."""

    def __init__(self, client: Any, socket_names: tuple[str, ...],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._socket_names = socket_names
        self._clock = clock
        self.reconnects = 0
        self.recoveries = 0
        self.last_message_monotonic: float | None = None
        self.last_error: str | None = None
        self._was_active: dict[str, bool] = {}
        self._broken: set[str] = set()  # sockets seen inactive after being active, not yet back
        handle_msg = client._handle_msg

        def noted_handle_msg(msg: Any) -> None:
            self.last_message_monotonic = self._clock()
            handle_msg(msg)

        client._handle_msg = noted_handle_msg

    def _sockets(self) -> dict[str, Any]:
        """The first socket always; the others once seen active (Bybit's demo never connects its trade socket)."""
        primary = self._socket_names[0]
        return {name: getattr(self._client, name) for name in self._socket_names
                if name == primary or name in self._was_active}

    def sample(self) -> None:
        if not self._client.is_connected:
            self._was_active.clear()  # not connected (yet, or any more): nothing to count
            self._broken.clear()
            return
        for name in self._socket_names:
            socket = getattr(self._client, name)
            active = bool(socket.is_active())
            if name not in self._was_active and not active:
                continue  # never seen active: not connected by the adapter (yet)
            if self._was_active.get(name) and not active:
                self._broken.add(name)
            elif active and name in self._broken:
                self._broken.discard(name)
                self.reconnects += 1
                if not self._broken:
                    self.recoveries += 1
            self._was_active[name] = active

    @property
    def state(self) -> str:
        if not self._client.is_connected:
            return DOWN
        sockets = self._sockets().values()
        if any(socket.is_closed() for socket in sockets):
            return DOWN
        return ACTIVE if all(socket.is_active() for socket in sockets) else RECONNECTING


def probe_for(client: Any) -> PrivateStreamProbe | None:
    """The probe of an execution client's private streams; call before the client connects (see the module note)."""
    if user_stream_health(client) is not None:
        return BinanceUserStreamProbe(client)
    for client_type, socket_names in RUST_PRIVATE_SOCKETS.items():
        if isinstance(client, client_type):
            return RustSocketsProbe(client, socket_names)
    return None
