"""The simulator config document (JSON via msgspec): seed, clock, venues with their markets, instruments, fees,
accounts; its validation (every error names its field), loading and dumping. The demo content is each venue's own
(``venues/<venue>/defaults.py``); ``config.py`` puts it together.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec

from backend.simulator.core.accounts import FeeSchedule
from backend.simulator.core.funding import MAX_ABS_RATE
from backend.simulator.core.instruments import SimInstrument

D = Decimal
UNIFIED_WALLET = "unified"
DEMO_ACCOUNT_ID = "demo"  # the account every venue's demo content trades for


class SimConfigError(ValueError):
    """A simulator config that cannot be used; the message names the field."""


class ApiKeyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One API key of an account. HMAC keys carry ``api_secret``; Ed25519 keys carry the ``public_key`` (base64 of the
    raw 32 bytes or of the DER SubjectPublicKeyInfo, PEM armour allowed) and no secret."""

    api_key: str
    key_type: Literal["hmac", "ed25519"] = "hmac"
    api_secret: str = ""
    public_key: str = ""
    passphrase: str = ""


class AccountConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``balances`` per market label (``{"spot": {"USDT": "100000"}}``); a unified venue has one wallet under
    ``"unified"`` that all its markets trade from."""

    account_id: str
    keys: tuple[ApiKeyConfig, ...]
    balances: dict[str, dict[str, Decimal]] = {}
    leverage: int = 10


class MarketConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One matching venue of a venue (``spot``, ``usdt_futures``, ``linear``, ``swap``): its instruments and fees."""

    instruments: tuple[SimInstrument, ...]
    fees: FeeSchedule | None = None
    depth: int = 10
    asset_places: int = 8  # fees, realized PnL and margin holds are rounded to this many decimals
    funding_interval_ms: int = 8 * 60 * 60 * 1000  # perpetuals: funding settles at multiples of this (UTC)
    funding_rate: Decimal = Decimal("0.0001")  # perpetuals: the rate every symbol starts with (per interval)


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    markets: dict[str, MarketConfig]
    accounts: tuple[AccountConfig, ...]
    unified: bool = False


class SimConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``tick_interval_ms``: the market steps every that many ms (0 = only when told). ``manual_clock``: time stands
    still at ``clock_start_ms`` (default: start-up time) unless advanced — for scripted, byte-identical runs."""

    venues: dict[str, VenueConfig]
    seed: int = 42
    tick_interval_ms: int = 1000
    manual_clock: bool = False
    clock_start_ms: int | None = None

    def __post_init__(self) -> None:
        _validate(self)

    def restricted_to(self, venues: tuple[str, ...] | list[str]) -> SimConfig:
        missing = [v for v in venues if v not in self.venues]
        if missing:
            raise SimConfigError(f"venues: {', '.join(missing)} not in the config (has: {', '.join(self.venues)})")
        return msgspec.structs.replace(self, venues={v: self.venues[v] for v in venues})


def load_sim_config[C: SimConfig](source: str | Path | bytes, config_type: type[C] = SimConfig) -> C:  # type: ignore[assignment]
    """A ``config_type`` from a JSON file path or JSON bytes; raises SimConfigError naming the bad field."""
    if isinstance(source, bytes):
        data, origin = source, "config"
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SimConfigError(f"config file {path}: {exc.strerror or exc}") from None
        origin = str(path)
    try:
        return msgspec.json.decode(data, type=config_type)
    except msgspec.ValidationError as exc:
        raise SimConfigError(f"{origin}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise SimConfigError(f"{origin}: not valid JSON ({exc})") from None
    except (ValueError, TypeError) as exc:  # raised by __post_init__ checks (SimInstrument, _validate)
        raise SimConfigError(f"{origin}: {exc}") from None


def dump_sim_config(config: SimConfig) -> bytes:
    return msgspec.json.format(msgspec.json.encode(config), indent=2)


def _validate(config: SimConfig) -> None:
    if config.tick_interval_ms < 0:
        raise SimConfigError("tick_interval_ms: must not be negative")
    seen_keys: set[str] = set()
    for venue, venue_config in config.venues.items():
        where = f"venues.{venue}"
        if not venue_config.markets:
            raise SimConfigError(f"{where}.markets: at least one market is required")
        for label, market in venue_config.markets.items():
            if not market.instruments:
                raise SimConfigError(f"{where}.markets.{label}.instruments: at least one instrument is required")
            kinds = {i.kind for i in market.instruments}
            if len(kinds) > 1:
                raise SimConfigError(f"{where}.markets.{label}.instruments: mixes spot and perpetual instruments")
            symbols = [i.symbol for i in market.instruments]
            if len(set(symbols)) != len(symbols):
                raise SimConfigError(f"{where}.markets.{label}.instruments: duplicate symbol")
            if market.depth < 1:
                raise SimConfigError(f"{where}.markets.{label}.depth: must be at least 1")
            if not 0 <= market.asset_places <= 18:
                raise SimConfigError(f"{where}.markets.{label}.asset_places: must be between 0 and 18")
            if market.funding_interval_ms < 1000:
                raise SimConfigError(f"{where}.markets.{label}.funding_interval_ms: must be at least 1000")
            if abs(market.funding_rate) > MAX_ABS_RATE:
                raise SimConfigError(f"{where}.markets.{label}.funding_rate: must be between -{MAX_ABS_RATE} and "
                                     f"{MAX_ABS_RATE}")
        wallets = {UNIFIED_WALLET} if venue_config.unified else set(venue_config.markets)
        account_ids: set[str] = set()
        for index, account in enumerate(venue_config.accounts):
            at = f"{where}.accounts[{index}]"
            if not account.account_id:
                raise SimConfigError(f"{at}.account_id: must not be empty")
            if account.account_id in account_ids:
                raise SimConfigError(f"{at}.account_id: duplicate {account.account_id!r}")
            account_ids.add(account.account_id)
            if not 1 <= account.leverage <= 125:
                raise SimConfigError(f"{at}.leverage: must be between 1 and 125")
            for wallet, amounts in account.balances.items():
                if wallet not in wallets:
                    raise SimConfigError(
                        f"{at}.balances.{wallet}: unknown wallet (use {', '.join(sorted(wallets))})")
                for asset, amount in amounts.items():
                    if amount < 0:
                        raise SimConfigError(f"{at}.balances.{wallet}.{asset}: must not be negative")
            if not account.keys:
                raise SimConfigError(f"{at}.keys: at least one API key is required")
            for key_index, key in enumerate(account.keys):
                _validate_key(key, f"{at}.keys[{key_index}]", seen_keys)


def _validate_key(key: ApiKeyConfig, at: str, seen_keys: set[str]) -> None:
    if not key.api_key or not key.api_key.isprintable() or " " in key.api_key:
        raise SimConfigError(f"{at}.api_key: must be a non-empty printable string without spaces")
    if key.api_key in seen_keys:
        raise SimConfigError(f"{at}.api_key: used twice")
    seen_keys.add(key.api_key)
    if key.key_type == "hmac":
        if not key.api_secret:
            raise SimConfigError(f"{at}.api_secret: required for an hmac key")
        return
    if key.api_secret:
        raise SimConfigError(f"{at}.api_secret: an ed25519 key keeps only its public_key here (never the private key)")
    if len(ed25519_public_key_bytes(key.public_key, at)) != 32:
        raise SimConfigError(f"{at}.public_key: not an Ed25519 public key")


def ed25519_public_key_bytes(encoded: str, at: str = "public_key") -> bytes:
    """The raw 32-byte Ed25519 public key from base64 (raw or DER SubjectPublicKeyInfo, PEM armour allowed)."""
    body = "".join(line for line in encoded.strip().splitlines() if not line.startswith("-----"))
    try:
        raw = base64.b64decode(body, validate=True)
    except ValueError:
        raise SimConfigError(f"{at}.public_key: not base64") from None
    if len(raw) == 32:
        return raw
    if len(raw) == len(SPKI_ED25519_PREFIX) + 32 and raw.startswith(SPKI_ED25519_PREFIX):
        return raw[-32:]
    raise SimConfigError(f"{at}.public_key: not an Ed25519 public key (expected 32 raw bytes or DER SPKI)")


SPKI_ED25519_PREFIX = bytes.fromhex("302a300506032b6570032100")


def instrument(symbol: str, base: str, kind: str, tick: str, lot: str, min_qty: str, min_notional: str, price: str,
               liquidity: str, contract_size: str = "1", quote: str = "USDT") -> SimInstrument:
    """A ``SimInstrument`` from decimal strings (the venues' demo content)."""
    return SimInstrument(symbol=symbol, base_asset=base, quote_asset=quote, kind=kind,  # type: ignore[arg-type]
                         tick_size=D(tick), lot_size=D(lot), min_quantity=D(min_qty), min_notional=D(min_notional),
                         start_price=D(price), liquidity=D(liquidity), contract_size=D(contract_size))


def demo_market(maker: str, taker: str, *rows: tuple[str, ...]) -> MarketConfig:
    """A demo market: its fees and one instrument per row (the arguments of ``instrument``, as strings)."""
    return MarketConfig(instruments=tuple(instrument(*row) for row in rows),
                        fees=FeeSchedule(maker=D(maker), taker=D(taker)))


def demo_venue(markets: dict[str, MarketConfig], keys: tuple[ApiKeyConfig, ...],
               balances: dict[str, dict[str, Decimal]], unified: bool = False) -> VenueConfig:
    """A venue's demo content: ``markets`` and the one demo account (``DEMO_ACCOUNT_ID``) with ``keys``."""
    return VenueConfig(markets=markets, unified=unified,
                       accounts=(AccountConfig(account_id=DEMO_ACCOUNT_ID, keys=keys, balances=balances),))


DEMO_WALLET = {"USDT": "100000", "BTC": "2", "ETH": "20"}  # what every demo spot (or unified) wallet holds


def hmac_credential_env(settings: VenueConfig, prefix: str) -> dict[str, str]:
    """``<prefix>_API_KEY`` / ``_API_SECRET`` (and ``_PASSPHRASE`` when the key has one): the first account's first
    HMAC key, the ``SIM_*`` credential variables of a venue."""
    if not settings.accounts:
        return {}
    key = next((k for k in settings.accounts[0].keys if k.key_type == "hmac"), None)
    if key is None:
        return {}
    env = {f"{prefix}_API_KEY": key.api_key, f"{prefix}_API_SECRET": key.api_secret}
    if key.passphrase:
        env[f"{prefix}_PASSPHRASE"] = key.passphrase
    return env
