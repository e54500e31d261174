"""What each venue is, in one place: one ``VenueSpec`` per venue that the config rules, the ``TradingNodeConfig``
builder, the node and the unified tables all read. Adding a venue is adding a spec to ``VENUES``.

A spec holds what a client of the venue may configure (products, environments, key types, passphrase), the
NautilusTrader client factories the node registers (ours under ``backend/live/adapters/`` where the stock one needs
a fix), the functions that turn a configured client into the adapter's own frozen config class (nothing else in the
project knows the adapters' field names), and the venue routing.

Venue routing: NautilusTrader's execution engine routes orders by venue, so Binance spot and USDT-M futures cannot
both be ``BINANCE`` in one node. Spot keeps ``BINANCE`` (instrument ids ``BTCUSDT.BINANCE``) and futures run as
``BINANCE_FUTURES`` (``BTCUSDT-PERP.BINANCE_FUTURES``); the unified tables record both as venue BINANCE
(``unified_venue``). ``routing_venue`` is the one place that decides it.

The ``client`` the builders take is a ``backend.live.config.schema.VenueClient`` (not imported here: the schema
reads this module for its rules).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nautilus_trader.adapters.binance.common.enums import BinanceAccountType, BinanceEnvironment, BinanceKeyType
from nautilus_trader.adapters.binance.config import BinanceDataClientConfig, BinanceExecClientConfig
from nautilus_trader.adapters.binance.factories import BinanceLiveDataClientFactory
from nautilus_trader.adapters.bybit.config import BybitExecClientConfig
from nautilus_trader.adapters.okx.config import OKXDataClientConfig, OKXExecClientConfig
from nautilus_trader.adapters.okx.factories import OKXLiveDataClientFactory, OKXLiveExecClientFactory
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.nautilus_pyo3 import BybitEnvironment, BybitProductType, OKXEnvironment, OKXInstrumentType
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory
from nautilus_trader.model.identifiers import Venue

from backend.live.adapters.binance_user_stream import BinanceUserStreamExecClientFactory
from backend.live.adapters.bybit import BybitPublicWsDataClientConfig, BybitPublicWsDataClientFactory
from backend.live.adapters.bybit_exec import BybitAcceptReportsExecClientFactory

ConfigBuilder = Callable[[str, Any], Any]  # (client name, VenueClient) -> the adapter's client config


class NodeConfigError(ValueError):
    """A config that validated but cannot be turned into adapter configs; names the client and field."""


@dataclass(frozen=True)
class VenueSpec:
    name: str  # the config's ``venue`` and the unified tables' venue
    products: tuple[str, ...]  # what one client may trade
    environments: tuple[str, ...]  # the config's ``environment`` values the adapter supports
    data_factory: type[LiveDataClientFactory]
    exec_factory: type[LiveExecClientFactory]
    data_config: ConfigBuilder
    exec_config: ConfigBuilder
    single_product: bool = False  # one product per client (separate APIs per product)
    key_types: tuple[str, ...] = ("hmac",)
    needs_passphrase: bool = False
    product_venues: Mapping[str, str] = field(default_factory=dict)  # product -> routing venue other than ``name``

    def routing_venue(self, products: tuple[str, ...]) -> str:
        """The NautilusTrader venue a client trading ``products`` routes under (and its instrument ids end with)."""
        return self.product_venues.get(products[0], self.name) if products else self.name

    @property
    def routing_venues(self) -> tuple[str, ...]:
        return (self.name, *self.product_venues.values())


# -- adapter config builders -------------------------------------------------------------------------------------------


def _secret(value: Any) -> str | None:
    return None if value is None else value.get()


def _provider(client: Any) -> InstrumentProviderConfig:
    return InstrumentProviderConfig(
        load_all=client.load_all,
        load_ids=frozenset(client.instrument_ids) if client.instrument_ids else None,
    )


def _options(name: str, client: Any, config_class: type, **fields: Any) -> Any:
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


def _common(client: Any) -> dict[str, Any]:
    """The fields every venue's adapter config has under the same name."""
    return {
        "api_key": _secret(client.api_key),
        "api_secret": _secret(client.api_secret),
        "base_url_http": client.endpoints.http,
        "instrument_provider": _provider(client),
    }


def _binance_common(client: Any) -> dict[str, Any]:
    return {
        **_common(client),
        "venue": Venue(routing_venue(client)),
        "key_type": BinanceKeyType.ED25519 if client.key_type == "ed25519" else BinanceKeyType.HMAC,
        "account_type": BinanceAccountType[client.products[0]],
        "environment": BinanceEnvironment[client.environment.upper()],
    }


