"""What the server hands a venue protocol package, and what a venue package must provide.

``build_runtime`` turns one venue's config into a ``VenueRuntime``: its matching exchanges (one per market label,
unified wallets shared), the API keys it accepts, one clock and one set of fault switches. ``venue_module`` imports
``backend.simulator.venues.<venue>``, which must satisfy ``VenueModule``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import msgspec
from aiohttp import web

from backend.simulator.core.accounts import Ledger
from backend.simulator.core.clock import SimClock
from backend.simulator.core.faults import FaultState
from backend.simulator.core.matching import SimExchange
from backend.simulator.schema import UNIFIED_WALLET, SimConfig, VenueConfig


class SimCredential(msgspec.Struct, frozen=True, kw_only=True):
    """An API key the venue accepts and the account it trades for. ``secret`` is the HMAC secret (empty for Ed25519
    keys); ``ed25519_public_key`` the configured public key text (empty for HMAC keys)."""

    api_key: str
    account_id: str
    key_type: Literal["hmac", "ed25519"]
    secret: str
    ed25519_public_key: str
    passphrase: str

    def __repr__(self) -> str:  # never print the secret
        return f"SimCredential(api_key={self.api_key!r}, account_id={self.account_id!r}, key_type={self.key_type!r})"


@dataclass(slots=True)
class VenueRuntime:
    """What a venue protocol module gets: its exchanges by market label, credentials by API key, the venue clock,
    fault switches and its config (``settings``)."""

    name: str
    exchanges: dict[str, SimExchange]
    credentials: dict[str, SimCredential]
    clock: SimClock
    faults: FaultState
    settings: VenueConfig
    seed: int


def build_runtime(venue: str, config: SimConfig) -> VenueRuntime:
    settings = config.venues[venue]
    clock = SimClock(manual=config.manual_clock, start_ms=config.clock_start_ms)
    faults = FaultState()
    exchanges = {
        label: SimExchange(f"{venue}-{label}", market.instruments, clock, config.seed, market.fees, depth=market.depth,
                           faults=faults, asset_places=market.asset_places)
        for label, market in settings.markets.items()
    }
    for label, exchange in exchanges.items():
        if exchange.funding is not None:
            market = settings.markets[label]
            exchange.funding.configure(market.funding_interval_ms, market.funding_rate, clock.now_ms())
    credentials: dict[str, SimCredential] = {}
    for account in settings.accounts:
        shared = Ledger(account.balances.get(UNIFIED_WALLET, {})) if settings.unified else None
        for label, exchange in exchanges.items():
            if shared is not None:
                exchange.add_account(account.account_id, ledger=shared)
            else:
                exchange.add_account(account.account_id, account.balances.get(label, {}))
            if exchange.kind == "perpetual" and account.leverage != exchange.default_leverage:
                for symbol in exchange.instruments:
                    exchange.set_leverage(account.account_id, symbol, account.leverage)
        for key in account.keys:
            credentials[key.api_key] = SimCredential(
                api_key=key.api_key, account_id=account.account_id, key_type=key.key_type, secret=key.api_secret,
                ed25519_public_key=key.public_key, passphrase=key.passphrase,
            )
    return VenueRuntime(name=venue, exchanges=exchanges, credentials=credentials, clock=clock, faults=faults,
                        settings=settings, seed=config.seed)


class VenueModule(Protocol):
    """The plug-in contract of ``backend/simulator/venues/<venue>/__init__.py``.

    A package may also define ``fault_response(status) -> web.Response``: how the venue answers an injected REST
    failure (``/_sim/faults/rest``); without it the answer is plain JSON."""

    def create_apps(self, runtime: VenueRuntime) -> dict[str, web.Application]:
        """One aiohttp app per host of the real venue, keyed by a label, each served on its own port."""
        ...

    def endpoint_env(self, urls: dict[str, str]) -> dict[str, str]:
        """The ``SIM_*`` URL variables a client config needs, from the apps' base URLs (label -> URL)."""
        ...

    def credential_env(self, settings: VenueConfig) -> dict[str, str]:
        """The ``SIM_*`` credential variables (the venue's demo keys) for the venue's config."""
        ...

    def default_config(self) -> VenueConfig:
        """The demo content of the venue: markets, instruments, fees, the demo account and its keys."""
        ...


def venue_module(venue: str) -> VenueModule:
    """``backend.simulator.venues.<venue>``, imported only when the venue is asked for."""
    name = f"backend.simulator.venues.{venue}"
    try:
        return cast(VenueModule, importlib.import_module(name))
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise RuntimeError(f"venue {venue!r}: no simulator package {name}") from None
        raise


def http_and_ws(url: str) -> tuple[str, str]:
    """An app's base URL (``http://host:port``) and the same base for WebSockets (``ws://host:port``)."""
    http = url.rstrip("/")
    return http, "ws" + http.removeprefix("http")
