"""The ``SIM_*`` credential variables a client config needs to trade on the simulator (``configs/local-sim.json``).

For each venue the first account's first HMAC key is exported as ``SIM_<VENUE>_API_KEY`` / ``_API_SECRET`` (and
``SIM_OKX_PASSPHRASE``). Binance's Ed25519 key is exported as ``SIM_BINANCE_ED25519_API_KEY`` plus the private key,
which the simulator knows only for its own demo key (a config brings public keys only). These keys open nothing but
this offline simulator; they are printed so any client can use it.
"""

from __future__ import annotations

from backend.simulator.config import (
    DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM,
    DEMO_BINANCE_ED25519_PUBLIC_KEY_PEM,
    SimConfig,
)


def credential_env(config: SimConfig) -> dict[str, str]:
    env: dict[str, str] = {}
    for venue, venue_config in config.venues.items():
        if not venue_config.accounts:
            continue
        prefix = f"SIM_{venue.upper()}"
        keys = venue_config.accounts[0].keys
        hmac = next((k for k in keys if k.key_type == "hmac"), None)
        if hmac is not None:
            env[f"{prefix}_API_KEY"] = hmac.api_key
            env[f"{prefix}_API_SECRET"] = hmac.api_secret
            if hmac.passphrase:
                env[f"{prefix}_PASSPHRASE"] = hmac.passphrase
        ed25519 = next((k for k in keys if k.key_type == "ed25519"), None)
        if ed25519 is not None and ed25519.public_key.strip() == DEMO_BINANCE_ED25519_PUBLIC_KEY_PEM.strip():
            env[f"{prefix}_ED25519_API_KEY"] = ed25519.api_key
            env[f"{prefix}_ED25519_PRIVATE_KEY"] = DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM
    return env
