"""OKX names for the core's instruments: ``instId`` (the core symbol), ``instType`` (from the market label) and a
deterministic numeric ``instIdCode`` (OKX's WebSocket order entry addresses instruments by code)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backend.simulator.core.instruments import SimInstrument

INST_TYPES = {"spot": "SPOT", "swap": "SWAP"}
LISTED_MS = 1_573_557_408_000  # a fixed listing time keeps payloads byte-identical across runs
FIRST_INST_ID_CODE = 10_001


@dataclass(frozen=True, slots=True)
class Listing:
    """One instrument as OKX lists it. Quantities of a SWAP are contracts of ``contract_size`` base units (``ctVal``),
    which is also the core's order unit, so no conversion happens on the wire."""

    instrument: SimInstrument
    market: str  # core market label: "spot" | "swap"
    inst_type: str  # "SPOT" | "SWAP"
    inst_id_code: int
    listed_ms: int = LISTED_MS

    @property
    def inst_id(self) -> str:
        return self.instrument.symbol

    @property
    def is_swap(self) -> bool:
        return self.inst_type == "SWAP"


class Catalog:
    """Every listed instrument, addressable by ``instId`` or ``instIdCode``."""

    def __init__(self, instruments_by_market: Mapping[str, Iterable[SimInstrument]]) -> None:
        listings: list[Listing] = []
        code = FIRST_INST_ID_CODE
        for market in sorted(instruments_by_market, key=lambda label: list(INST_TYPES).index(label)):
            inst_type = INST_TYPES[market]
            for instrument in sorted(instruments_by_market[market], key=lambda i: i.symbol):
                listings.append(Listing(instrument, market, inst_type, code))
                code += 1
        self._by_id = {listing.inst_id: listing for listing in listings}
        self._by_code = {listing.inst_id_code: listing for listing in listings}
        self.listings: tuple[Listing, ...] = tuple(listings)

    def by_inst_id(self, inst_id: str) -> Listing | None:
        return self._by_id.get(inst_id)

    def by_code(self, code: int) -> Listing | None:
        return self._by_code.get(code)

    def of_type(self, inst_type: str | None) -> tuple[Listing, ...]:
        return tuple(listing for listing in self.listings if inst_type in (None, listing.inst_type))
