"""Simulator configuration (JSON via msgspec): seed, clock, venues with their markets, instruments, fees, accounts.

``SimConfig.default()`` is the demo content every test and the live demo use. Its API keys are fixed and public by
design (they only open this offline simulator). The Binance demo account also has an Ed25519 key: the simulator keeps
the PUBLIC key; a client signs with ``DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM`` (unencrypted PKCS#8 PEM, the format
NautilusTrader's Binance adapter takes as ``api_secret`` and auto-detects as Ed25519).
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec
from nacl.signing import SigningKey

from backend.simulator.core.accounts import FeeSchedule
from backend.simulator.core.funding import MAX_ABS_RATE
from backend.simulator.core.instruments import SimInstrument

D = Decimal
UNIFIED_WALLET = "unified"
KNOWN_VENUES = ("binance", "bybit", "okx")


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

    @classmethod
    def default(
        cls, venues: tuple[str, ...] | list[str] = KNOWN_VENUES, seed: int = 42, **overrides: object
    ) -> SimConfig:
        """The demo content (see COMMON.md) for ``venues``; ``overrides`` set top-level fields (tick_interval_ms..)."""
        unknown = [v for v in venues if v not in DEFAULT_VENUES]
        if unknown:
            raise SimConfigError(f"venues: unknown venue(s) {', '.join(unknown)} (known: {', '.join(KNOWN_VENUES)})")
        return cls(venues={v: DEFAULT_VENUES[v]() for v in venues}, seed=seed, **overrides)  # type: ignore[arg-type]

    def restricted_to(self, venues: tuple[str, ...] | list[str]) -> SimConfig:
        missing = [v for v in venues if v not in self.venues]
        if missing:
            raise SimConfigError(f"venues: {', '.join(missing)} not in the config (has: {', '.join(self.venues)})")
        return msgspec.structs.replace(self, venues={v: self.venues[v] for v in venues})


def load_sim_config(source: str | Path | bytes) -> SimConfig:
    """A SimConfig from a JSON file path or JSON bytes; raises SimConfigError naming the bad field."""
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
        return msgspec.json.decode(data, type=SimConfig)
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
    if len(raw) == len(_SPKI_ED25519_PREFIX) + 32 and raw.startswith(_SPKI_ED25519_PREFIX):
        return raw[-32:]
    raise SimConfigError(f"{at}.public_key: not an Ed25519 public key (expected 32 raw bytes or DER SPKI)")


# -- demo keys -----------------------------------------------------------------------------------------------------

_PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
_SPKI_ED25519_PREFIX = bytes.fromhex("302a300506032b6570032100")


def _pem(label: str, der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


_DEMO_ED25519 = SigningKey(hashlib.sha256(b"venuesim demo binance ed25519 key v1").digest())
DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM = _pem("PRIVATE KEY", _PKCS8_ED25519_PREFIX + bytes(_DEMO_ED25519))
DEMO_BINANCE_ED25519_PUBLIC_KEY_PEM = _pem("PUBLIC KEY", _SPKI_ED25519_PREFIX + bytes(_DEMO_ED25519.verify_key))

DEMO_ACCOUNT_ID = "demo"
DEMO_BINANCE_HMAC_KEY = "simBinanceDemoHmacKey0000000000000000000000000000000000000000001"
DEMO_BINANCE_HMAC_SECRET = "simBinanceDemoHmacSecret000000000000000000000000000000000000001"
DEMO_BINANCE_ED25519_KEY = "simBinanceDemoEd25519Key0000000000000000000000000000000000000001"
DEMO_BYBIT_KEY = "simBybitDemoKey001"
DEMO_BYBIT_SECRET = "simBybitDemoSecret000000000000000001"
DEMO_OKX_KEY = "5ba1a0e5-0000-4000-8000-000000000001"
DEMO_OKX_SECRET = "SIMOKXDEMOSECRET0000000000000001"
DEMO_OKX_PASSPHRASE = "SimOkxDemo#1"

_SPOT_BALANCES = {"USDT": D("100000"), "BTC": D("2"), "ETH": D("20")}
_DERIVATIVE_BALANCES = {"USDT": D("100000")}


def _instrument(symbol: str, base: str, kind: str, tick: str, lot: str, min_qty: str, min_notional: str, price: str,
                liquidity: str, contract_size: str = "1", quote: str = "USDT") -> SimInstrument:
    return SimInstrument(symbol=symbol, base_asset=base, quote_asset=quote, kind=kind,  # type: ignore[arg-type]
                         tick_size=D(tick), lot_size=D(lot), min_quantity=D(min_qty), min_notional=D(min_notional),
                         start_price=D(price), liquidity=D(liquidity), contract_size=D(contract_size))


def _default_binance() -> VenueConfig:
    return VenueConfig(
        markets={
            "spot": MarketConfig(instruments=(
                _instrument("BTCUSDT", "BTC", "spot", "0.01", "0.00001", "0.00001", "5", "50000", "1"),
                _instrument("ETHUSDT", "ETH", "spot", "0.01", "0.0001", "0.0001", "5", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.001"), taker=D("0.001"))),
            "usdt_futures": MarketConfig(instruments=(
                _instrument("BTCUSDT", "BTC", "perpetual", "0.1", "0.001", "0.001", "100", "50000", "1"),
                _instrument("ETHUSDT", "ETH", "perpetual", "0.01", "0.001", "0.001", "20", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.0002"), taker=D("0.0005"))),
        },
        accounts=(AccountConfig(
            account_id=DEMO_ACCOUNT_ID,
            keys=(
                ApiKeyConfig(api_key=DEMO_BINANCE_HMAC_KEY, api_secret=DEMO_BINANCE_HMAC_SECRET),
                ApiKeyConfig(api_key=DEMO_BINANCE_ED25519_KEY, key_type="ed25519",
                             public_key=DEMO_BINANCE_ED25519_PUBLIC_KEY_PEM),
            ),
            balances={"spot": dict(_SPOT_BALANCES), "usdt_futures": dict(_DERIVATIVE_BALANCES)},
        ),),
    )


def _default_bybit() -> VenueConfig:
    return VenueConfig(
        markets={
            "spot": MarketConfig(instruments=(
                _instrument("BTCUSDT", "BTC", "spot", "0.01", "0.000001", "0.000048", "1", "50000", "1"),
                _instrument("ETHUSDT", "ETH", "spot", "0.01", "0.00001", "0.00062", "1", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.001"), taker=D("0.001"))),
            "linear": MarketConfig(instruments=(
                _instrument("BTCUSDT", "BTC", "perpetual", "0.1", "0.001", "0.001", "5", "50000", "1"),
                _instrument("ETHUSDT", "ETH", "perpetual", "0.01", "0.01", "0.01", "5", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.0002"), taker=D("0.00055"))),
        },
        accounts=(AccountConfig(
            account_id=DEMO_ACCOUNT_ID,
            keys=(ApiKeyConfig(api_key=DEMO_BYBIT_KEY, api_secret=DEMO_BYBIT_SECRET),),
            balances={UNIFIED_WALLET: dict(_SPOT_BALANCES)},
        ),),
        unified=True,
    )


def _default_okx() -> VenueConfig:
    return VenueConfig(
        markets={
            "spot": MarketConfig(instruments=(
                _instrument("BTC-USDT", "BTC", "spot", "0.1", "0.00000001", "0.00001", "0", "50000", "1"),
                _instrument("ETH-USDT", "ETH", "spot", "0.01", "0.000001", "0.0001", "0", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.0008"), taker=D("0.001"))),
            "swap": MarketConfig(instruments=(
                _instrument("BTC-USDT-SWAP", "BTC", "perpetual", "0.1", "0.01", "0.01", "0", "50000", "100", "0.01"),
                _instrument("ETH-USDT-SWAP", "ETH", "perpetual", "0.01", "0.01", "0.01", "0", "3000", "100", "0.1"),
            ), fees=FeeSchedule(maker=D("0.0002"), taker=D("0.0005"))),
        },
        accounts=(AccountConfig(
            account_id=DEMO_ACCOUNT_ID,
            keys=(ApiKeyConfig(api_key=DEMO_OKX_KEY, api_secret=DEMO_OKX_SECRET, passphrase=DEMO_OKX_PASSPHRASE),),
            balances={UNIFIED_WALLET: dict(_SPOT_BALANCES)},
        ),),
        unified=True,
    )


DEFAULT_VENUES = {"binance": _default_binance, "bybit": _default_bybit, "okx": _default_okx}
