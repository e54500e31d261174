"""LiveTradingNode: NautilusTrader's TradingNode plus the Unified OMS pipeline and position sync (plan tasks 1-5).

What runs where: everything runs on one asyncio event loop. NautilusTrader's engines publish order, position and
account events on its message bus; our handlers (``_on_order_event`` ...) convert each event into rows with pure
functions and hand them to the ``OmsWriter``, which writes batches to PostgreSQL on the same loop without ever
blocking it. ``PositionSync`` reads the node's cache on position events and on a timer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.adapters.binance.factories import BinanceLiveDataClientFactory
from nautilus_trader.adapters.bybit.factories import BybitLiveExecClientFactory
from nautilus_trader.adapters.okx.factories import OKXLiveDataClientFactory, OKXLiveExecClientFactory
from nautilus_trader.common.component import flush_logger
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.events import AccountState, OrderInitialized
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.model.instruments import Instrument

from backend.live import canonical, sql
from backend.live.accounts import convert_account_state
from backend.live.adapters.binance import BinanceUniqueFillsExecClientFactory
from backend.live.adapters.bybit import BybitPublicWsDataClientFactory
from backend.live.config.schema import LiveConfig, VenueClient
from backend.live.config.trading_node_config import binance_venue, build_trading_node_config
from backend.live.database import Database
from backend.live.instruments import instrument_ref, instrument_row
from backend.live.models import AccountRow
from backend.live.oms.convert import InstrumentRef, UnsupportedEvent, convert_order_event
from backend.live.oms.journal import Journal
from backend.live.oms.writer import OmsWriter
from backend.live.positions import PositionSync, read_positions

log = logging.getLogger(__name__)

DATA_FACTORIES = {
    "BINANCE": BinanceLiveDataClientFactory,
    "BYBIT": BybitPublicWsDataClientFactory,
    "OKX": OKXLiveDataClientFactory,
}
EXEC_FACTORIES = {
    "BINANCE": BinanceUniqueFillsExecClientFactory,
    "BYBIT": BybitLiveExecClientFactory,
    "OKX": OKXLiveExecClientFactory,
}


class StartupError(RuntimeError):
    """The node did not reach RUNNING; the message names the clients that failed and why."""


class ClientHealth(msgspec.Struct, frozen=True):
    client: str
    kind: str  # data / exec
    venue: str
    connected: bool
    last_message_age_secs: float | None
    stale: bool  # connected, but nothing heard for longer than health.stale_after_secs
    reconnects: int


def routing_venue(client: VenueClient) -> str:
    """The NautilusTrader venue a configured client trades under (see trading_node_config's module note)."""
    return binance_venue(client) if client.venue == "BINANCE" else client.venue


class LiveTradingNode:
    def __init__(self, config: LiveConfig, database: Database) -> None:
        self.config = config
        self.database = database
        self.trader_id = config.trader_id
        self.node: TradingNode | None = None
        self.writer = OmsWriter(
            database.pool,
            batch_max_rows=config.oms.batch_max_rows,
            flush_interval_ms=config.oms.flush_interval_ms,
            queue_warn_size=config.oms.queue_max_events,
            memory_max_items=config.oms.queue_max_events,
            journal=Journal(Path(config.oms.journal_directory) / config.trader_id,
                            fsync_delay_ms=config.oms.journal_fsync_delay_ms,
                            segment_max_bytes=config.oms.journal_segment_mb * 1024 * 1024),
        )
        self.positions: PositionSync | None = None
        self._refs: dict[InstrumentId, InstrumentRef] = {}
        self._known_accounts: set[str] = set()
        self._initialized_orders: set[ClientOrderId] = set()
        self._recent_account_events: set[UUID4] = set()
        self._recent_account_event_order: deque[UUID4] = deque(maxlen=4096)
        self._last_event_monotonic: dict[str, float] = {}
        self._reconnects: dict[str, int] = {}
        self._was_connected: dict[str, bool] = {}
        self._health_task: asyncio.Task[None] | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def build(self) -> TradingNode:
        """Create the TradingNode on the running loop, register the venue factories and build the clients."""
        loop = asyncio.get_running_loop()
        node = TradingNode(config=build_trading_node_config(self.config), loop=loop)
        for name, client in self.config.trading_node.data_clients.items():
            node.add_data_client_factory(name, DATA_FACTORIES[client.venue])
        for name, client in self.config.trading_node.exec_clients.items():
            node.add_exec_client_factory(name, EXEC_FACTORIES[client.venue])
        node.build()
        msgbus = node.kernel.msgbus
        msgbus.subscribe(topic="events.order.*", handler=self._on_order_event)
        msgbus.subscribe(topic="events.position.*", handler=self._on_position_event)
        msgbus.subscribe(topic="events.account.*", handler=self._on_account_event)
        msgbus.subscribe(topic="data.*", handler=self._on_market_data)
        self.node = node
        return node

    async def start(self, timeout_secs: float | None = None) -> None:
        """Start the pipeline and the node; returns once the trader is RUNNING, else raises StartupError.

        Never waits longer than NautilusTrader itself: the kernel gives up on clients that did not connect within
        ``timeouts.connection_secs`` but then idles instead of failing, so the clients are checked at that moment
        too. ``timeout_secs`` (default: every start-up timeout together) bounds the whole start.
        """
        node = self.node or self.build()
        self.writer.start()
        self.positions = PositionSync(
            self.database.pool,
            self.trader_id,
            read=lambda: read_positions(node.cache, self._ref_for_instrument),
            pnl_currency_for=self._pnl_currency,
            clock_ns=time.time_ns,
            interval_secs=self.config.positions.sync_interval_secs,
        )
        await self.positions.load()
        self._run_task = asyncio.get_running_loop().create_task(node.run_async(), name="trading-node")
        timeouts = self.config.trading_node.timeouts
        grace_secs = 1.0  # the kernel's own timers fire first
        started = time.monotonic()
        connect_deadline = started + timeouts.connection_secs + grace_secs
        deadline = started + (timeout_secs or timeouts.connection_secs + timeouts.reconciliation_secs
                              + timeouts.portfolio_secs + grace_secs)
        kernel = node.kernel
        while not kernel.trader.is_running:
            now = time.monotonic()
            connected = kernel.data_engine.check_connected() and kernel.exec_engine.check_connected()
            if self._run_task.done() or now > deadline or (now > connect_deadline and not connected):
                cause = await self._startup_failure()
                await self.stop()
                raise StartupError(cause)
            await asyncio.sleep(0.1)
        await self._store_instruments(node)
        self.positions.start()
        self._health_task = asyncio.get_running_loop().create_task(self._watch_health(), name="client-health")
        log.info("LiveTradingNode %s RUNNING with %d data and %d exec clients", self.trader_id,
                 len(self.config.trading_node.data_clients), len(self.config.trading_node.exec_clients))

    async def stop(self) -> None:
        """Stop the node, then write every pending event and a final position sync (never loses queued rows).

        Works at any stage: a start that did not finish is abandoned first, then the kernel stops the trader (the
        strategies' last orders and cancels still produce events) and disconnects every client it connected.
        """
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._health_task is not None:
            self._health_task.cancel()
        node, run_task = self.node, self._run_task
        try:
            if node is not None and run_task is not None and not node.kernel.trader.is_running:
                await _cancel(run_task)  # still waiting on clients / reconciliation: stop waiting
            if node is not None and node.kernel.is_running():
                await node.stop_async()
        except Exception:  # whatever the node does, the queued events are still written below
            log.exception("Stopping the TradingNode failed")
        finally:
            if run_task is not None:
                await _cancel(run_task)
            await self.writer.stop(timeout_secs=self.config.oms.shutdown_flush_secs)
            if self.positions is not None:
                await self.positions.stop()
        log.info("LiveTradingNode %s stopped: %s", self.trader_id, msgspec.json.encode(self.writer.stats).decode())

    async def run_until_signal(self, duration_secs: float | None = None,
                               before_stop: Callable[[LiveTradingNode], None] | None = None) -> None:
        """Run until SIGINT / SIGTERM (or ``duration_secs``), then stop gracefully (``before_stop`` runs first).

        A signal during start-up abandons the start (no StartupError: the operator asked to stop). The handlers are
        installed after the node is built because NautilusTrader's kernel installs its own on construction, which
        would stop the node behind this object's back (no flush, and this method would wait forever)."""
        if self.node is None:
            self.build()
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_requested.set)
        stop_wait = loop.create_task(stop_requested.wait(), name="stop-signal")
        try:
            starting = loop.create_task(self.start(), name="live-start")
            await asyncio.wait((starting, stop_wait), return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                log.warning("Stop requested during start-up: abandoning the start")
                await _cancel(starting)
                return
            starting.result()  # raises StartupError
            try:
                await asyncio.wait_for(asyncio.shield(stop_wait), timeout=duration_secs)
            except TimeoutError:
                pass
            log.info("Stopping LiveTradingNode %s (%s)", self.trader_id,
                     "signal" if stop_requested.is_set() else f"--duration {duration_secs} s")
            if before_stop is not None:
                before_stop(self)
        finally:
            stop_wait.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.stop()

    # -- health ----------------------------------------------------------------------------------------------------

    def _clients(self) -> list[tuple[str, str, Any]]:
        if self.node is None:
            return []
        # The engines expose their clients only as this read-only attribute.
        kernel = self.node.kernel
        data = [(cid.value, "data", client) for cid, client in kernel.data_engine._clients.items()]
        execs = [(cid.value, "exec", client) for cid, client in kernel.exec_engine._clients.items()]
        return data + execs

    def health(self) -> list[ClientHealth]:
        now = time.monotonic()
        stale_after = self.config.health.stale_after_secs
        result = []
        for client_id, kind, client in self._clients():
            last = self._last_event_monotonic.get(client.venue.value if client.venue else client_id)
            age = None if last is None else round(now - last, 3)
            result.append(ClientHealth(
                client=client_id, kind=kind, venue=client.venue.value if client.venue else "",
                connected=bool(client.is_connected),
                last_message_age_secs=age,
                stale=bool(client.is_connected) and age is not None and age > stale_after,
                reconnects=self._reconnects.get(f"{kind}:{client_id}", 0),
            ))
        return result

    async def _watch_health(self) -> None:
        while True:
            for client_id, kind, client in self._clients():
                key = f"{kind}:{client_id}"
                connected = bool(client.is_connected)
                if self._was_connected.get(key) is True and not connected:
                    log.warning("Client %s (%s) disconnected", client_id, kind)
                if self._was_connected.get(key) is False and connected:
                    self._reconnects[key] = self._reconnects.get(key, 0) + 1
                    log.info("Client %s (%s) reconnected", client_id, kind)
                self._was_connected[key] = connected
            await asyncio.sleep(0.5)

    async def _startup_failure(self) -> str:
        """One line per client that did not connect, with the cause its adapter logged, e.g.
        ``exec client BINANCE_SPOT did not connect: BinanceClientError({'code': -1022, 'msg': 'Signature ...'})``.

        The causes come from this node's own NautilusTrader log file (the adapters log a failed connect and swallow
        the exception), so they need ``logging.log_directory``; configured secrets are masked, query strings of URLs
        (timestamps, signatures) dropped.
        """
        kernel = self.node.kernel if self.node is not None else None
        secrets = [s.get() for c in (*self.config.trading_node.data_clients.values(),
                                     *self.config.trading_node.exec_clients.values())
                   for s in (c.api_key, c.api_secret, c.passphrase) if s is not None]
        timeouts = self.config.trading_node.timeouts
        instance_id = kernel.instance_id.value if kernel is not None else ""
        errors = await _recent_log_errors(self.config.logging.log_directory, instance_id, secrets)
        no_log = ("cause not available: this node writes no log file (set logging.log_directory; in one process "
                  "only the first node's logging settings apply)")
        lines = []
        for client_id, kind, client in self._clients():
            if client.is_connected:
                continue
            component = f"{'DataClient' if kind == 'data' else 'ExecClient'}-{client_id}"
            causes = [text for name, text in errors or () if name == component]
            silent = f"no error logged within timeouts.connection_secs ({timeouts.connection_secs:g} s)"
            cause = causes[-1] if causes else no_log if errors is None else silent
            unreachable = any(m in cause for m in ("Connection refused", "tcp connect error", "dns error",
                                                   "Cannot connect", "Connect call failed"))
            lines.append(f"{kind} client {client_id} did not connect"
                         + (" (could not reach the venue)" if unreachable else "") + f": {cause}")
        if self._run_task is not None and self._run_task.done() and not self._run_task.cancelled() \
                and self._run_task.exception() is not None:
            lines.append(f"the node stopped: {_masked(repr(self._run_task.exception()), secrets)}")
        if not lines:
            lines.append("the trader did not reach RUNNING (reconciliation or portfolio initialisation timed out)")
            lines += [f"{name}: {text}" for name, text in (errors or [])[-5:]]
        return "\n".join(lines)

    # -- message bus handlers (sync, on the event loop: convert and queue, never wait) ----------------------------

    def _ref_for_instrument(self, instrument: Instrument) -> InstrumentRef:
        ref = self._refs.get(instrument.id)
        if ref is None:
            ref = self._refs[instrument.id] = instrument_ref(instrument)
        return ref

    def _ref_for_id(self, instrument_id: InstrumentId) -> InstrumentRef:
        ref = self._refs.get(instrument_id)
        if ref is not None:
            return ref
        instrument = self.node.cache.instrument(instrument_id) if self.node else None
        if instrument is not None:
            return self._ref_for_instrument(instrument)
        log.warning("Order event for %s, which is not in the cache: filed under its own id", instrument_id)
        return InstrumentRef(instrument_id.value, instrument_id.value, canonical.unified_venue(instrument_id.venue.value),
                             Decimal(1))

    def _pnl_currency(self, canonical_id: str) -> str | None:
        settle = canonical_id.partition(":")[2].partition("-")[0]
        return settle or canonical_id.partition("/")[2] or None

    def _on_order_event(self, event: Any) -> None:
        self._last_event_monotonic[event.instrument_id.venue.value] = time.monotonic()
        if isinstance(event, OrderInitialized):
            self._initialized_orders.add(event.client_order_id)
        elif event.client_order_id not in self._initialized_orders:
            self._initialized_orders.add(event.client_order_id)
            # Orders NautilusTrader creates itself (reconciliation of orders placed elsewhere or while the node was
            # down) publish no OrderInitialized; their first event names neither side, type nor quantity. Store the
            # order's init event from the cache first so the row is complete (a replay of it changes nothing).
            order = self.node.cache.order(event.client_order_id) if self.node is not None else None
            if order is not None:
                self._store_order_event(order.init_event)
        self._store_order_event(event)

    def _store_order_event(self, event: Any) -> None:
        payload = type(event).to_dict(event)
        try:
            converted = convert_order_event(payload, self._ref_for_id(event.instrument_id))
        except (UnsupportedEvent, KeyError, ValueError, ArithmeticError) as exc:
            log.error("Order event %s (%s) not stored: %s", payload.get("event_id"), payload.get("type"), exc)
            return
        self.writer.submit(converted)

    def _on_market_data(self, data: Any) -> None:
        instrument_id = getattr(data, "instrument_id", None)
        if instrument_id is not None:
            self._last_event_monotonic[instrument_id.venue.value] = time.monotonic()

    def _on_position_event(self, event: Any) -> None:
        if self.positions is not None:
            self.positions.request()

    def _on_account_event(self, event: AccountState) -> None:
        # The same AccountState can reach events.account.* more than once; the database would ignore the repeats,
        # but they need not cost it a round trip.
        if event.id in self._recent_account_events:
            return
        if len(self._recent_account_event_order) == self._recent_account_event_order.maxlen:
            self._recent_account_events.discard(self._recent_account_event_order[0])
        self._recent_account_event_order.append(event.id)
        self._recent_account_events.add(event.id)
        account_id = event.account_id.value
        if account_id not in self._known_accounts:
            self._known_accounts.add(account_id)
            self.writer.submit(self._account_row(event))
        self._last_event_monotonic[event.account_id.get_issuer()] = time.monotonic()
        self.writer.submit(convert_account_state(self.trader_id, AccountState.to_dict(event)))

    def _account_row(self, event: AccountState) -> AccountRow:
        issuer = event.account_id.get_issuer()
        name, client = next(
            ((n, c) for n, c in self.config.trading_node.exec_clients.items() if issuer in (n, routing_venue(c))),
            (None, None),
        )
        return AccountRow(
            trader_id=self.trader_id,
            account_id=event.account_id.value,
            venue=canonical.unified_venue(client.venue if client else issuer),
            account_type="+".join(client.products) if client else event.account_type.name,
            venue_type=client.venue_type if client else "CEFI",
            client_name=name,
            margin_model=event.account_type.name,
            base_currency=event.base_currency.code if event.base_currency else None,
        )

    async def _store_instruments(self, node: TradingNode) -> None:
        rows = [instrument_row(self.trader_id, i) for i in node.cache.instruments()]
        if rows:
            async with self.database.pool.acquire() as conn:
                await conn.executemany(sql.UPSERT_INSTRUMENT, [msgspec.structs.astuple(r) for r in rows])


async def _recent_log_errors(log_directory: str | None, instance_id: str, secrets: list[str],
                             limit: int = 20) -> list[tuple[str, str]] | None:
    """``(component, text)`` of the last ERROR records in this kernel's NautilusTrader log file (its name holds the
    kernel's instance id, so an older run's file is never read); None when this kernel writes no file. ``text`` is
    the record's last line: for a logged exception that is the exception itself, e.g. ``HttpError(... refused ...)``.
    """
    if not log_directory or not instance_id:
        return None
    flush_logger()  # the log thread writes through a buffer: wait (at most 0.5 s) until the files stop growing
    files: list[Path] = []
    size = -1
    for _ in range(10):
        files = sorted(Path(log_directory).glob(f"*{instance_id}*.log*"))
        current = sum(f.stat().st_size for f in files)
        if current == size:
            break
        size = current
        await asyncio.sleep(0.05)
    if not files:
        return None
    header = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \[(\w+)\] [^.\s]+\.(\S+): (.*)$")
    records: list[tuple[str, list[str]]] = []
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            match = header.match(line)
            if match:
                records.append((match[2], [match[3]]) if match[1] == "ERROR" else ("", []))
            elif records and records[-1][0] and line.strip():
                records[-1][1].append(line.strip())
    errors = [(component, _masked(lines[-1], secrets)) for component, lines in records if component]
    return errors[-limit:]


def _masked(text: str, secrets: list[str]) -> str:
    """``text`` with configured secrets replaced by ``***`` and URL query strings (signatures) dropped."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return re.sub(r"(https?://[^\s?()]+)\?[^\s()]*", r"\1", text)


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it; its own errors were already logged by the node."""
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
