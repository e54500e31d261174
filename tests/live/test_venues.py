"""One VenueSpec per venue: what the config accepts, how clients route, and the adapter configs built from it."""

from __future__ import annotations

import typing

import pytest
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory

from backend.live.config.schema import Product, VenueClient, VenueName
from backend.live.config.secrets import Secret
from backend.live.venues import ALL_PRODUCTS, UNIFIED_VENUES, VENUES, NodeConfigError, routing_venue, unified_venue


def client(venue: str, *products: str, **fields: object) -> VenueClient:
    return VenueClient(venue=venue, products=products, api_key=Secret("key"), api_secret=Secret("secret"),
                       passphrase=Secret("pass"), **fields)


def test_the_config_schema_takes_its_venues_and_products_from_the_specs() -> None:
    assert typing.get_args(VenueName) == tuple(VENUES) == ("BINANCE", "BYBIT", "OKX")
    assert typing.get_args(Product) == ALL_PRODUCTS == ("SPOT", "USDT_FUTURES", "LINEAR", "SWAP")


@pytest.mark.parametrize("spec", VENUES.values(), ids=list(VENUES))
def test_every_venue_has_nautilus_factories_and_builders(spec) -> None:
    assert issubclass(spec.data_factory, LiveDataClientFactory)
    assert issubclass(spec.exec_factory, LiveExecClientFactory)
    configured = client(spec.name, spec.products[0], environment=spec.environments[0])
    assert spec.data_config("C", configured).instrument_provider.load_all
    assert spec.exec_config("C", configured).api_key == "key"


@pytest.mark.parametrize(("venue", "products", "routed"), [
    ("BINANCE", ("SPOT",), "BINANCE"),
    ("BINANCE", ("USDT_FUTURES",), "BINANCE_FUTURES"),
    ("BYBIT", ("SPOT", "LINEAR"), "BYBIT"),
    ("OKX", ("SWAP",), "OKX"),
])
def test_routing_venue_and_back(venue, products, routed) -> None:
    assert routing_venue(client(venue, *products)) == routed
    assert unified_venue(routed) == venue


def test_the_binance_futures_client_is_built_for_its_routing_venue() -> None:
    config = VENUES["BINANCE"].exec_config("BINANCE_FUTURES", client("BINANCE", "USDT_FUTURES"))
    assert (config.venue.value, config.account_type) == ("BINANCE_FUTURES", BinanceAccountType.USDT_FUTURES)
    assert UNIFIED_VENUES["BINANCE_FUTURES"] == "BINANCE"


def test_an_unknown_adapter_option_names_the_client_and_field() -> None:
    with pytest.raises(NodeConfigError, match=r"clients\.OKX\.adapter_options\.no_such: OKXExecClientConfig"):
        VENUES["OKX"].exec_config("OKX", client("OKX", "SPOT", adapter_options={"no_such": 1}))
