"""Prometheus metrics of one node, from ``prometheus_client``.

Most figures are read from the node's parts when Prometheus scrapes (``NodeCollector``): the writer's counts and
queue, the clients' health, the open orders in the cache. Only what must be observed as it happens is recorded as
it happens, from two observation points: ``on_order_event`` (subscribed to the node's message bus; counts order
events and rejects, times submit -> accepted) and ``on_batch_committed`` (called by the OMS writer after each
committed batch; times the batch and each event's way from NautilusTrader to the commit).

Labels are bounded sets (venue, event type, client name, a reason *class*): a reject's free text never becomes a
label, so neither does anything a venue echoes back (ids, amounts, keys).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from backend.live.ops.status import OpsSource

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Reject / deny reasons grouped into classes an alert can act on (first match wins).
REASON_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in (
    ("rate_limit", r"rate.?limit|too many|-1003|-1015|10006|50011|request weight"),
    ("auth", r"signature|api.?key|invalid key|permission|unauthori[sz]ed|-2014|-2015|-1022|10003|10004|50113"),
    ("insufficient_funds", r"insufficient|not enough|balance|margin is insufficient|-2019|-2010|110004|110007|51008"),
    ("post_only", r"post.?only|would immediately|-5022|-2010.*match"),
    ("reduce_only", r"reduce.?only|-2022|110017"),
    ("invalid_order", r"price|quantity|qty|lot.?size|notional|filter|precision|tick|step|min|max|-1013|-1111|-4164"),
    ("timeout", r"time.?out|timed out|-1007"),
))
SUBMIT_TIMES_KEPT = 100_000  # orders awaiting their OrderAccepted (older ones are forgotten: no observation)

BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def reason_class(reason: str | None, denied: bool = False) -> str:
    """The class of a reject reason: ``rate_limit``, ``auth``, ``insufficient_funds``, ... or ``other``.

    ``denied`` (an OrderDenied: NautilusTrader's risk engine refused it before it reached the venue) is its own
    class, whatever the text."""
    if denied:
        return "denied"
    for name, pattern in REASON_CLASSES:
        if reason and pattern.search(reason):
            return name
    return "other"


class NodeMetrics:
    """The node's metrics registry: the observation points plus a collector over ``source`` at scrape time."""

    def __init__(self, source: OpsSource, version: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.order_events = Counter("live_order_events", "Order events NautilusTrader published, by type and venue",
                                    ("venue", "type"), registry=self.registry)
        self.rejects = Counter("live_order_rejects", "Orders rejected by the venue or denied by the risk engine",
                               ("venue", "reason_class"), registry=self.registry)
        self.batch_write = Histogram("live_oms_batch_write_seconds", "Time to write and commit one OMS batch",
                                     buckets=BATCH_BUCKETS, registry=self.registry)
        self.event_to_commit = Histogram("live_oms_event_to_commit_seconds",
                                         "From an order event's creation in NautilusTrader to its commit in PostgreSQL",
                                         buckets=LATENCY_BUCKETS, registry=self.registry)
        self.order_round_trip = Histogram("live_venue_order_round_trip_seconds",
                                          "From OrderSubmitted to the venue's OrderAccepted", ("venue",),
                                          buckets=LATENCY_BUCKETS, registry=self.registry)
        self._submitted_ns: OrderedDict[str, int] = OrderedDict()
        self.registry.register(NodeCollector(source, version))

    # -- observation points ----------------------------------------------------------------------------------------

    def on_order_event(self, event: Any) -> None:
        """Message-bus handler for ``events.order.*`` (sync, on the loop: counts only)."""
        kind = type(event).__name__
        venue = event.instrument_id.venue.value
        self.order_events.labels(venue, kind).inc()
        order_id = event.client_order_id.value
        if kind == "OrderSubmitted":
            self._submitted_ns[order_id] = event.ts_init
            if len(self._submitted_ns) > SUBMIT_TIMES_KEPT:
                self._submitted_ns.popitem(last=False)
        elif kind == "OrderAccepted":
            submitted = self._submitted_ns.pop(order_id, None)
            if submitted is not None and event.ts_init >= submitted:
                self.order_round_trip.labels(venue).observe((event.ts_init - submitted) / 1e9)
        elif kind in ("OrderRejected", "OrderDenied"):
            self._submitted_ns.pop(order_id, None)
            self.rejects.labels(venue, reason_class(getattr(event, "reason", None), kind == "OrderDenied")).inc()

    def on_batch_committed(self, seconds: float, event_init_ns: Iterable[int]) -> None:
        """The OMS writer committed a batch in ``seconds``; ``event_init_ns``: its order events' ``ts_init``."""
        self.batch_write.observe(seconds)
        now_ns = time.time_ns()
        for init_ns in event_init_ns:
            self.event_to_commit.observe(max(now_ns - init_ns, 0) / 1e9)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class NodeCollector(Collector):
    """Reads the node's parts at scrape time (no bookkeeping of its own)."""

    def __init__(self, source: OpsSource, version: str) -> None:
        self._source = source
        self._version = version

    def describe(self) -> Iterator[Metric]:
        return iter(())  # the families depend on the clients configured; collected fresh each scrape

    def collect(self) -> Iterator[Metric]:
        source = self._source
        info = GaugeMetricFamily("live_node_info", "This node: trader id and version", labels=("trader_id", "version"))
        info.add_metric((source.trader_id, self._version), 1)
        yield info
        running = GaugeMetricFamily("live_trader_running", "1 while the trader is RUNNING")
        running.add_metric((), 1 if source.trader_state() == "RUNNING" else 0)
        yield running
        yield CounterMetricFamily("live_fills", "Fills this node wrote to PostgreSQL (new rows only)",
                                  value=source.fills_written())
        yield CounterMetricFamily("live_dead_letters", "Rows PostgreSQL refused, kept in dead_letters",
                                  value=source.dead_letters())
        differences = CounterMetricFamily("live_reconciliation_differences",
                                          "Differences reconciliation found between the venue and the node",
                                          labels=("venue",))
        for venue, count in sorted(source.reconciliation_differences().items()):
            differences.add_metric((venue,), count)
        yield differences
        yield GaugeMetricFamily("live_writer_queue_depth", "Rows waiting in the OMS writer's memory queue",
                                value=source.queue_depth())
        yield GaugeMetricFamily("live_journal_depth", "Rows in the local journal not yet in PostgreSQL",
                                value=source.journal_depth())
        open_orders = GaugeMetricFamily("live_open_orders", "Open orders in the node's cache", labels=("venue",))
        for venue, count in sorted(source.open_orders_by_venue().items()):
            open_orders.add_metric((venue,), count)
        yield open_orders
        labels = ("client", "kind", "venue")
        connected = GaugeMetricFamily("live_client_connected", "1 while the client is connected", labels=labels)
        stale = GaugeMetricFamily("live_client_stale", "1 while the client is connected but silent too long",
                                  labels=labels)
        reconnects = CounterMetricFamily("live_client_reconnects", "Reconnections seen", labels=labels)
        age = GaugeMetricFamily("live_client_last_message_age_seconds",
                                "Seconds since the client's last message (stream: any, public, private)",
                                labels=(*labels, "stream"))
        alive = GaugeMetricFamily("live_client_private_stream_alive",
                                  "Execution clients: 1 while the private stream is alive (see /health)", labels=labels)
        awaiting = GaugeMetricFamily("live_client_awaiting_answer_seconds",
                                     "Execution clients: age of the oldest order command the venue has not answered",
                                     labels=labels)
        for client in source.clients():
            key = (client.client, client.kind, client.venue)
            connected.add_metric(key, 1 if client.connected else 0)
            if client.private_stream_alive is not None:
                alive.add_metric(key, 1 if client.private_stream_alive else 0)
            if client.awaiting_answer_secs is not None:
                awaiting.add_metric(key, client.awaiting_answer_secs)
            stale.add_metric(key, 1 if client.stale else 0)
            reconnects.add_metric(key, client.reconnects)
            for stream, value in (("any", client.last_message_age_secs), ("public", client.last_public_age_secs),
                                  ("private", client.last_private_age_secs)):
                if value is not None:
                    age.add_metric((*key, stream), value)
        yield from (connected, stale, reconnects, age, alive, awaiting)
