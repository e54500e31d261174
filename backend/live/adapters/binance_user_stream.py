"""Binance user-data streams that come back after every reconnect, and say how they are doing.

What NautilusTrader 1.231.0 does (``adapters/binance/websocket/user.py``, ``BinanceUserDataWebSocketClient``):

* When the WebSocket API socket reconnects, ``_handle_reconnect`` schedules ONE ``_reauth_and_resubscribe``
  (``session.logon`` + ``userDataStream.subscribe``, or ``.start`` + the listenKey stream on futures). If that one
  attempt fails for any reason, it sets ``_is_recovery_failed`` (every later request is refused), logs ``Failed to
  re-authenticate after reconnect ... user data stream is NOT active, disconnecting`` and closes the socket for
  good. ``_resubscribe_locked`` (listenKey stream reconnect, ``eventStreamTerminated``, keepalive failure) ends the
  same way. Ways the attempt fails: the futures listenKey stream's reconnect handler runs ``_resubscribe`` before
  the WS-API socket has noticed its own drop (observed: ``Resubscribe failed (Session not authenticated ...)``),
  a request sent on a socket that drops again waits the full 10 s and times out (its answer died with the old
  socket: ``_pending_requests`` is never failed on reconnect), a logon answered with an error (clock re-sync
  ``-1021``, rate limit ``-1003``) or a busy venue. Nothing reports it: the execution client still says
  ``is_connected``; executions then arrive only through reconciliation, as inferred fills without the venue's trade
  ids, and orders sent meanwhile stay SUBMITTED.
* After a successful resubscribe it reconciles (``_reconcile_after_resubscribe`` -> ``generate_mass_status``),
  which asks for order, fill and position reports concurrently (``asyncio.gather``). An order that fills between
  the trade query and the order query comes back FILLED with none of its trades, and the execution engine invents
  an inferred fill for it; the real execution report that follows is then rejected as an overfill (observed on spot:
  the SELL stored with a made-up trade id, the venue's trade lost).

What we do instead (on the instance the factory built; the class NautilusTrader wrote stays as it is):

* The WebSocket client's class is switched to ``RecoveringUserDataWebSocketClient``: recovery after a reconnect is
  a loop that retries with a capped backoff until the stream is subscribed again (a newer reconnect supersedes an
  older attempt), reconnecting the WebSocket API socket from scratch if it was closed; it never sets
  ``_is_recovery_failed`` and never closes the socket itself. Only the execution client's own ``disconnect()``
  stops it. Requests still waiting when the socket reconnects fail at once instead of after 10 s.
* The reconcile hook queries orders first, then fills, then positions (``reconcile_in_order``): every trade of an
  order reported FILLED is then in the fill reports, so the engine applies the venue's trades instead of inventing.
* When the socket closed for good without a reconnect (the Rust client's own attempts gave up), the health probe's
  sample (``ensure_recovering``) starts the same recovery, which opens a fresh socket.
* ``stream_health`` (a ``UserStreamHealth``) counts reconnects (of the WebSocket API socket and of the futures
  listenKey stream), the streams re-established, notes the time of the last message and the state
  (``active`` / ``reconnecting`` / ``down``), for ``backend/live/node/health.py``.

Guarded by ``tests/live/test_binance_user_stream.py`` (fails if NautilusTrader's methods this relies on change).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from nautilus_trader.adapters.binance.execution import BinanceCommonExecutionClient
from nautilus_trader.adapters.binance.websocket.user import BinanceUserDataWebSocketClient
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import (
    GenerateFillReports,
    GenerateOrderStatusReports,
    GeneratePositionStatusReports,
)
from nautilus_trader.execution.reports import ExecutionMassStatus

from backend.live.adapters.binance import BinanceUniqueFillsExecClientFactory

RETRY_DELAYS_SECS = (0.25, 0.5, 1.0, 2.0, 5.0)  # then every 5 s until the stream is back or the client disconnects


@dataclass
class UserStreamHealth:
    """What health reports about one Binance user-data stream (monotonic seconds)."""

    reconnects: int = 0  # WebSocket API socket or listenKey stream reconnected (inside the adapter)
    recoveries: int = 0  # the stream was subscribed again after a reconnect
    failed_attempts: int = 0  # recovery attempts that failed and were retried
    last_message_monotonic: float | None = None
    last_error: str | None = None
    recovering: bool = False
    closed: bool = True  # the execution client disconnected it (or never connected it)


class RecoveringUserDataWebSocketClient(BinanceUserDataWebSocketClient):
    """NautilusTrader's client whose recovery after a reconnect retries until the stream is back (module note)."""

    stream_health: UserStreamHealth
    _recovery_generation: int

    @classmethod
    def adopt(cls, ws_client: BinanceUserDataWebSocketClient) -> RecoveringUserDataWebSocketClient:
        """Switch a not yet connected ``BinanceUserDataWebSocketClient`` to this class (same instance layout)."""
        ws_client.__class__ = cls
        adopted: RecoveringUserDataWebSocketClient = ws_client  # type: ignore[assignment]
        adopted.stream_health = UserStreamHealth()
        adopted._recovery_generation = 0
        return adopted

    @property
    def stream_state(self) -> str:
        """``active`` (subscribed), ``reconnecting`` (a reconnect is being recovered) or ``down``."""
        health = self.stream_health
        if health.closed:
            return "down"
        if health.recovering or self._subscription_id is None or not self._is_authenticated \
                or not self._socket_up():
            return "reconnecting"
        return "active"

    def _socket_up(self) -> bool:
        return self._use_rest_listen_key or (self._client is not None and not self._client.is_closed()
                                             and not self._client.is_reconnecting())

    def ensure_recovering(self) -> None:
        """Start recovery if the WebSocket API socket closed for good without a reconnect (its own reconnect
        attempts gave up): called by the health probe on every sample."""
        if self.stream_health.closed or self.stream_health.recovering or self._use_rest_listen_key:
            return
        if self._client is None or self._client.is_closed():
            self._log.warning("WebSocket API socket closed without reconnecting: re-establishing the user stream")
            self.stream_health.recovering = True
            self._recovery_generation += 1
            self._reconnect_task = self._loop.create_task(self._reauth_and_resubscribe())

    # -- messages ----------------------------------------------------------------------------------------------

    def _handle_message(self, raw: bytes) -> None:
        self.stream_health.last_message_monotonic = time.monotonic()
        super()._handle_message(raw)

    def _handle_stream_message(self, raw: bytes) -> None:
        self.stream_health.last_message_monotonic = time.monotonic()
        super()._handle_stream_message(raw)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.stream_health.closed = False
        await super().connect()

    async def disconnect(self) -> None:
        self.stream_health.closed = True  # asked for by the execution client: recovery stops
        self._recovery_generation += 1
        await super().disconnect()

    # -- reconnects --------------------------------------------------------------------------------------------

    def _handle_reconnect(self) -> None:
        self.stream_health.reconnects += 1
        self.stream_health.recovering = True
        self._recovery_generation += 1
        self._fail_pending_requests("the WebSocket API connection was replaced before the answer arrived")
        super()._handle_reconnect()  # clears the session and schedules self._reauth_and_resubscribe()

    def _handle_stream_reconnect(self) -> None:
        self.stream_health.reconnects += 1
        super()._handle_stream_reconnect()  # schedules self._resubscribe()

    def _fail_pending_requests(self, reason: str) -> None:
        pending, self._pending_requests = self._pending_requests, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))

    async def _reauth_and_resubscribe(self) -> None:
        generation = self._recovery_generation
        attempt = 0
        while not self.stream_health.closed and generation == self._recovery_generation:
            async with self._recovery_lock:
                if self.stream_health.closed or generation != self._recovery_generation:
                    return
                try:
                    await self._reestablish()
                except Exception as exc:  # any failure is retried; none is final while the client is connected
                    self._note_failure(exc, attempt)
                else:
                    self._note_recovered("reconnect")
                    return
            await asyncio.sleep(RETRY_DELAYS_SECS[min(attempt, len(RETRY_DELAYS_SECS) - 1)])
            attempt += 1

    async def _reestablish(self) -> None:
        self._log.warning("Reconnected, re-authenticating...")
        self._is_recovery_failed = False
        self._subscription_id = None
        self._cancel_keepalive()
        await self._disconnect_stream()
        if not self._use_rest_listen_key and (self._client is None or self._client.is_closed()):
            self._client = None
            await BinanceUserDataWebSocketClient.connect(self)  # a fresh WebSocket API socket
        await self.session_logon()
        await self.subscribe_user_data_stream(pre_dispatch_hook=self._on_resubscribe)

    async def _resubscribe_locked(self) -> bool:
        # NautilusTrader's version resubscribes (re-authenticating once on failure) and gives up for good when that
        # fails. Ours resubscribes once; when that fails, the full recovery loop takes over (after this lock).
        if self._ws_api_reconnecting():
            return False
        self.stream_health.recovering = True
        try:
            self._subscription_id = None
            self._cancel_keepalive()
            await self._disconnect_stream()
            if self._use_rest_listen_key:
                await self._subscribe_rest(pre_dispatch_hook=self._on_resubscribe)
            else:
                await self.subscribe_user_data_stream(pre_dispatch_hook=self._on_resubscribe)
        except Exception as exc:
            self._note_failure(exc, 0)
            if not self.stream_health.closed:
                self._recovery_generation += 1
                self._reconnect_task = self._loop.create_task(self._reauth_and_resubscribe())
            return False
        self._note_recovered("resubscribe")
        return True

    def _note_failure(self, exc: Exception, attempt: int) -> None:
        self.stream_health.failed_attempts += 1
        self.stream_health.last_error = f"{type(exc).__name__}: {exc}"
        delay = RETRY_DELAYS_SECS[min(attempt, len(RETRY_DELAYS_SECS) - 1)]
        self._log.warning(f"User data stream not re-established ({exc}); retrying in {delay:g} s")

    def _note_recovered(self, how: str) -> None:
        self.stream_health.recovering = False
        self.stream_health.recoveries += 1
        self.stream_health.last_error = None
        self._log.warning(f"User data stream re-established after {how}")


