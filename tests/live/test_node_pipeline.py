"""The event pipeline alone (no node, no database): what each bus event becomes, what is dropped as a repeat, and that
its memory stays bounded however many orders pass."""

from __future__ import annotations

from typing import Any

import pytest
from nautilus_trader.model.identifiers import AccountId, ClientOrderId
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.test_kit.stubs.events import TestEventStubs

from backend.live.config.schema import VenueClient
from backend.live.config.secrets import Secret
from backend.live.models import AccountRow, AccountStateRow
from backend.live.node.instruments import InstrumentStore
from backend.live.node.pipeline import EventPipeline, RecentIds, account_row
from backend.live.oms.convert import ConvertedEvent
from tests.live.order_scripts import INSTRUMENT, limit_order_events

EXEC_CLIENTS = {
    "BINANCE_SPOT": VenueClient(venue="BINANCE", products=("SPOT",), api_key=Secret("k"), api_secret=Secret("s")),
    "BINANCE_FUTURES": VenueClient(venue="BINANCE", products=("USDT_FUTURES",), api_key=Secret("k"),
                                   api_secret=Secret("s"), venue_type="CEFI"),
}


class Recorder:
    def __init__(self, orders: dict[ClientOrderId, Any] | None = None, window: int = 1000) -> None:
        self.submitted: list[Any] = []
        self.position_changes = 0
        self.orders = orders or {}
        self.pipeline = EventPipeline(
            "TESTER-000", EXEC_CLIENTS, InstrumentStore("TESTER-000", lambda i: INSTRUMENT if i == INSTRUMENT.id else None),
            self.submitted.append, cache_order=self.orders.get,
            on_position_change=self._position_changed, window=window,
        )

    def _position_changed(self) -> None:
        self.position_changes += 1

    def event_types(self) -> list[str]:
        return [item.event.event_type for item in self.submitted if isinstance(item, ConvertedEvent)]


def test_order_events_are_converted_in_order() -> None:
    rec = Recorder()
    for event in limit_order_events(1, [("1.000000", "60000.00")]):
        rec.pipeline.on_order_event(event)
    assert rec.event_types() == ["OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderFilled"]
    assert {item.event.client_order_id for item in rec.submitted} == {"O-1"}
    assert rec.pipeline.stats.order_events == 4 and rec.pipeline.stats.init_events_from_cache == 0


def test_an_order_first_seen_without_its_initialized_event_gets_it_from_the_cache_once() -> None:
    initialized, _submitted, accepted, filled = limit_order_events(1, [("1.000000", "60000.00")])
    rec = Recorder(orders={initialized.client_order_id: LimitOrder.create(initialized)})
    rec.pipeline.on_order_event(accepted)
    rec.pipeline.on_order_event(filled)
    assert rec.event_types() == ["OrderInitialized", "OrderAccepted", "OrderFilled"]
    assert rec.pipeline.stats.init_events_from_cache == 1


def test_an_event_the_conversion_refuses_is_counted_and_nothing_is_queued(monkeypatch) -> None:
    rec = Recorder()
    event = limit_order_events(1, [])[0]

    def refuse(*_args: Any) -> Any:
        raise ValueError("bad payload")

    monkeypatch.setattr("backend.live.node.pipeline.convert_order_event", refuse)
    rec.pipeline.on_order_event(event)
    assert rec.submitted == [] and rec.pipeline.stats.order_events_not_stored == 1


def test_the_order_window_is_bounded_and_an_evicted_order_is_completed_again_from_the_cache() -> None:
    events = [limit_order_events(n, []) for n in range(50)]
    first_init = events[0][0]
    rec = Recorder(orders={first_init.client_order_id: LimitOrder.create(first_init)}, window=8)
    for initialized, *_rest in events:
        rec.pipeline.on_order_event(initialized)
    assert len(rec.pipeline.orders_seen) == 8
    rec.submitted.clear()
    rec.pipeline.on_order_event(events[0][1])  # a late OrderSubmitted of the first, long evicted order
    assert rec.event_types() == ["OrderInitialized", "OrderSubmitted"]  # the writer ignores the repeated init


def test_recent_ids_keeps_the_newest() -> None:
    window = RecentIds(maxlen=3)
    assert [window.add(i) for i in (1, 2, 1, 3, 4)] == [True, True, False, True, True]
    assert 1 not in window and {2, 3, 4} == {i for i in (1, 2, 3, 4) if i in window}
    assert len(window) == 3


def test_account_states_queue_the_account_once_and_drop_repeats() -> None:
    rec = Recorder()
    first = TestEventStubs.margin_account_state(account_id=AccountId("BINANCE_FUTURES-001"))
    second = TestEventStubs.margin_account_state(account_id=AccountId("BINANCE_FUTURES-001"))
    for event in (first, first, second):
        rec.pipeline.on_account_event(event)
    kinds = [type(item).__name__ for item in rec.submitted]
    assert kinds == ["AccountRow", "AccountStateRow", "AccountStateRow"]
    assert rec.pipeline.stats.account_repeats == 1 and rec.pipeline.stats.accounts == 1
    assert all(isinstance(i, AccountRow | AccountStateRow) for i in rec.submitted)


@pytest.mark.parametrize(("account_id", "client_name", "account_type"), [
    ("BINANCE_FUTURES-001", "BINANCE_FUTURES", "USDT_FUTURES"),  # issuer = routing venue
    ("BINANCE_SPOT-001", "BINANCE_SPOT", "SPOT"),  # issuer = client name
    ("KRAKEN-001", None, "MARGIN"),  # no client claims it: filed under its issuer
])
def test_account_row_names_the_client_that_trades_the_account(account_id, client_name, account_type) -> None:
    row = account_row("TESTER-000", EXEC_CLIENTS, TestEventStubs.margin_account_state(account_id=AccountId(account_id)))
    assert (row.client_name, row.account_type, row.margin_model) == (client_name, account_type, "MARGIN")
    assert row.venue == ("KRAKEN" if client_name is None else "BINANCE")


def test_hooks_see_every_event_and_position_events_ask_for_a_sync() -> None:
    rec = Recorder()
    seen: list[Any] = []
    rec.pipeline.order_hooks.append(seen.append)
    rec.pipeline.account_hooks.append(seen.append)
    events = limit_order_events(1, [])
    account = TestEventStubs.margin_account_state(account_id=AccountId("BINANCE_SPOT-001"))
    for event in events:
        rec.pipeline.on_order_event(event)
    rec.pipeline.on_account_event(account)
    rec.pipeline.on_position_event(object())
    assert seen == [*events, account]
    assert rec.position_changes == 1
