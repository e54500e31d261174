"""OKX's demo content (``SimConfig.default``) and the ``SIM_OKX_*`` credential variables. The demo key opens
nothing but this offline simulator."""

from __future__ import annotations

from decimal import Decimal as D

from backend.simulator.core.accounts import FeeSchedule
from backend.simulator.schema import (
    DEMO_ACCOUNT_ID,
    UNIFIED_WALLET,
    AccountConfig,
    ApiKeyConfig,
    MarketConfig,
    VenueConfig,
    first_hmac_key,
    instrument,
)

DEMO_OKX_KEY = "5ba1a0e5-0000-4000-8000-000000000001"
DEMO_OKX_SECRET = "SIMOKXDEMOSECRET0000000000000001"
DEMO_OKX_PASSPHRASE = "SimOkxDemo#1"


def default_config() -> VenueConfig:
    """The demo content: two markets, the demo account and its keys."""
    return VenueConfig(
        markets={
            "spot": MarketConfig(instruments=(
                instrument("BTC-USDT", "BTC", "spot", "0.1", "0.00000001", "0.00001", "0", "50000", "1"),
                instrument("ETH-USDT", "ETH", "spot", "0.01", "0.000001", "0.0001", "0", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.0008"), taker=D("0.001"))),
            "swap": MarketConfig(instruments=(
                instrument("BTC-USDT-SWAP", "BTC", "perpetual", "0.1", "0.01", "0.01", "0", "50000", "100", "0.01"),
                instrument("ETH-USDT-SWAP", "ETH", "perpetual", "0.01", "0.01", "0.01", "0", "3000", "100", "0.1"),
            ), fees=FeeSchedule(maker=D("0.0002"), taker=D("0.0005"))),
        },
        accounts=(AccountConfig(
            account_id=DEMO_ACCOUNT_ID,
            keys=(ApiKeyConfig(api_key=DEMO_OKX_KEY, api_secret=DEMO_OKX_SECRET, passphrase=DEMO_OKX_PASSPHRASE),),
            balances={UNIFIED_WALLET: {"USDT": D("100000"), "BTC": D("2"), "ETH": D("20")}},
        ),),
        unified=True,
    )


def credential_env(settings: VenueConfig) -> dict[str, str]:
    """``SIM_OKX_API_KEY`` / ``_API_SECRET`` / ``SIM_OKX_PASSPHRASE``: the first account's first HMAC key."""
    key = first_hmac_key(settings)
    if key is None:
        return {}
    env = {"SIM_OKX_API_KEY": key.api_key, "SIM_OKX_API_SECRET": key.api_secret}
    if key.passphrase:
        env["SIM_OKX_PASSPHRASE"] = key.passphrase
    return env
