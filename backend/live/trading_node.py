"""LiveTradingNode: NautilusTrader's TradingNode plus the Unified OMS pipeline and position sync (plan tasks 1-5).

A coordinator over parts with one job each (``backend/live/node/``): it builds the TradingNode with the venues'
factories (``venues.py``) wrapped so that ``health.ClientRegistry`` learns every client they create, subscribes the
``pipeline.EventPipeline`` to the message bus, waits for RUNNING with ``startup``, and owns the order of start and
stop: writer, position sync, node, health watcher.

What runs where: everything runs on one asyncio event loop. NautilusTrader's engines publish order, position and
account events on its message bus; the pipeline converts each event into rows with pure functions and hands them to
the ``OmsWriter``, which writes batches to PostgreSQL on the same loop without ever blocking it. ``PositionSync``
reads the node's cache on position events and on a timer.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from nautilus_trader.live.node import TradingNode

from backend.live.config.schema import LiveConfig
from backend.live.config.trading_node_config import build_trading_node_config
from backend.live.database import Database
from backend.live.node.health import ClientHealth, ClientRegistry, HealthMonitor
from backend.live.node.instruments import InstrumentStore, pnl_currency
from backend.live.node.pipeline import EventPipeline
from backend.live.node.startup import StartupError, configured_secrets, describe_failure, wait_until_running
from backend.live.node_lock import NodeLock, NodeLockHeld
from backend.live.oms.journal import Journal, JournalError
from backend.live.oms.writer import TRANSIENT_DB_ERRORS, OmsWriter
from backend.live.ops.node_ops import NodeOps
from backend.live.partitions import ensure_partitions
from backend.live.positions import PositionSync, PositionTracker
from backend.live.reconcile.audit import VenueAudit
from backend.live.reconcile.startup import install_venue_truth_shims, install_warm_start
from backend.live.venues import VENUES

__all__ = ["ClientHealth", "LiveTradingNode", "StartupError"]

log = logging.getLogger(__name__)

QUEUE_DRAIN_SECS = 2.0


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
        # one node per trader id (backend/live/node_lock.py); lock_lost says why trading stopped, if it did
        self.node_lock = NodeLock(database.dsn, self.trader_id, connect_timeout_secs=config.database.connect_timeout_secs,
                                  on_lost=self._lock_lost)
        self.lock_lost: str | None = None
        self._stop_requested: asyncio.Event | None = None
        self.clients = ClientRegistry()
        self.health_monitor = HealthMonitor(self.clients, config.health.stale_after_secs,
                                            on_stream_back=self._private_stream_back)
        self.instruments = InstrumentStore(self.trader_id, self._cache_instrument)
        self.pipeline = EventPipeline(
            self.trader_id, config.trading_node.exec_clients, self.instruments, self.writer.submit,
            cache_order=self._cache_order,
            on_position_change=self._position_changed,
        )
        self.audit: VenueAudit | None = None  # the venue audit (backend/live/reconcile/audit.py), from start()
        self.ops = NodeOps(self, config)  # HTTP endpoints and metrics (backend/live/ops/)
        self._health_task: asyncio.Task[None] | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def build(self) -> TradingNode:
        """Create the TradingNode on the running loop, register the venue factories and build the clients."""
        loop = asyncio.get_running_loop()
        node = TradingNode(config=build_trading_node_config(self.config), loop=loop)
        for name, client in self.config.trading_node.data_clients.items():
            node.add_data_client_factory(name, self.clients.recording(VENUES[client.venue].data_factory, "data"))
        for name, client in self.config.trading_node.exec_clients.items():
            node.add_exec_client_factory(name, self.clients.recording(VENUES[client.venue].exec_factory, "exec"))
        node.build()
        install_venue_truth_shims(self.clients.of_kind("exec").values())
        reconciliation = self.config.trading_node.reconciliation
        if reconciliation.enabled and reconciliation.warm_start:
            install_warm_start(node, self.database.pool, self.trader_id,
                               reconciliation.lookback_mins or reconciliation.audit_lookback_mins, self.writer.flush,
                               lambda: self.clients.of_kind("exec"))
        self.pipeline.subscribe(node.kernel.msgbus)
        self.health_monitor.subscribe(node.kernel.msgbus)
        self.ops.attach(node.kernel.msgbus, self.writer)
        self.node = node
        return node

    async def start(self, timeout_secs: float | None = None) -> None:
        """Start the pipeline and the node; returns once the trader is RUNNING, else raises StartupError.

        ``timeout_secs`` (default: every start-up timeout together) bounds the whole start (see ``node/startup.py``).
        The HTTP endpoints start first: ``/health/ready`` answers 503 until the trader is RUNNING.
        """
        try:
            await self.node_lock.acquire()
        except NodeLockHeld as exc:
            raise StartupError(str(exc)) from None
        except (*TRANSIENT_DB_ERRORS, asyncpg.PostgresError) as exc:
            raise StartupError(f"cannot take the node lock of trader id {self.trader_id}: PostgreSQL: {exc}") from None
        try:
            await self.ops.start()
        except OSError as exc:
            raise StartupError(str(exc)) from None
        node = self.node or self.build()
        try:
            self.writer.start()
        except JournalError as exc:
            raise StartupError(str(exc)) from None
        tracker = PositionTracker(node.cache, self.instruments.ref_for_instrument)
        tracker.subscribe(node.kernel.msgbus)
        self.positions = PositionSync(
            self.database.pool,
            self.trader_id,
            read=tracker.read,
            pnl_currency_for=pnl_currency,
            clock_ns=time.time_ns,
            interval_secs=self.config.positions.sync_interval_secs,
        )
        await self._load_positions()
        self._run_task = asyncio.get_running_loop().create_task(node.run_async(), name="trading-node")
        verdict = await wait_until_running(node.kernel, self._run_task, self.clients.clients,
                                           self.config.trading_node.timeouts, timeout_secs,
                                           secrets=configured_secrets(self.config))
        if verdict is not None:
            cause = verdict or await describe_failure(self.config, node.kernel.instance_id.value,
                                                      self.clients.clients, self._run_task)
            await self.stop()
            raise StartupError(cause)
        try:
            await self.instruments.store(self.database.pool, node.cache.instruments())
        except TRANSIENT_DB_ERRORS as exc:  # trading goes on; the next start stores them
            log.warning("Instruments not stored (PostgreSQL unreachable: %s); the next start stores them", exc)
        try:  # the coming months' partitions (meanwhile a row of a month without one waits in the default partition)
            async with self.database.pool.acquire() as conn:
                await ensure_partitions(conn, self.config.database.partition_months_ahead)
        except (*TRANSIENT_DB_ERRORS, asyncpg.PostgresError) as exc:
            log.warning("Partitions ahead not created (%s); `live db maintain` creates them", exc)
        self.positions.start()
        self.node_lock.start_heartbeat()
        self._start_audit(node)
        self._health_task = asyncio.get_running_loop().create_task(self.health_monitor.run(), name="client-health")
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
        if self.audit is not None:
            await self.audit.stop()
        node, run_task = self.node, self._run_task
        try:
            if node is not None and run_task is not None and not node.kernel.trader.is_running:
                await _cancel(run_task)  # still waiting on clients / reconciliation: stop waiting
            if node is not None and node.kernel.is_running():
                await node.stop_async()
                if run_task is not None:  # its engine queues end on the sentinels stop_async queued: let them,
                    await asyncio.wait((run_task,), timeout=QUEUE_DRAIN_SECS)  # not 16 "queue canceled" warnings
        except Exception:  # whatever the node does, the queued events are still written below
            log.exception("Stopping the TradingNode failed")
        finally:
            if run_task is not None:
                await _cancel(run_task)
            await self.writer.stop(timeout_secs=self.config.oms.shutdown_flush_secs)
            if self.positions is not None:
                await self.positions.stop()
            await self.node_lock.release()
        log.info("LiveTradingNode %s stopped: %s", self.trader_id, msgspec.json.encode(self.writer.stats).decode())
        await self.ops.stop()

    def _lock_lost(self, message: str) -> None:
        """Another node took this trader id while this one's lock connection was down: stop trading (exit 1)."""
        self.lock_lost = message
        if self._stop_requested is not None:
            self._stop_requested.set()

    async def run_until_signal(self, duration_secs: float | None = None,
                               before_stop: Callable[[LiveTradingNode], None] | None = None) -> None:
        """Run until SIGINT / SIGTERM (or ``duration_secs``), then stop gracefully (``before_stop`` runs first).

        A signal during start-up abandons the start (no StartupError: the operator asked to stop). The handlers are
        installed after the node is built because NautilusTrader's kernel installs its own on construction, which
        would stop the node behind this object's back (no flush, and this method would wait forever)."""
        if self.node is None:
            self.build()
        loop = asyncio.get_running_loop()
        stop_requested = self._stop_requested = asyncio.Event()
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
                     "node lock lost" if self.lock_lost else "signal" if stop_requested.is_set()
                     else f"--duration {duration_secs} s")
            if before_stop is not None:
                before_stop(self)
        finally:
            stop_wait.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.stop()

    def health(self) -> list[ClientHealth]:
        """Per data and exec client: connected, age of the last message from its venue, stale, reconnects."""
        return self.health_monitor.snapshot()

    async def _load_positions(self) -> None:
        """Read the position rows already stored. PostgreSQL answered for the node lock a moment ago, so an outage
        now is waited out for up to ``timeouts.connection_secs`` (a stop request meanwhile abandons the start, the
        journal keeping what was accepted); only a longer one ends the start."""
        assert self.positions is not None
        deadline = time.monotonic() + self.config.trading_node.timeouts.connection_secs
        delay = 0.1
        while True:
            try:
                await self.positions.load()
                return
            except TRANSIENT_DB_ERRORS as exc:
                if time.monotonic() + delay > deadline:
                    raise StartupError(f"PostgreSQL unreachable during start-up: {type(exc).__name__}: {exc}") from None
                if delay == 0.1:
                    log.warning("PostgreSQL unreachable while loading positions (%s: %s); retrying until it answers",
                                type(exc).__name__, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _start_audit(self, node: TradingNode) -> None:
        """The venue audit: once now for every exec client, then every ``audit_interval_secs`` and on request."""
        settings = self.config.trading_node.reconciliation
        self.audit = VenueAudit(
            pool=self.database.pool, trader_id=self.trader_id, clients=lambda: self.clients.of_kind("exec"),
            flush=self.writer.flush, exec_engine=node.kernel.exec_engine, cache=node.cache,
            ref_for_id=self.instruments.ref_for_id, lookback_mins=settings.audit_lookback_mins,
            settle_secs=settings.audit_settle_secs, interval_secs=settings.audit_interval_secs,
        )
        self.audit.start()
        for client_id in self.clients.of_kind("exec"):
            self.audit.request(client_id, "start")

    # -- what the parts ask of the node ----------------------------------------------------------------------------

    def _private_stream_back(self, client_id: str, reason: str) -> None:
        """An exec client's private stream (or the client) came back: the venue audit covers what the gap missed,
        now and again once the gap's last trades are older than ``audit_settle_secs`` (it leaves newer ones alone)."""
        if self.audit is None:
            return
        self.audit.request(client_id, reason)
        settle_secs = self.config.trading_node.reconciliation.audit_settle_secs
        asyncio.get_running_loop().call_later(settle_secs + 0.5, self._request_audit, client_id, f"{reason}, settled")

    def _request_audit(self, client_id: str, reason: str) -> None:
        if self.audit is not None and not self._stopped.is_set():
            self.audit.request(client_id, reason)

    def _cache_instrument(self, instrument_id: Any) -> Any:
        return self.node.cache.instrument(instrument_id) if self.node is not None else None

    def _cache_order(self, client_order_id: Any) -> Any:
        return self.node.cache.order(client_order_id) if self.node is not None else None

    def _position_changed(self) -> None:
        if self.positions is not None:
            self.positions.request()


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it; its own errors were already logged by the node."""
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
