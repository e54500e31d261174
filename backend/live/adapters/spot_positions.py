"""Execution clients that report no positions for spot instruments.

What NautilusTrader 1.231.0 does: a spot (cash) account holds balances, not positions, and its adapters say so
differently: Binance's spot client answers a position query for one instrument with a synthesized FLAT report, OKX
reports spot holdings in its own way. The execution engine's start-up and periodic position checks then "correct"
the node's spot position (built from its fills) towards that report with a synthetic order and an inferred fill: a
SELL of the whole holding that never happened, and ``live positions`` shows 0.

What we do instead: on the client instance, ``generate_position_status_reports`` drops every report of a spot
instrument (``CurrencyPair``), so the engine compares and aligns derivatives positions only; spot holdings are the
fills' and the balances' (which the venue's account state sets). Composes with any class switch of other shims.
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.model.instruments import CurrencyPair


def _is_spot(client: Any, report: Any) -> bool:
    return isinstance(client._cache.instrument(report.instrument_id), CurrencyPair)


def no_spot_position_reports(client: Any) -> Any:
    """``client`` whose position reports leave out spot instruments."""
    original = client.generate_position_status_reports

    async def generate_position_status_reports(command: Any) -> list[Any]:
        return [r for r in await original(command) if not _is_spot(client, r)]

    client.generate_position_status_reports = generate_position_status_reports
    return client
