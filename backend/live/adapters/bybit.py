"""Bybit data client factory that can reach a configured public-stream WebSocket URL.

In NautilusTrader 1.231.0 ``BybitDataClient.__init__`` builds one public WebSocket client per product type with
``url=config.base_url_http``: with a custom HTTP URL the public streams get an ``http://`` URL ("expected ws://
scheme"), and without one there is no way to point them anywhere but the real venue.

The real venue serves each product on its own path: ``wss://stream.bybit.com/v5/public/{spot,linear,inverse,option}``.
``BybitPublicWsDataClientConfig.base_url_ws_public`` is that common base (e.g. ``ws://127.0.0.1:8080/v5/public``);
the factory connects each configured product type to ``{base_url_ws_public}/{product}``. Left ``None``, every
product uses NautilusTrader's default URL for the configured environment (the real venue), as the stock client
would if it did not pass the HTTP URL.

The fix is confined to the factory: it builds the stock ``BybitDataClient`` and then replaces its public WebSocket
clients (created but not yet connected) by ones built with the right URL. ``BybitDataClient`` itself is unchanged.
"""

from __future__ import annotations

import asyncio

from nautilus_trader.adapters.bybit.config import BybitDataClientConfig, _resolve_environment
from nautilus_trader.adapters.bybit.data import BybitDataClient
from nautilus_trader.adapters.bybit.factories import BybitLiveDataClientFactory
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.core import nautilus_pyo3

PRODUCT_PATHS: dict[nautilus_pyo3.BybitProductType, str] = {
    nautilus_pyo3.BybitProductType.SPOT: "spot",
    nautilus_pyo3.BybitProductType.LINEAR: "linear",
    nautilus_pyo3.BybitProductType.INVERSE: "inverse",
    nautilus_pyo3.BybitProductType.OPTION: "option",
}


class BybitPublicWsDataClientConfig(BybitDataClientConfig, frozen=True):
    """``BybitDataClientConfig`` plus the public-stream base URL.

    Parameters
    ----------
    base_url_ws_public : str, optional
        Base of the public WebSocket streams without the product segment, e.g. ``wss://stream.bybit.com/v5/public``
        or ``ws://127.0.0.1:8080/v5/public``; each product type connects to ``{base}/{spot|linear|inverse|option}``.
        ``None`` uses NautilusTrader's default URL for the environment.
    """

    base_url_ws_public: str | None = None

    def __post_init__(self) -> None:
        if self.base_url_ws_public is not None:
            public_ws_base(self.base_url_ws_public)  # validates


def public_ws_base(url: str) -> str:
    """The validated base URL without a trailing slash; raises ValueError naming the field and the cause."""
    base = url.rstrip("/")
    if not base.startswith(("ws://", "wss://")):
        raise ValueError(f"base_url_ws_public must start with ws:// or wss://, was {url!r}")
    last_segment = base.rsplit("/", 1)[-1]
    if last_segment in PRODUCT_PATHS.values():
        raise ValueError(
            f"base_url_ws_public must not include the product segment ({last_segment!r}): give the common base, "
            f"e.g. {base.rsplit('/', 1)[0]!r}; each product type connects to <base>/<product>"
        )
    return base


def public_ws_url(base_url_ws_public: str, product_type: nautilus_pyo3.BybitProductType) -> str:
    """The public stream URL of one product type under ``base_url_ws_public``."""
    return f"{public_ws_base(base_url_ws_public)}/{PRODUCT_PATHS[product_type]}"


class BybitPublicWsDataClientFactory(BybitLiveDataClientFactory):
    """``BybitLiveDataClientFactory`` whose public WebSocket clients use ``config.base_url_ws_public``."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BybitDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> BybitDataClient:
        client = BybitLiveDataClientFactory.create(loop, name, config, msgbus, cache, clock)
        base_url = getattr(config, "base_url_ws_public", None)
        environment = _resolve_environment(config.environment)
        for product_type in list(client._ws_clients):
            ws_client = nautilus_pyo3.BybitWebSocketClient.new_public(
                product_type=product_type,
                environment=environment,
                url=None if base_url is None else public_ws_url(base_url, product_type),
                proxy_url=config.proxy_url,
            )
            ws_client.set_bars_timestamp_on_close(config.bars_timestamp_on_close)
            client._ws_clients[product_type] = ws_client
        return client
