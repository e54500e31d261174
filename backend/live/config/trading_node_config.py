"""Builds NautilusTrader's ``TradingNodeConfig`` from the validated live config (plan task 2).

One function per venue turns a configured client into the adapter's own frozen config class; nothing else in the
project knows the adapters' field names. Venue routing: NautilusTrader's execution engine routes orders by venue,
so Binance spot and USDT-M futures cannot both be ``BINANCE`` in one node. Spot keeps ``BINANCE`` (instrument ids
``BTCUSDT.BINANCE``) and futures run as ``BINANCE_FUTURES`` (``BTCUSDT-PERP.BINANCE_FUTURES``); the unified tables
record both as venue BINANCE (see ``backend.live.canonical.unified_venue``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nautilus_trader.adapters.binance.common.enums import BinanceAccountType, BinanceEnvironment, BinanceKeyType
from nautilus_trader.adapters.binance.config import BinanceDataClientConfig, BinanceExecClientConfig
from nautilus_trader.adapters.bybit.config import BybitExecClientConfig
from nautilus_trader.adapters.okx.config import OKXDataClientConfig, OKXExecClientConfig
from nautilus_trader.cache.config import CacheConfig
from nautilus_trader.common.config import DatabaseConfig, LoggingConfig
from nautilus_trader.config import (
    ImportableStrategyConfig,
    InstrumentProviderConfig,
    LiveDataEngineConfig,
    LiveExecEngineConfig,
    LiveRiskEngineConfig,
    TradingNodeConfig,
)
from nautilus_trader.core.nautilus_pyo3 import BybitEnvironment, BybitProductType, OKXEnvironment, OKXInstrumentType
from nautilus_trader.model.identifiers import Venue

from backend.live.adapters.bybit import BybitPublicWsDataClientConfig
from backend.live.config.schema import LiveConfig, VenueClient

BINANCE_SPOT_VENUE = "BINANCE"
BINANCE_FUTURES_VENUE = "BINANCE_FUTURES"


class NodeConfigError(ValueError):
    """A config that validated but cannot be turned into adapter configs; names the client and field."""


def _secret(value: Any) -> str | None:
    return None if value is None else value.get()


def _provider(client: VenueClient) -> InstrumentProviderConfig:
    return InstrumentProviderConfig(
        load_all=client.load_all,
        load_ids=frozenset(client.instrument_ids) if client.instrument_ids else None,
    )


def _options(name: str, client: VenueClient, config_class: type, **fields: Any) -> Any:
    """The adapter config, with the client's ``adapter_options`` on top; an unknown option names the field."""
    options = dict(client.adapter_options)
    known = set(config_class.__struct_fields__)
    for key in options:
        if key not in known:
            raise NodeConfigError(
                f"trading_node clients.{name}.adapter_options.{key}: {config_class.__name__} has no field {key!r}"
            )
    try:
        return config_class(**{**fields, **options})
    except (TypeError, ValueError) as exc:
        raise NodeConfigError(f"trading_node clients.{name}: {config_class.__name__}: {exc}") from None


def binance_venue(client: VenueClient) -> str:
    return BINANCE_FUTURES_VENUE if client.products[0] == "USDT_FUTURES" else BINANCE_SPOT_VENUE


def _binance_common(client: VenueClient) -> dict[str, Any]:
    return {
        "venue": Venue(binance_venue(client)),
        "api_key": _secret(client.api_key),
        "api_secret": _secret(client.api_secret),
        "key_type": BinanceKeyType.ED25519 if client.key_type == "ed25519" else BinanceKeyType.HMAC,
        "account_type": BinanceAccountType[client.products[0]],
        "environment": BinanceEnvironment[client.environment.upper()],
        "base_url_http": client.endpoints.http,
        "instrument_provider": _provider(client),
    }


def binance_data(name: str, client: VenueClient) -> BinanceDataClientConfig:
    return _options(name, client, BinanceDataClientConfig, **_binance_common(client), base_url_ws=client.endpoints.ws_public)


def binance_exec(name: str, client: VenueClient) -> BinanceExecClientConfig:
    return _options(
        name, client, BinanceExecClientConfig, **_binance_common(client),
        base_url_ws=client.endpoints.ws_private,  # the WebSocket API (session.logon, user data)
        base_url_ws_stream=client.endpoints.ws_user_stream,  # futures listenKey stream
    )


