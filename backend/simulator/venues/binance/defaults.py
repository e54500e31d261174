"""Binance's demo content (``SimConfig.default``) and the ``SIM_BINANCE_*`` credential variables.

The demo account has an HMAC key and an Ed25519 key: the simulator keeps the Ed25519 PUBLIC key; a client signs
with ``DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM`` (unencrypted PKCS#8 PEM, the format NautilusTrader's Binance adapter
takes as ``api_secret`` and auto-detects as Ed25519). These keys open nothing but this offline simulator.
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal as D

from nacl.signing import SigningKey

from backend.simulator.schema import (
    DEMO_WALLET,
    SPKI_ED25519_PREFIX,
    ApiKeyConfig,
    VenueConfig,
    demo_market,
    demo_venue,
    hmac_credential_env,
)

_PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def _pem(label: str, der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


_DEMO_ED25519 = SigningKey(hashlib.sha256(b"venuesim demo binance ed25519 key v1").digest())
DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM = _pem("PRIVATE KEY", _PKCS8_ED25519_PREFIX + bytes(_DEMO_ED25519))
DEMO_BINANCE_ED25519_PUBLIC_KEY_PEM = _pem("PUBLIC KEY", SPKI_ED25519_PREFIX + bytes(_DEMO_ED25519.verify_key))
DEMO_BINANCE_HMAC_KEY = "simBinanceDemoHmacKey0000000000000000000000000000000000000000001"
DEMO_BINANCE_HMAC_SECRET = "simBinanceDemoHmacSecret000000000000000000000000000000000000001"
DEMO_BINANCE_ED25519_KEY = "simBinanceDemoEd25519Key0000000000000000000000000000000000000001"


def default_config() -> VenueConfig:
    """Spot and USD-M futures, each market with its own wallet; an HMAC and an Ed25519 key."""
    markets = {
        "spot": demo_market("0.001", "0.001",
                            ("BTCUSDT", "BTC", "spot", "0.01", "0.00001", "0.00001", "5", "50000", "1"),
                            ("ETHUSDT", "ETH", "spot", "0.01", "0.0001", "0.0001", "5", "3000", "10")),
        "usdt_futures": demo_market("0.0002", "0.0005",
                                    ("BTCUSDT", "BTC", "perpetual", "0.1", "0.001", "0.001", "100", "50000", "1"),
                                    ("ETHUSDT", "ETH", "perpetual", "0.01", "0.001", "0.001", "20", "3000", "10")),
    }
    keys = (
        ApiKeyConfig(api_key=DEMO_BINANCE_HMAC_KEY, api_secret=DEMO_BINANCE_HMAC_SECRET),
        ApiKeyConfig(api_key=DEMO_BINANCE_ED25519_KEY, key_type="ed25519", public_key=DEMO_BINANCE_ED25519_PUBLIC_KEY_PEM),
    )
    spot_wallet = {asset: D(amount) for asset, amount in DEMO_WALLET.items()}
    return demo_venue(markets, keys, {"spot": spot_wallet, "usdt_futures": {"USDT": D("100000")}})


def pem_body(pem: str) -> str:
    """The base64 between a PEM's armor lines, joined into one line."""
    return "".join(line.strip() for line in pem.strip().splitlines() if not line.startswith("-----"))


def credential_env(settings: VenueConfig) -> dict[str, str]:
    """``SIM_BINANCE_API_KEY`` / ``_API_SECRET`` (the first account's first HMAC key) and, for the demo Ed25519 key,
    ``SIM_BINANCE_ED25519_API_KEY`` / ``_PRIVATE_KEY``: the one-line base64 body of its PKCS#8 PEM (no armor lines,
    no newline), so a shell can ``source`` the env file; NautilusTrader's Binance adapter takes that form as well.
    The simulator knows a private key only for its own demo key (a config brings public keys only)."""
    if not settings.accounts:
        return {}
    env = hmac_credential_env(settings, "SIM_BINANCE")
    ed25519 = next((k for k in settings.accounts[0].keys if k.key_type == "ed25519"), None)
    if ed25519 is not None and ed25519.public_key.strip() == DEMO_BINANCE_ED25519_PUBLIC_KEY_PEM.strip():
        env["SIM_BINANCE_ED25519_API_KEY"] = ed25519.api_key
        env["SIM_BINANCE_ED25519_PRIVATE_KEY"] = pem_body(DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM)
    return env
