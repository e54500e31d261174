"""Bybit's demo content (``SimConfig.default``) and the ``SIM_BYBIT_API_KEY`` / ``_API_SECRET`` credential
variables. The demo key opens nothing but this offline simulator."""

from __future__ import annotations

from decimal import Decimal as D

from backend.simulator.schema import (
    DEMO_WALLET,
    UNIFIED_WALLET,
    ApiKeyConfig,
    VenueConfig,
    demo_market,
    demo_venue,
    hmac_credential_env,
)

DEMO_BYBIT_KEY = "simBybitDemoKey001"
DEMO_BYBIT_SECRET = "simBybitDemoSecret000000000000000001"


def default_config() -> VenueConfig:
    """Spot and USDT linear perpetuals on one unified wallet (the unified trading account)."""
    spot = demo_market("0.001", "0.001",
                       ("BTCUSDT", "BTC", "spot", "0.01", "0.000001", "0.000048", "1", "50000", "1"),
                       ("ETHUSDT", "ETH", "spot", "0.01", "0.00001", "0.00062", "1", "3000", "10"))
    linear = demo_market("0.0002", "0.00055",
                         ("BTCUSDT", "BTC", "perpetual", "0.1", "0.001", "0.001", "5", "50000", "1"),
                         ("ETHUSDT", "ETH", "perpetual", "0.01", "0.01", "0.01", "5", "3000", "10"))
    wallet = {UNIFIED_WALLET: {asset: D(amount) for asset, amount in DEMO_WALLET.items()}}
    return demo_venue({"spot": spot, "linear": linear}, (ApiKeyConfig(api_key=DEMO_BYBIT_KEY,
                                                                       api_secret=DEMO_BYBIT_SECRET),),
                      wallet, unified=True)


def credential_env(settings: VenueConfig) -> dict[str, str]:
    return hmac_credential_env(settings, "SIM_BYBIT")
