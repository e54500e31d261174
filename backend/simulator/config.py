"""Simulator configuration: the config document (``schema.py``) plus the built-in demo content.

``SimConfig.default()`` is the demo content every test and the live demo use: each venue package provides its own
(``venues/<venue>/defaults.py``: markets, instruments, fees, the demo account and its fixed, public keys, which open
only this offline simulator). Venue-specific demo keys are imported from those modules.
"""

from __future__ import annotations

from pathlib import Path

from backend.simulator import schema
from backend.simulator.schema import (
    DEMO_ACCOUNT_ID,
    UNIFIED_WALLET,
    AccountConfig,
    ApiKeyConfig,
    MarketConfig,
    SimConfigError,
    VenueConfig,
    dump_sim_config,
    ed25519_public_key_bytes,
)
from backend.simulator.venues.binance import defaults as binance
from backend.simulator.venues.bybit import defaults as bybit
from backend.simulator.venues.okx import defaults as okx

DEFAULT_VENUES = {"binance": binance.default_config, "bybit": bybit.default_config, "okx": okx.default_config}
KNOWN_VENUES = tuple(DEFAULT_VENUES)

__all__ = [
    "DEMO_ACCOUNT_ID",
    "KNOWN_VENUES",
    "UNIFIED_WALLET",
    "AccountConfig",
    "ApiKeyConfig",
    "MarketConfig",
    "SimConfig",
    "SimConfigError",
    "VenueConfig",
    "dump_sim_config",
    "ed25519_public_key_bytes",
    "load_sim_config",
]


class SimConfig(schema.SimConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The config document (see ``schema.SimConfig``) with the built-in demo content."""

    @classmethod
    def default(
        cls, venues: tuple[str, ...] | list[str] = KNOWN_VENUES, seed: int = 42, **overrides: object
    ) -> SimConfig:
        """The demo content for ``venues``; ``overrides`` set top-level fields (tick_interval_ms ...)."""
        unknown = [v for v in venues if v not in DEFAULT_VENUES]
        if unknown:
            raise SimConfigError(f"venues: unknown venue(s) {', '.join(unknown)} (known: {', '.join(KNOWN_VENUES)})")
        return cls(venues={v: DEFAULT_VENUES[v]() for v in venues}, seed=seed, **overrides)  # type: ignore[arg-type]


def load_sim_config(source: str | Path | bytes) -> SimConfig:
    """A SimConfig from a JSON file path or JSON bytes; raises SimConfigError naming the bad field."""
    return schema.load_sim_config(source, SimConfig)
