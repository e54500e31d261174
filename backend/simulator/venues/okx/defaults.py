"""OKX's demo content (``SimConfig.default``) and the ``SIM_OKX_*`` credential variables (``SIM_OKX_API_KEY``,
``_API_SECRET``, ``SIM_OKX_PASSPHRASE``). The demo key opens nothing but this offline simulator."""

from __future__ import annotations

from decimal import Decimal

from backend.simulator import schema

DEMO_OKX_KEY = "5ba1a0e5-0000-4000-8000-000000000001"
DEMO_OKX_SECRET = "SIMOKXDEMOSECRET0000000000000001"
DEMO_OKX_PASSPHRASE = "SimOkxDemo#1"


def default_config() -> schema.VenueConfig:
    """Spot and USDT swaps (contract sizes 0.01 BTC / 0.1 ETH) on one unified wallet."""
    return schema.demo_venue(
        markets={
            "spot": schema.demo_market(
                "0.0008", "0.001",
                ("BTC-USDT", "BTC", "spot", "0.1", "0.00000001", "0.00001", "0", "50000", "1"),
                ("ETH-USDT", "ETH", "spot", "0.01", "0.000001", "0.0001", "0", "3000", "10")),
            "swap": schema.demo_market(
                "0.0002", "0.0005",
                ("BTC-USDT-SWAP", "BTC", "perpetual", "0.1", "0.01", "0.01", "0", "50000", "100", "0.01"),
                ("ETH-USDT-SWAP", "ETH", "perpetual", "0.01", "0.01", "0.01", "0", "3000", "100", "0.1")),
        },
        keys=(schema.ApiKeyConfig(api_key=DEMO_OKX_KEY, api_secret=DEMO_OKX_SECRET, passphrase=DEMO_OKX_PASSPHRASE),),
        balances={schema.UNIFIED_WALLET: {asset: Decimal(amount) for asset, amount in schema.DEMO_WALLET.items()}},
        unified=True,
    )


def credential_env(settings: schema.VenueConfig) -> dict[str, str]:
    return schema.hmac_credential_env(settings, "SIM_OKX")
