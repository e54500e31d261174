"""What one Binance market app (spot or USD-M futures) shares between its REST routes and its WebSockets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend.simulator.core.instruments import SimInstrument
from backend.simulator.core.matching import SimExchange
from backend.simulator.venues.binance import payloads
from backend.simulator.venues.binance.errors import Market
from backend.simulator.venues.binance.signing import Authenticator
from backend.simulator.venues.binance.streams import MarketStreams
from backend.simulator.venues.binance.user_data import ListenKeys, UserDataEndpoints, UserDataHub


@dataclass
class BinanceMarket:
    """One market app's state. ``active_cancel_id`` is the client id of the cancel request being served, so the
    ``executionReport`` the core's cancel event turns into carries it (as Binance's does)."""

    label: Market
    exchange: SimExchange
    auth: Authenticator
    hub: UserDataHub
    streams: MarketStreams
    listen_keys: ListenKeys
    user: UserDataEndpoints
    now_ms: Callable[[], int]
    cancel_counter: int = 0
    active_cancel_id: str | None = None

    @property
    def futures(self) -> bool:
        return self.label == "usdt_futures"

    def next_cancel_id(self) -> str:
        """The client id Binance gives a cancel request that names none (deterministic here)."""
        self.cancel_counter += 1
        return f"sim-cancel-{self.cancel_counter}"

    def instrument(self, symbol: str) -> SimInstrument:
        return self.exchange.instruments[symbol]

    def qty_places(self, symbol: str) -> int:
        return payloads.qty_places(self.instrument(symbol), self.futures)