_BYBIT_ENV = {"live": BybitEnvironment.MAINNET, "testnet": BybitEnvironment.TESTNET, "demo": BybitEnvironment.DEMO}


def _bybit_common(client: VenueClient) -> dict[str, Any]:
    return {
        "api_key": _secret(client.api_key),
        "api_secret": _secret(client.api_secret),
        "product_types": tuple(getattr(BybitProductType, p) for p in client.products),
        "environment": _BYBIT_ENV[client.environment],
        "base_url_http": client.endpoints.http,
        "instrument_provider": _provider(client),
    }


def bybit_data(name: str, client: VenueClient) -> BybitPublicWsDataClientConfig:
    return _options(
        name, client, BybitPublicWsDataClientConfig, **_bybit_common(client), base_url_ws_public=client.endpoints.ws_public
    )


def bybit_exec(name: str, client: VenueClient) -> BybitExecClientConfig:
    return _options(
        name, client, BybitExecClientConfig, **_bybit_common(client),
        base_url_ws_private=client.endpoints.ws_private, base_url_ws_trade=client.endpoints.ws_trade,
    )


# OKX has no separate testnet: its demo trading environment is the paper-trading one.
_OKX_ENV = {"live": OKXEnvironment.LIVE, "testnet": OKXEnvironment.DEMO, "demo": OKXEnvironment.DEMO}


def _okx_common(client: VenueClient) -> dict[str, Any]:
    return {
        "api_key": _secret(client.api_key),
        "api_secret": _secret(client.api_secret),
        "api_passphrase": _secret(client.passphrase),
        "instrument_types": tuple(getattr(OKXInstrumentType, p) for p in client.products),
        "environment": _OKX_ENV[client.environment],
        "base_url_http": client.endpoints.http,
        "instrument_provider": _provider(client),
    }


def okx_data(name: str, client: VenueClient) -> OKXDataClientConfig:
    return _options(name, client, OKXDataClientConfig, **_okx_common(client), base_url_ws=client.endpoints.ws_public)


def okx_exec(name: str, client: VenueClient) -> OKXExecClientConfig:
    return _options(name, client, OKXExecClientConfig, **_okx_common(client), base_url_ws=client.endpoints.ws_private)


DATA_BUILDERS: dict[str, Callable[[str, VenueClient], Any]] = {
    "BINANCE": binance_data, "BYBIT": bybit_data, "OKX": okx_data,
}
EXEC_BUILDERS: dict[str, Callable[[str, VenueClient], Any]] = {
    "BINANCE": binance_exec, "BYBIT": bybit_exec, "OKX": okx_exec,
}


def _cache(config: LiveConfig) -> CacheConfig | None:
    if config.cache.backend != "redis":
        return None  # in memory
    redis = config.cache.redis
    return CacheConfig(
        database=DatabaseConfig(
            type="redis", host=redis.host, port=redis.port, username=redis.username, password=_secret(redis.password),
        ),
        flush_on_start=False,
    )


def build_trading_node_config(config: LiveConfig) -> TradingNodeConfig:
    node = config.trading_node
    strategies = [
        ImportableStrategyConfig(strategy_path=s.strategy_path, config_path=s.config_path, config=dict(s.config))
        for s in node.strategies
    ]
    return TradingNodeConfig(
        trader_id=config.trader_id,
        logging=LoggingConfig(
            log_level=config.logging.level,
            log_directory=config.logging.log_directory,
            log_level_file=(config.logging.file_level or config.logging.level) if config.logging.log_directory else None,
            log_colors=False,
        ),
        cache=_cache(config),
        data_engine=LiveDataEngineConfig(),
        risk_engine=LiveRiskEngineConfig(),
        exec_engine=LiveExecEngineConfig(
            reconciliation=node.reconciliation.enabled,
            reconciliation_lookback_mins=node.reconciliation.lookback_mins,
        ),
        data_clients={name: DATA_BUILDERS[c.venue](name, c) for name, c in node.data_clients.items()},
        exec_clients={name: EXEC_BUILDERS[c.venue](name, c) for name, c in node.exec_clients.items()},
        strategies=strategies,
        timeout_connection=node.timeouts.connection_secs,
        timeout_reconciliation=node.timeouts.reconciliation_secs,
        timeout_portfolio=node.timeouts.portfolio_secs,
        timeout_disconnection=node.timeouts.disconnection_secs,
        timeout_post_stop=node.timeouts.post_stop_secs,
    )
