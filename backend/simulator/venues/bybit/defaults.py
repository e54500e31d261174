"""Bybit's demo content (``SimConfig.default``) and the ``SIM_BYBIT_*`` credential variables. The demo key opens
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

DEMO_BYBIT_KEY = "simBybitDemoKey001"
DEMO_BYBIT_SECRET = "simBybitDemoSecret000000000000000001"


def default_config() -> VenueConfig:
    """The demo content: two markets, the demo account and its keys."""
    return VenueConfig(
        markets={
            "spot": MarketConfig(instruments=(
                instrument("BTCUSDT", "BTC", "spot", "0.01", "0.000001", "0.000048", "1", "50000", "1"),
                instrument("ETHUSDT", "ETH", "spot", "0.01", "0.00001", "0.00062", "1", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.001"), taker=D("0.001"))),
            "linear": MarketConfig(instruments=(
                instrument("BTCUSDT", "BTC", "perpetual", "0.1", "0.001", "0.001", "5", "50000", "1"),
                instrument("ETHUSDT", "ETH", "perpetual", "0.01", "0.01", "0.01", "5", "3000", "10"),
            ), fees=FeeSchedule(maker=D("0.0002"), taker=D("0.00055"))),
        },
        accounts=(AccountConfig(
            account_id=DEMO_ACCOUNT_ID,
            keys=(ApiKeyConfig(api_key=DEMO_BYBIT_KEY, api_secret=DEMO_BYBIT_SECRET),),
            balances={UNIFIED_WALLET: {"USDT": D("100000"), "BTC": D("2"), "ETH": D("20")}},
        ),),
        unified=True,
    )


def credential_env(settings: VenueConfig) -> dict[str, str]:
    """``SIM_BYBIT_API_KEY`` / ``_API_SECRET``: the first account's first HMAC key."""
    key = first_hmac_key(settings)
    if key is None:
        return {}
    env = {"SIM_BYBIT_API_KEY": key.api_key, "SIM_BYBIT_API_SECRET": key.api_secret}
    return env
