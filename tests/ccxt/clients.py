"""ccxt exchanges pointed at a running simulator: only ``urls['api']`` and options a trader sets anyway (which market
types to load), never ccxt's logic. Keys are the simulator's public demo keys."""

from __future__ import annotations

from typing import Any

import ccxt

from backend.simulator.venues.binance.defaults import DEMO_BINANCE_HMAC_KEY, DEMO_BINANCE_HMAC_SECRET
from backend.simulator.venues.bybit.defaults import DEMO_BYBIT_KEY, DEMO_BYBIT_SECRET
from backend.simulator.venues.okx.defaults import DEMO_OKX_KEY, DEMO_OKX_PASSPHRASE, DEMO_OKX_SECRET

TIMEOUT_MS = 10_000


def binance(urls: dict[str, str], **credentials: str) -> ccxt.binance:
    spot, futures = urls["spot"].rstrip("/"), urls["usdt_futures"].rstrip("/")
    exchange = ccxt.binance({
        "apiKey": credentials.get("apiKey", DEMO_BINANCE_HMAC_KEY),
        "secret": credentials.get("secret", DEMO_BINANCE_HMAC_SECRET),
        "timeout": TIMEOUT_MS,
        "options": {"fetchMarkets": {"types": ["spot", "linear"]}, "fetchCurrencies": False},
    })
    api: dict[str, Any] = exchange.urls["api"]
    for name in list(api):
        if name in ("public", "private", "v1", "sapi") or name.startswith("sapiV"):
            api[name] = f"{spot}/{api[name].split('/', 3)[3]}"
        elif name.startswith("fapi"):
            api[name] = f"{futures}/{api[name].split('/', 3)[3]}"
    return exchange


def bybit(urls: dict[str, str], **credentials: str) -> ccxt.bybit:
    base = urls["main"].rstrip("/")
    exchange = ccxt.bybit({
        "apiKey": credentials.get("apiKey", DEMO_BYBIT_KEY),
        "secret": credentials.get("secret", DEMO_BYBIT_SECRET),
        "timeout": TIMEOUT_MS,
        "options": {"fetchMarkets": {"types": ["spot", "linear"]}},
    })
    api: dict[str, Any] = exchange.urls["api"]
    for name in list(api):
        api[name] = base
    return exchange


def okx(urls: dict[str, str], **credentials: str) -> ccxt.okx:
    exchange = ccxt.okx({
        "apiKey": credentials.get("apiKey", DEMO_OKX_KEY),
        "secret": credentials.get("secret", DEMO_OKX_SECRET),
        "password": credentials.get("password", DEMO_OKX_PASSPHRASE),
        "timeout": TIMEOUT_MS,
        "options": {"fetchMarkets": {"types": ["spot", "swap"]}},
    })
    exchange.urls["api"]["rest"] = urls["main"].rstrip("/")
    return exchange
