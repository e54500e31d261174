"""Binance execution client factory whose USDT-M futures client reports each venue trade once.

In NautilusTrader 1.231.0 ``BinanceCommonExecutionClient.generate_fill_reports`` asks for the trades of every
"active symbol": the cache's (``BTCUSDT-PERP``) and the venue's open positions' (``BTCUSDT``). Both spell the same
Binance symbol, so every trade comes back twice. After a reconnect (the venue dropped the user stream) the
execution engine reconciles those doubled fills against the venue's position and books a spurious EXTERNAL position
that offsets the real one. The offline simulator showed it (``tests/e2e/test_live_node_recovery.py``).

The fix is confined to the client the factory returns: the same ``BinanceFuturesExecutionClient``, with fill reports
de-duplicated by (instrument, trade id). Spot clients are returned unchanged.
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.adapters.binance.factories import BinanceLiveExecClientFactory
from nautilus_trader.adapters.binance.futures.execution import BinanceFuturesExecutionClient
from nautilus_trader.execution.reports import FillReport

from backend.live.adapters.class_switch import switch_class


def unique_fill_reports(reports: list[FillReport]) -> list[FillReport]:
    """The reports with each (instrument, trade id) once, first occurrence kept, order kept."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for report in reports:
        key = (report.instrument_id.value, report.trade_id.value)
        if key not in seen:
            seen.add(key)
            unique.append(report)
    return unique


class UniqueFillsBinanceFuturesExecutionClient(BinanceFuturesExecutionClient):
    async def generate_fill_reports(self, command: Any) -> list[FillReport]:
        return unique_fill_reports(await super().generate_fill_reports(command))


class BinanceUniqueFillsExecClientFactory(BinanceLiveExecClientFactory):
    """``BinanceLiveExecClientFactory`` whose futures clients report each trade once (see the module note)."""

    @staticmethod
    def create(*args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        client = BinanceLiveExecClientFactory.create(*args, **kwargs)
        return switch_class(client, BinanceFuturesExecutionClient, UniqueFillsBinanceFuturesExecutionClient)
