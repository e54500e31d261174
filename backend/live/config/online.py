"""``live check-config --online``: every configured instrument id looked up in the venue's own instrument list.

Offline checks cannot know whether ``DOGEUSDT-PERP.BINANCE_FUTURES`` exists; at run time the adapter would fail
later with the venue's ``symbol invalid``. Here each client's ids are translated to the venue's symbol (the
inverse of NautilusTrader's naming: ``BTCUSDT-PERP.BINANCE_FUTURES`` -> ``BTCUSDT``, ``BTCUSDT-LINEAR.BYBIT`` ->
``BTCUSDT`` in category ``linear``, ``BTC-USDT-SWAP.OKX`` -> instId ``BTC-USDT-SWAP``) and looked up in the public
instrument list of the client's HTTP endpoint (``endpoints.http``, else the adapter's default URL for its
environment). Only public, unsigned endpoints are called: no key is sent anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from backend.live.config.schema import ConfigError, LiveConfig, VenueClient
from backend.live.venues import routing_venue

OKX_HTTP_URL = "https://www.okx.com"  # live and demo alike: demo requests carry x-simulated-trading: 1
BYBIT_PAGE_LIMIT = 1000


@dataclass(frozen=True)
class Lookup:
    """One configured instrument id, where it is in the config, and what to look for."""

    path: str  # trading_node.data_clients.X.instrument_ids[0]
    instrument_id: str
    product: str  # the venue's product the symbol belongs to (SPOT, USDT_FUTURES, LINEAR, SWAP)
    symbol: str  # the venue's own symbol / instId


def venue_symbol(client: VenueClient, instrument_id: str) -> tuple[str, str]:
    """(product, venue symbol) of a NautilusTrader instrument id of this client; ValueError when it cannot be one."""
    symbol = instrument_id.rpartition(".")[0]
    if client.venue == "BINANCE":
        product = client.products[0]
        return product, symbol.removesuffix("-PERP") if product == "USDT_FUTURES" else symbol
    if client.venue == "BYBIT":
        raw, _, suffix = symbol.rpartition("-")
        if suffix not in client.products:
            raise ValueError(f"expected SYMBOL-{' or SYMBOL-'.join(client.products)} for this client's products")
        return suffix, raw
    if client.venue == "OKX":
        product = "SWAP" if symbol.endswith("-SWAP") else "SPOT"
        if product not in client.products:
            raise ValueError(f"a {product} instrument, but the client trades {', '.join(client.products)}")
        return product, symbol
    raise ValueError(f"no instrument list known for venue {client.venue}")


def base_url(client: VenueClient) -> str:
    if client.endpoints.http:
        return client.endpoints.http.rstrip("/")
    if client.venue == "BINANCE":
        from nautilus_trader.adapters.binance.common.enums import BinanceAccountType, BinanceEnvironment
        from nautilus_trader.adapters.binance.common.urls import get_http_base_url

        return get_http_base_url(BinanceAccountType[client.products[0]],
                                 BinanceEnvironment[client.environment.upper()], is_us=False)
    if client.venue == "BYBIT":
        from nautilus_trader.core.nautilus_pyo3 import BybitEnvironment, get_bybit_http_base_url

        environment = {"live": BybitEnvironment.MAINNET, "testnet": BybitEnvironment.TESTNET,
                       "demo": BybitEnvironment.DEMO}[client.environment]
        return get_bybit_http_base_url(environment)
    return OKX_HTTP_URL


async def _get(session: aiohttp.ClientSession, url: str, params: dict[str, str],
               headers: dict[str, str]) -> Any:
    async with session.get(url, params=params, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {(await response.text())[:200]}")
        return await response.json(content_type=None)


async def fetch_symbols(session: aiohttp.ClientSession, client: VenueClient, product: str) -> set[str]:
    """Every symbol the venue lists for ``product`` at the client's endpoint."""
    base = base_url(client)
    if client.venue == "BINANCE":
        path = "/fapi/v1/exchangeInfo" if product == "USDT_FUTURES" else "/api/v3/exchangeInfo"
        return {s["symbol"] for s in (await _get(session, base + path, {}, {}))["symbols"]}
    if client.venue == "BYBIT":
        symbols: set[str] = set()
        params = {"category": product.lower(), "limit": str(BYBIT_PAGE_LIMIT)}
        while True:
            result = (await _get(session, f"{base}/v5/market/instruments-info", params, {}))["result"]
            symbols |= {item["symbol"] for item in result["list"]}
            cursor = result.get("nextPageCursor")
            if not cursor:
                return symbols
            params = {**params, "cursor": cursor}
    headers = {"x-simulated-trading": "1"} if client.environment != "live" else {}
    data = await _get(session, f"{base}/api/v5/public/instruments", {"instType": product}, headers)
    return {item["instId"] for item in data["data"]}


def _clients(config: LiveConfig) -> Iterator[tuple[str, VenueClient]]:
    node = config.trading_node
    for kind, clients in (("data_clients", node.data_clients), ("exec_clients", node.exec_clients)):
        for name, client in clients.items():
            yield f"trading_node.{kind}.{name}", client


async def check_instruments(config: LiveConfig, *, timeout_secs: float = 15.0) -> list[ConfigError]:
    """A ``ConfigError`` per configured instrument id the venue does not list (naming the symbol), per id that
    cannot be a symbol of its client, and per instrument list that could not be fetched."""
    problems: list[ConfigError] = []
    wanted: dict[tuple[str, str, str], list[Lookup]] = {}  # (url, venue environment, product) -> lookups
    sources: dict[tuple[str, str, str], tuple[str, VenueClient]] = {}
    for at, client in _clients(config):
        for index, instrument_id in enumerate(client.instrument_ids):
            path = f"{at}.instrument_ids[{index}]"
            try:
                product, symbol = venue_symbol(client, instrument_id)
            except ValueError as exc:
                problems.append(ConfigError(path, f"{instrument_id!r} is not a {routing_venue(client)} id: {exc}"))
                continue
            key = (base_url(client), client.environment, product)
            wanted.setdefault(key, []).append(Lookup(path, instrument_id, product, symbol))
            sources.setdefault(key, (at, client))

    async def listing(key: tuple[str, str, str]) -> set[str] | ConfigError:
        at, client = sources[key]
        try:
            return await fetch_symbols(session, client, key[2])
        except (aiohttp.ClientError, TimeoutError, RuntimeError, KeyError, TypeError, ValueError) as exc:
            return ConfigError(f"{at}.endpoints.http", f"cannot fetch the {client.venue} {key[2]} instrument list "
                                                       f"from {key[0]}: {type(exc).__name__}: {exc}")

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_secs)) as session:
        keys = list(wanted)
        listings = await asyncio.gather(*(listing(key) for key in keys))
    for key, listed in zip(keys, listings, strict=True):
        if isinstance(listed, ConfigError):
            problems.append(listed)
            continue
        for lookup in wanted[key]:
            if lookup.symbol not in listed:
                problems.append(ConfigError(lookup.path, f"{sources[key][1].venue} does not list {lookup.symbol} "
                                                         f"({lookup.product}) at {key[0]}: {lookup.instrument_id!r} "
                                                         "cannot be loaded"))
    return sorted(problems, key=lambda p: p.path)
