"""Tradable instruments of a simulated exchange (static specification, venue-native symbols)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

InstrumentKind = Literal["spot", "perpetual"]
ONE = Decimal(1)


class SimInstrument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One instrument. Quantities are in *order units*: base units for spot and linear perpetuals whose
    ``contract_size`` is 1, contracts otherwise (OKX swaps: base quantity = contracts * contract_size).

    ``start_price`` and ``liquidity`` (quantity, in order units, available at each simulated book level) seed the
    market; they are not exchange filters.
    """

    symbol: str
    base_asset: str
    quote_asset: str
    kind: InstrumentKind
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    start_price: Decimal
    liquidity: Decimal
    min_notional: Decimal = Decimal(0)
    max_quantity: Decimal = Decimal(1_000_000)
    contract_size: Decimal = ONE
    settle_asset: str = ""

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size", "start_price", "liquidity", "contract_size", "max_quantity"):
            if getattr(self, name) <= 0:
                raise ValueError(f"instrument {self.symbol}: {name} must be positive")
        if self.min_quantity < 0 or self.min_notional < 0:
            raise ValueError(f"instrument {self.symbol}: min_quantity and min_notional must not be negative")
        if self.kind == "spot" and self.contract_size != ONE:
            raise ValueError(f"instrument {self.symbol}: contract_size applies to perpetuals only")

    @property
    def is_perpetual(self) -> bool:
        return self.kind == "perpetual"

    @property
    def settlement_asset(self) -> str:
        """Asset perpetual PnL, margin and fees are booked in (the quote asset unless ``settle_asset`` is set)."""
        return self.settle_asset or self.quote_asset

    def notional(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Quote value of ``quantity`` order units at ``price``."""
        return quantity * self.contract_size * price
