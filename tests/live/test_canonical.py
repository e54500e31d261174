"""Canonical ids (ccxt unified symbols), unified venues, products and base-unit quantities."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from nautilus_trader.model.currencies import BTC, ETH, USD, USDT
from nautilus_trader.model.enums import OptionKind
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import CryptoFuture, CryptoOption, CryptoPerpetual, CurrencyPair
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider

from backend.live.canonical import UnsupportedInstrument, base_quantity, canonical_id, product_of
from backend.live.venues import unified_venue

EXPIRY_251226 = int(datetime(2025, 12, 26, 8, tzinfo=UTC).timestamp()) * 1_000_000_000
LISTED = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp()) * 1_000_000_000


def _common(instrument_id: str, size_increment: str = "0.001") -> dict:
    iid = InstrumentId.from_str(instrument_id)
    size = Quantity.from_str(size_increment)
    return dict(instrument_id=iid, raw_symbol=Symbol(iid.symbol.value), price_precision=1,
                size_precision=size.precision, price_increment=Price.from_str("0.1"), size_increment=size,
                ts_event=0, ts_init=0)


def spot(instrument_id: str, base=BTC, quote=USDT) -> CurrencyPair:
    return CurrencyPair(base_currency=base, quote_currency=quote, **_common(instrument_id))


def perpetual(instrument_id: str, base=BTC, quote=USDT, settle=USDT, inverse=False, multiplier="1",
              size_increment="0.001") -> CryptoPerpetual:
    return CryptoPerpetual(base_currency=base, quote_currency=quote, settlement_currency=settle, is_inverse=inverse,
                           multiplier=Quantity.from_str(multiplier), **_common(instrument_id, size_increment))


def future(instrument_id: str, multiplier="1") -> CryptoFuture:
    return CryptoFuture(underlying=BTC, quote_currency=USDT, settlement_currency=USDT, is_inverse=False,
                        activation_ns=LISTED, expiration_ns=EXPIRY_251226, multiplier=Quantity.from_str(multiplier),
                        **_common(instrument_id, "1"))


def option(instrument_id: str, kind: OptionKind, strike: str) -> CryptoOption:
    return CryptoOption(underlying=BTC, quote_currency=USD, settlement_currency=BTC, is_inverse=True,
                        option_kind=kind, strike_price=Price.from_str(strike), activation_ns=LISTED,
                        expiration_ns=EXPIRY_251226, multiplier=Quantity.from_str("0.01"),
                        **_common(instrument_id, "1"))


@pytest.mark.parametrize(("instrument", "expected", "product"), [
    (TestInstrumentProvider.btcusdt_binance(), "BTC/USDT", "spot"),
    (TestInstrumentProvider.ethusdt_binance(), "ETH/USDT", "spot"),
    (TestInstrumentProvider.btcusdt_perp_binance(), "BTC/USDT:USDT", "perpetual"),
    (TestInstrumentProvider.xrpusdt_linear_bybit(), "XRP/USDT:USDT", "perpetual"),
    (TestInstrumentProvider.xbtusd_bitmex(), "BTC/USD:BTC", "perpetual"),
    (TestInstrumentProvider.btcusdt_future_binance(), "BTC/USDT:USDT-220325", "future"),
    (TestInstrumentProvider.crypto_option(), "BTC/USD:BTC-230113-16000-P", "option"),
    (TestInstrumentProvider.aapl_option(), "AAPL/USD:USD-211217-149-C", "option"),  # OptionContract: str underlying
    (TestInstrumentProvider.es_future(2024, 3), "ES/USD:USD-240315", "future"),
    (perpetual("BTCUSDT-PERP.BINANCE_FUTURES"), "BTC/USDT:USDT", "perpetual"),
    (spot("BTCUSDT-SPOT.BYBIT"), "BTC/USDT", "spot"),
    (perpetual("BTCUSDT-LINEAR.BYBIT"), "BTC/USDT:USDT", "perpetual"),
    (spot("BTC-USDT.OKX"), "BTC/USDT", "spot"),
    (perpetual("BTC-USDT-SWAP.OKX", multiplier="0.01", size_increment="0.01"), "BTC/USDT:USDT", "perpetual"),
    (perpetual("ETH-USDT-SWAP.OKX", base=ETH, multiplier="0.1"), "ETH/USDT:USDT", "perpetual"),
    (perpetual("BTC-USD-SWAP.OKX", quote=USD, settle=BTC, inverse=True, multiplier="100"), "BTC/USD:BTC", "perpetual"),
    (future("BTC-USDT-251226.OKX", multiplier="0.01"), "BTC/USDT:USDT-251226", "future"),
    (option("BTC-USD-251226-50000-C.OKX", OptionKind.CALL, "50000.0"), "BTC/USD:BTC-251226-50000-C", "option"),
    (option("BTC-USD-251226-2500.5-P.OKX", OptionKind.PUT, "2500.5"), "BTC/USD:BTC-251226-2500.5-P", "option"),
], ids=lambda value: str(value.id) if hasattr(value, "id") else None)
def test_canonical_id_and_product(instrument, expected, product):
    assert canonical_id(instrument) == expected
    assert product_of(instrument) == product


def test_same_market_on_every_venue_shares_one_canonical_id():
    linear = [TestInstrumentProvider.btcusdt_perp_binance(), perpetual("BTCUSDT-LINEAR.BYBIT"),
              perpetual("BTC-USDT-SWAP.OKX", multiplier="0.01")]
    spots = [TestInstrumentProvider.btcusdt_binance(), spot("BTCUSDT-SPOT.BYBIT"), spot("BTC-USDT.OKX")]
    assert {canonical_id(i) for i in linear} == {"BTC/USDT:USDT"}
    assert {canonical_id(i) for i in spots} == {"BTC/USDT"}


def test_okx_swap_contracts_convert_to_base_units_with_ct_val():
    swap = perpetual("BTC-USDT-SWAP.OKX", multiplier="0.01", size_increment="0.01")
    assert base_quantity(swap, Decimal(3)) == Decimal("0.03")
    assert base_quantity(perpetual("ETH-USDT-SWAP.OKX", base=ETH, multiplier="0.1"), Decimal("2.5")) == Decimal("0.25")


@pytest.mark.parametrize("instrument", [
    TestInstrumentProvider.btcusdt_binance(),
    TestInstrumentProvider.btcusdt_perp_binance(),
    TestInstrumentProvider.xrpusdt_linear_bybit(),
    spot("BTCUSDT-SPOT.BYBIT"),
    spot("BTC-USDT.OKX"),
], ids=lambda i: str(i.id))
def test_quantities_already_in_base_units_are_unchanged(instrument):
    assert base_quantity(instrument, Decimal("0.123")) == Decimal("0.123")


def test_equity_options_convert_contracts_with_their_multiplier():
    assert base_quantity(TestInstrumentProvider.aapl_option(), Decimal(2)) == Decimal(200)


def test_inverse_contracts_give_their_usd_face_value():
    okx_inverse = perpetual("BTC-USD-SWAP.OKX", quote=USD, settle=BTC, inverse=True, multiplier="100")
    assert base_quantity(okx_inverse, Decimal(3)) == Decimal(300)
    assert base_quantity(TestInstrumentProvider.xbtusd_bitmex(), Decimal(250)) == Decimal(250)


def test_quantities_stay_exact_decimals():
    swap = perpetual("BTC-USDT-SWAP.OKX", multiplier="0.01")
    result = base_quantity(swap, Decimal("0.1") + Decimal("0.2"))
    assert isinstance(result, Decimal)
    assert result == Decimal("0.003")


@pytest.mark.parametrize(("venue", "expected"), [
    ("BINANCE_FUTURES", "BINANCE"), ("BINANCE", "BINANCE"), ("BYBIT", "BYBIT"), ("OKX", "OKX"),
])
def test_unified_venue(venue, expected):
    assert unified_venue(venue) == expected


def test_instruments_without_a_canonical_form_are_rejected_with_their_id():
    with pytest.raises(UnsupportedInstrument, match="BETFAIR.*SPORTS_BETTING"):
        canonical_id(TestInstrumentProvider.betting_instrument())
