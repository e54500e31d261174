"""Guards of the shims under ``backend/live/adapters/``: each test fails loudly when a NautilusTrader upgrade changes
what a shim relies on (then the shim must be revisited, or dropped when upstream fixed the bug).

The clients are built offline through the real factories (constructing them opens no connection)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.adapters.binance.execution import BinanceCommonExecutionClient
from nautilus_trader.adapters.binance.factories import BinanceLiveExecClientFactory
from nautilus_trader.adapters.binance.futures.execution import BinanceFuturesExecutionClient
from nautilus_trader.adapters.binance.spot.execution import BinanceSpotExecutionClient
from nautilus_trader.adapters.bybit import config as bybit_config
from nautilus_trader.adapters.bybit.data import BybitDataClient
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.core import nautilus_pyo3
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import LiquiditySide, OrderSide
from nautilus_trader.model.identifiers import AccountId, InstrumentId, TradeId, TraderId, VenueOrderId
from nautilus_trader.model.objects import Money, Price, Quantity

from backend.live.adapters.binance import (
    BinanceUniqueFillsExecClientFactory,
    UniqueFillsBinanceFuturesExecutionClient,
    unique_fill_reports,
)
from backend.live.adapters.bybit import PRODUCT_PATHS, BybitPublicWsDataClientFactory
from backend.live.config.schema import Endpoints, VenueClient
from backend.live.config.secrets import Secret
from backend.live.venues import VENUES


@pytest.fixture
def components() -> Iterator[dict[str, Any]]:
    loop = asyncio.new_event_loop()
    clock = LiveClock()
    yield {"loop": loop, "msgbus": MessageBus(TraderId("GUARD-001"), clock), "cache": Cache(), "clock": clock}
    loop.close()


def _client(venue: str, *products: str) -> VenueClient:
    return VenueClient(venue=venue, products=products, api_key=Secret("key"), api_secret=Secret("secret"),
                       endpoints=Endpoints(http="http://127.0.0.1:9", ws_public="ws://127.0.0.1:9/v5/public"))


# -- adapters/bybit.py: public WebSocket clients rebuilt with the configured URL ---------------------------------------


def test_bybit_data_client_still_keeps_its_public_ws_clients_in_ws_clients_built_from_the_http_url() -> None:
    source = inspect.getsource(BybitDataClient.__init__)
    assert "self._ws_clients" in source and "BybitWebSocketClient.new_public(" in source
    # The bug the shim works around; when this fails, upstream may have fixed it: check and drop the shim.
    assert "url=config.base_url_http" in source
    for method in (BybitDataClient._connect, BybitDataClient._disconnect):
        assert "self._ws_clients" in inspect.getsource(method)


def test_bybit_environment_resolver_and_public_client_constructor_keep_their_signatures() -> None:
    assert list(inspect.signature(bybit_config._resolve_environment).parameters) == ["environment"]
    assert bybit_config._resolve_environment(nautilus_pyo3.BybitEnvironment.TESTNET) \
        == nautilus_pyo3.BybitEnvironment.TESTNET
    parameters = nautilus_pyo3.BybitWebSocketClient.new_public.__text_signature__
    assert all(name in parameters for name in ("product_type", "environment", "url", "proxy_url")), parameters
    assert {p.value for p in PRODUCT_PATHS} == set(PRODUCT_PATHS.values())  # the URL path is the product's value
    assert hasattr(nautilus_pyo3.BybitWebSocketClient, "set_bars_timestamp_on_close")


def test_bybit_factory_replaces_one_public_ws_client_per_product(components) -> None:
    spec = VENUES["BYBIT"]
    config = spec.data_config("BYBIT", _client("BYBIT", "SPOT", "LINEAR"))
    client = BybitPublicWsDataClientFactory.create(name="BYBIT", config=config, **components)
    assert type(client) is BybitDataClient
    assert set(client._ws_clients) == {nautilus_pyo3.BybitProductType.SPOT, nautilus_pyo3.BybitProductType.LINEAR}
    assert all(isinstance(ws, nautilus_pyo3.BybitWebSocketClient) for ws in client._ws_clients.values())


# -- adapters/binance.py: USDT-M futures fill reports de-duplicated -----------------------------------------------------


def _binance_clients(factory: type, components: dict[str, Any]) -> tuple[Any, Any]:
    """(futures client, spot client) as ``factory`` creates them."""
    spec = VENUES["BINANCE"]
    return tuple(
        factory.create(name=name, config=spec.exec_config(name, _client("BINANCE", product)), **components)
        for name, product in (("BINANCE_FUTURES", "USDT_FUTURES"), ("BINANCE_SPOT", "SPOT"))
    )


def test_binance_stock_factory_returns_exactly_the_classes_the_shim_expects(components) -> None:
    futures, spot = _binance_clients(BinanceLiveExecClientFactory, components)
    assert type(futures) is BinanceFuturesExecutionClient and type(spot) is BinanceSpotExecutionClient
    method = BinanceCommonExecutionClient.generate_fill_reports
    assert inspect.iscoroutinefunction(method) and list(inspect.signature(method).parameters) == ["self", "command"]
    assert "generate_fill_reports" not in BinanceFuturesExecutionClient.__dict__  # nothing between us and the base


def test_binance_factory_of_ours_switches_only_futures_clients_and_keeps_the_instance(components) -> None:
    futures, spot = _binance_clients(BinanceUniqueFillsExecClientFactory, components)
    assert type(futures) is UniqueFillsBinanceFuturesExecutionClient
    assert isinstance(futures, BinanceFuturesExecutionClient)
    assert (futures.id.value, futures.venue.value) == ("BINANCE_FUTURES", "BINANCE_FUTURES")
    assert type(spot) is BinanceSpotExecutionClient


def _fill(trade_id: str, symbol: str = "BTCUSDT-PERP.BINANCE_FUTURES") -> FillReport:
    return FillReport(
        account_id=AccountId("BINANCE_FUTURES-001"), instrument_id=InstrumentId.from_str(symbol),
        venue_order_id=VenueOrderId("1"), trade_id=TradeId(trade_id), order_side=OrderSide.BUY,
        last_qty=Quantity.from_str("0.001"), last_px=Price.from_str("50000.0"),
        commission=Money(Decimal("0.01"), USDT),
        liquidity_side=LiquiditySide.TAKER, report_id=UUID4(), ts_event=0, ts_init=0,
    )


def test_unique_fill_reports_keeps_the_first_of_each_trade_in_order() -> None:
    reports = [_fill("1"), _fill("2"), _fill("1"), _fill("1", "ETHUSDT-PERP.BINANCE_FUTURES")]
    assert [(r.trade_id.value, r.instrument_id.symbol.value) for r in unique_fill_reports(reports)] == [
        ("1", "BTCUSDT-PERP"), ("2", "BTCUSDT-PERP"), ("1", "ETHUSDT-PERP")]
    assert unique_fill_reports(reports)[0] is reports[0]


def test_switch_class_changes_only_exact_stock_clients_and_refuses_a_replacement_that_is_not_a_subclass() -> None:
    import pytest

    from backend.live.adapters.class_switch import switch_class

    class Stock:
        pass

    class Derived(Stock):
        pass

    class Ours(Stock):
        pass

    assert type(switch_class(Stock(), Stock, Ours)) is Ours
    assert type(switch_class(Derived(), Stock, Ours)) is Derived  # someone else's subclass: left alone
    with pytest.raises(TypeError, match="must subclass Stock"):
        switch_class(Stock(), Stock, Derived.__mro__[-1])
