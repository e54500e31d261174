"""Guard for backend/live/adapters/binance_symbols.py: NautilusTrader's Binance client still picks the symbols it
asks about through ``_get_cache_active_symbols`` (else the shim silently stops working after an upgrade)."""

from __future__ import annotations

import inspect

from nautilus_trader.adapters.binance.execution import BinanceCommonExecutionClient

from backend.live.adapters.binance_symbols import _active_and_configured_symbols, ask_about_configured_symbols


def test_guard_reports_are_asked_for_the_cache_active_symbols_only() -> None:
    fills = inspect.getsource(BinanceCommonExecutionClient.generate_fill_reports)
    orders = inspect.getsource(BinanceCommonExecutionClient._build_active_symbols)
    assert "self._get_cache_active_symbols()" in fills
    assert "self._get_cache_active_symbols()" in orders
    assert "_get_binance_active_position_symbols" in fills


class _Cache:
    def orders_open(self, venue=None):
        return []

    def positions_open(self, venue=None):
        return []


class _Client:
    """What the two methods read of a client: its provider's configured ids, its cache, its venue."""

    def __init__(self, ids):
        self._instrument_provider = type("Provider", (), {"_load_ids_on_start": set(ids)})()
        self._cache = _Cache()
        self.venue = None


def test_the_patched_method_asks_about_every_configured_instrument() -> None:
    from nautilus_trader.model.identifiers import InstrumentId

    client = _Client(["BTCUSDT.BINANCE", InstrumentId.from_str("ETHUSDT.BINANCE")])  # the config holds strings
    assert BinanceCommonExecutionClient._get_cache_active_symbols(client) == set()  # stock: nothing open, nothing
    assert _active_and_configured_symbols(client) == {"BTCUSDT", "ETHUSDT"}
    other = object()
    assert ask_about_configured_symbols(other) is other  # not a Binance client: unchanged