def binance_data(name: str, client: Any) -> BinanceDataClientConfig:
    return _options(name, client, BinanceDataClientConfig, **_binance_common(client), base_url_ws=client.endpoints.ws_public)


def binance_exec(name: str, client: Any) -> BinanceExecClientConfig:
    return _options(
        name, client, BinanceExecClientConfig, **_binance_common(client),
        base_url_ws=client.endpoints.ws_private,  # the WebSocket API (session.logon, user data)
        base_url_ws_stream=client.endpoints.ws_user_stream,  # futures listenKey stream
    )


_BYBIT_ENV = {"live": BybitEnvironment.MAINNET, "testnet": BybitEnvironment.TESTNET, "demo": BybitEnvironment.DEMO}


def _bybit_common(client: Any) -> dict[str, Any]:
    return {
        **_common(client),
        "product_types": tuple(getattr(BybitProductType, p) for p in client.products),
        "environment": _BYBIT_ENV[client.environment],
    }


def bybit_data(name: str, client: Any) -> BybitPublicWsDataClientConfig:
    return _options(
        name, client, BybitPublicWsDataClientConfig, **_bybit_common(client), base_url_ws_public=client.endpoints.ws_public
    )


def bybit_exec(name: str, client: Any) -> BybitExecClientConfig:
    return _options(
        name, client, BybitExecClientConfig, **_bybit_common(client),
        base_url_ws_private=client.endpoints.ws_private, base_url_ws_trade=client.endpoints.ws_trade,
    )


# OKX has no separate testnet: its demo trading environment is the paper-trading one.
_OKX_ENV = {"live": OKXEnvironment.LIVE, "testnet": OKXEnvironment.DEMO, "demo": OKXEnvironment.DEMO}


def _okx_common(client: Any) -> dict[str, Any]:
    return {
        **_common(client),
        "api_passphrase": _secret(client.passphrase),
        "instrument_types": tuple(getattr(OKXInstrumentType, p) for p in client.products),
        "environment": _OKX_ENV[client.environment],
    }


def okx_data(name: str, client: Any) -> OKXDataClientConfig:
    return _options(name, client, OKXDataClientConfig, **_okx_common(client), base_url_ws=client.endpoints.ws_public)


def okx_exec(name: str, client: Any) -> OKXExecClientConfig:
    return _options(name, client, OKXExecClientConfig, **_okx_common(client), base_url_ws=client.endpoints.ws_private)


# -- the venues --------------------------------------------------------------------------------------------------------

VENUES: dict[str, VenueSpec] = {spec.name: spec for spec in (
    VenueSpec(
        name="BINANCE", products=("SPOT", "USDT_FUTURES"), environments=("live", "testnet"),
        data_factory=BinanceLiveDataClientFactory, exec_factory=BinanceUserStreamExecClientFactory,
        data_config=binance_data, exec_config=binance_exec,
        single_product=True,  # spot and USDT-M futures are separate Binance APIs: one per client
        key_types=("hmac", "ed25519"), product_venues={"USDT_FUTURES": "BINANCE_FUTURES"},
    ),
    VenueSpec(
        name="BYBIT", products=("SPOT", "LINEAR"), environments=("live", "testnet", "demo"),
        data_factory=BybitPublicWsDataClientFactory, exec_factory=BybitAcceptReportsExecClientFactory,
        data_config=bybit_data, exec_config=bybit_exec,
    ),
    VenueSpec(
        name="OKX", products=("SPOT", "SWAP"), environments=("live", "demo"),
        data_factory=OKXLiveDataClientFactory, exec_factory=OKXLiveExecClientFactory,
        data_config=okx_data, exec_config=okx_exec, needs_passphrase=True,
    ),
)}

# Every product any venue offers, in the order the venues list them (the config schema's ``Product`` values).
ALL_PRODUCTS: tuple[str, ...] = tuple(dict.fromkeys(p for spec in VENUES.values() for p in spec.products))

# NautilusTrader routing venue -> the venue the unified tables record (one row per exchange).
UNIFIED_VENUES: dict[str, str] = {routed: spec.name for spec in VENUES.values() for routed in spec.routing_venues}


def routing_venue(client: Any) -> str:
    """The NautilusTrader venue a configured client trades under (see the module note)."""
    return VENUES[client.venue].routing_venue(client.products)


def unified_venue(venue: str) -> str:
    """``BINANCE_FUTURES`` -> ``BINANCE``; every other venue unchanged."""
    return UNIFIED_VENUES.get(venue, venue)
