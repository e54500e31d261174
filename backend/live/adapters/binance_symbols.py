"""Binance execution clients that ask the venue about every configured instrument, not only the cache's.

What NautilusTrader 1.231.0 does: ``BinanceCommonExecutionClient.generate_order_status_reports`` and
``generate_fill_reports`` query ``allOrders`` / ``myTrades`` only for the "active symbols" of
``_get_cache_active_symbols`` (the cache's open orders and open positions) plus the venue's open orders (and, on
futures, open positions). A node that restarts without a persistent cache has none of those for an order that
filled while it was down (no longer open at the venue; a spot order leaves no venue position), so reconciliation
receives 0 reports and the order's fills never arrive (it stays ACCEPTED).

What we do instead: on the client instance the factory built, ``_get_cache_active_symbols`` also returns every
instrument the client was configured to load (``instrument_provider.load_ids``; with ``load_all`` and no ids, every
instrument of the venue in the cache). An instance attribute, so it composes with any class our other shims switch
the client to.
"""

from __future__ import annotations

import types
from typing import Any

from nautilus_trader.adapters.binance.execution import BinanceCommonExecutionClient
from nautilus_trader.model.identifiers import InstrumentId


def configured_symbols(client: Any) -> set[str]:
    """The symbols (as instrument id symbols, e.g. ``BTCUSDT-PERP``) of the instruments the client loads."""
    load_ids = getattr(client._instrument_provider, "_load_ids_on_start", None)
    if load_ids:
        return {InstrumentId.from_str(str(instrument_id)).symbol.value for instrument_id in load_ids}
    return {instrument.id.symbol.value for instrument in client._cache.instruments(venue=client.venue)}


def _active_and_configured_symbols(self: Any) -> set[str]:
    return BinanceCommonExecutionClient._get_cache_active_symbols(self) | configured_symbols(self)


def ask_about_configured_symbols(client: Any) -> Any:
    """``client`` (a Binance execution client) made to ask about its configured symbols too; others unchanged."""
    if isinstance(client, BinanceCommonExecutionClient):
        client._get_cache_active_symbols = types.MethodType(_active_and_configured_symbols, client)
    return client