async def reconcile_in_order(client: BinanceCommonExecutionClient) -> None:
    """The mass status NautilusTrader's ``_reconcile_after_resubscribe`` sends, with the venue asked for orders
    first, then fills, then positions (NautilusTrader asks concurrently; see the module note)."""
    client.reconciliation_active = True
    try:
        now = client._clock.timestamp_ns()
        mass_status = ExecutionMassStatus(client_id=client.id, account_id=client.account_id, venue=client.venue,
                                          report_id=UUID4(), ts_init=now)
        mass_status.add_order_reports(reports=await client.generate_order_status_reports(GenerateOrderStatusReports(
            instrument_id=None, start=None, end=None, open_only=False, command_id=UUID4(), ts_init=now)))
        mass_status.add_fill_reports(reports=await client.generate_fill_reports(GenerateFillReports(
            instrument_id=None, venue_order_id=None, start=None, end=None, command_id=UUID4(), ts_init=now)))
        mass_status.add_position_reports(reports=await client.generate_position_status_reports(
            GeneratePositionStatusReports(instrument_id=None, start=None, end=None, command_id=UUID4(), ts_init=now)))
    finally:
        client.reconciliation_active = False
    client._send_mass_status_report(mass_status)


def recover_user_stream(client: Any) -> Any:
    """``client`` (a Binance execution client, not yet connected) with the recovering user-data stream; other
    clients unchanged."""
    if isinstance(client, BinanceCommonExecutionClient) and type(client._ws_client) is BinanceUserDataWebSocketClient:
        ws_client = RecoveringUserDataWebSocketClient.adopt(client._ws_client)

        async def reconcile() -> None:
            await reconcile_in_order(client)

        ws_client._on_resubscribe = reconcile
    return client


def user_stream_health(client: Any) -> RecoveringUserDataWebSocketClient | None:
    """The recovering user-data stream of a Binance execution client (None for other clients)."""
    ws_client = getattr(client, "_ws_client", None)
    return ws_client if isinstance(ws_client, RecoveringUserDataWebSocketClient) else None


class BinanceUserStreamExecClientFactory(BinanceUniqueFillsExecClientFactory):
    """Our Binance execution client factory: unique futures fill reports (``binance.py``) and user-data streams
    that are re-established after every reconnect (this module)."""

    @staticmethod
    def create(*args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return recover_user_stream(BinanceUniqueFillsExecClientFactory.create(*args, **kwargs))
