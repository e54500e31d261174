"""The event pipeline: NautilusTrader message-bus events -> pure conversions -> the OMS writer.

The handlers run synchronously on the event loop (the engines publish there): they convert and queue, they never
wait. Repeats are dropped by bounded windows of recently seen ids (``RecentIds``), so memory stays flat however long
the node runs; a repeat older than the window reaches the writer, whose upserts ignore it.

Extending it: ``order_hooks`` / ``account_hooks`` are called with each event after it was queued (e.g. an audit
that wants to see every event); a change to what gets stored belongs in ``store_order_event`` /
``on_account_event``. ``stats`` counts what went through.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import msgspec
from nautilus_trader.model.events import AccountState, OrderInitialized

from backend.live.accounts import convert_account_state
from backend.live.models import AccountRow
from backend.live.node.instruments import InstrumentStore
from backend.live.oms.convert import UnsupportedEvent, convert_order_event
from backend.live.venues import routing_venue, unified_venue

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 65_536
JOURNAL_FIRST = 10  # message-bus priority of the OMS handlers (see ``subscribe``)


class RecentIds:
    """The last ``maxlen`` ids seen (insertion order, oldest evicted first); ``add`` says whether the id was new."""

    def __init__(self, maxlen: int = DEFAULT_WINDOW) -> None:
        self.maxlen = maxlen
        self._ids: OrderedDict[Hashable, None] = OrderedDict()

    def __contains__(self, item: Hashable) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, item: Hashable) -> bool:
        if item in self._ids:
            return False
        self._ids[item] = None
        if len(self._ids) > self.maxlen:
            self._ids.popitem(last=False)
        return True


class PipelineStats(msgspec.Struct):
    order_events: int = 0  # order events queued for the writer
    init_events_from_cache: int = 0  # OrderInitialized taken from the cache for orders NautilusTrader created itself
    order_events_not_stored: int = 0  # events the conversion refused (logged)
    account_events: int = 0  # AccountState events queued
    account_repeats: int = 0  # AccountState events dropped as repeats
    accounts: int = 0  # account rows queued


class EventPipeline:
    """Bus handlers for one node. ``submit`` is the writer's ``submit``; ``cache_order(client_order_id)`` the node
    cache's order lookup (None before the node is built); ``on_position_change()`` is called on every position
    event. Venue activity for client health is not its job: ``node/health.py`` listens to the bus itself."""

    def __init__(self, trader_id: str, exec_clients: Mapping[str, Any], instruments: InstrumentStore,
                 submit: Callable[[Any], None], *, cache_order: Callable[[Any], Any] = lambda _id: None,
                 on_position_change: Callable[[], None] = lambda: None, window: int = DEFAULT_WINDOW) -> None:
        self.trader_id = trader_id
        self.exec_clients = exec_clients
        self.instruments = instruments
        self.stats = PipelineStats()
        self.order_hooks: list[Callable[[Any], None]] = []
        self.account_hooks: list[Callable[[AccountState], None]] = []
        self._submit = submit
        self._cache_order = cache_order
        self._on_position_change = on_position_change
        self.orders_seen = RecentIds(window)  # client order ids whose init event is stored (or on its way)
        self.account_events_seen = RecentIds(window)
        self._accounts_seen: set[str] = set()  # account ids (a handful per node)

    def subscribe(self, msgbus: Any) -> None:
        # Order and account events reach these handlers before any strategy or the portfolio (higher priority than
        # their default 0): an event is in the OMS journal before anything can act on it, so a crash between two
        # handlers never leaves an event someone saw but the OMS lost.
        msgbus.subscribe(topic="events.order.*", handler=self.on_order_event, priority=JOURNAL_FIRST)
        msgbus.subscribe(topic="events.position.*", handler=self.on_position_event)
        msgbus.subscribe(topic="events.account.*", handler=self.on_account_event, priority=JOURNAL_FIRST)

    # -- orders --------------------------------------------------------------------------------------------------------

    def on_order_event(self, event: Any) -> None:
        first_seen = self.orders_seen.add(event.client_order_id)
        if first_seen and not isinstance(event, OrderInitialized):
            # Orders NautilusTrader creates itself (reconciliation of orders placed elsewhere or while the node was
            # down) publish no OrderInitialized; their first event names neither side, type nor quantity. Store the
            # order's init event from the cache first so the row is complete (a replay of it changes nothing).
            order = self._cache_order(event.client_order_id)
            if order is not None:
                self.stats.init_events_from_cache += 1
                self.store_order_event(order.init_event)
        self.store_order_event(event)
        for hook in self.order_hooks:
            hook(event)

    def store_order_event(self, event: Any) -> None:
        payload = type(event).to_dict(event)
        try:
            converted = convert_order_event(payload, self.instruments.ref_for_id(event.instrument_id))
        except (UnsupportedEvent, KeyError, ValueError, ArithmeticError) as exc:
            self.stats.order_events_not_stored += 1
            log.error("Order event %s (%s) not stored: %s", payload.get("event_id"), payload.get("type"), exc)
            return
        self.stats.order_events += 1
        self._submit(converted)

    # -- accounts, positions ---------------------------------------------------------------------------------------------

    def on_account_event(self, event: AccountState) -> None:
        # The same AccountState can reach events.account.* more than once; the database would ignore the repeats,
        # but they need not cost it a round trip.
        if not self.account_events_seen.add(event.id):
            self.stats.account_repeats += 1
            return
        account_id = event.account_id.value
        if account_id not in self._accounts_seen:
            self._accounts_seen.add(account_id)
            self.stats.accounts += 1
            self._submit(account_row(self.trader_id, self.exec_clients, event))
        self.stats.account_events += 1
        self._submit(convert_account_state(self.trader_id, AccountState.to_dict(event)))
        for hook in self.account_hooks:
            hook(event)

    def on_position_event(self, _event: Any) -> None:
        self._on_position_change()


def account_row(trader_id: str, exec_clients: Mapping[str, Any], event: AccountState) -> AccountRow:
    """The ``accounts`` row of the account an AccountState is about, described by the exec client that trades it
    (its issuer is the client's name or routing venue); an account no client claims is filed under its issuer."""
    issuer = event.account_id.get_issuer()
    name, client = next(((n, c) for n, c in exec_clients.items() if issuer in (n, routing_venue(c))), (None, None))
    return AccountRow(
        trader_id=trader_id,
        account_id=event.account_id.value,
        venue=unified_venue(client.venue if client else issuer),
        account_type="+".join(client.products) if client else event.account_type.name,
        venue_type=client.venue_type if client else "CEFI",
        client_name=name,
        margin_model=event.account_type.name,
        base_currency=event.base_currency.code if event.base_currency else None,
    )
