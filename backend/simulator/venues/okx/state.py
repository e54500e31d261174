"""The OKX venue's protocol-level state around the core: instrument catalog, credentials, open WebSocket sessions,
per-order entry details, and the ordering rule for pushes.

OKX answers an order ``op`` before it pushes the order's ``orders`` update, so while a request handler runs
(``deferring_events``) the core's synchronous events are queued and delivered right after the response.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from backend.simulator.core.matching import SimExchange
from backend.simulator.venues.okx.catalog import Catalog, Listing
from backend.simulator.venues.okx.orders import OrderEntry

if TYPE_CHECKING:
    from backend.simulator.runtime import VenueRuntime
    from backend.simulator.venues.okx.ws_session import OkxSession

ENDPOINTS = ("public", "private", "business")


class OkxVenue:
    def __init__(self, runtime: VenueRuntime) -> None:
        self.runtime = runtime
        self.exchanges: dict[str, SimExchange] = dict(runtime.exchanges)
        self.catalog = Catalog({market: exchange.instruments.values() for market, exchange in self.exchanges.items()})
        self.credentials = runtime.credentials
        self.faults = runtime.faults
        self.sessions: dict[str, list[OkxSession]] = {name: [] for name in ENDPOINTS}
        self.entries: dict[tuple[str, int], OrderEntry] = {}
        self._conn_count = 0
        self._deferred: list[Callable[[], None]] | None = None

    def now_ms(self) -> int:
        return self.runtime.clock.now_ms()

    def next_conn_id(self) -> str:
        self._conn_count += 1
        return f"{self._conn_count:08x}"

    def exchange_of(self, listing: Listing) -> SimExchange:
        return self.exchanges[listing.market]

    def entry(self, market: str, order_id: int) -> OrderEntry:
        """What the client sent with the order; orders placed around the protocol (tests, control API) get the
        defaults OKX would report for them."""
        found = self.entries.get((market, order_id))
        if found is not None:
            return found
        return OrderEntry(trade_mode="cross" if market == "swap" else "cash")

    def leverage(self, listing: Listing, account_id: str) -> str:
        if not listing.is_swap:
            return ""
        return str(self.exchange_of(listing).account(account_id).leverage.get(listing.inst_id, ""))

    # -- push ordering -----------------------------------------------------------------------------------------------

    def deliver(self, push: Callable[[], None]) -> None:
        if self._deferred is not None:
            self._deferred.append(push)
        else:
            push()

    @contextlib.contextmanager
    def deferring_events(self) -> Iterator[None]:
        """Hold pushes caused inside the block; deliver them, in order, when it ends (after the response)."""
        if self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
        finally:
            deferred, self._deferred = self._deferred, None
            for push in deferred:
                push()
