"""Venue-independent names and units for NautilusTrader instruments (pure, no I/O).

Canonical ids follow ccxt's unified symbols, so the same market on different venues gets the same id:

- spot ``BTC/USDT``;  linear perpetual ``BTC/USDT:USDT``;  inverse perpetual ``BTC/USD:BTC``
- dated future ``BTC/USDT:USDT-251226`` (expiry date, UTC, YYMMDD)
- option ``BTC/USD:BTC-251226-50000-C`` (expiry, strike without trailing zeros, C/P)

Quantities: NautilusTrader keeps order and position sizes in the venue's units. Binance and Bybit size spot and
linear contracts in the base asset (the adapters leave ``multiplier`` at 1); OKX sizes SWAP/FUTURES/OPTION in
contracts and its parser sets ``multiplier = ctVal * ctMult`` (BTC-USDT-SWAP: 0.01 BTC per contract), so
``base_quantity`` = quantity x multiplier gives base units for every linear instrument. Inverse contracts are sized
in the quote currency (USD per contract: OKX BTC-USD-SWAP ctVal = 100 USD, Bybit BTCUSD = 1 USD): converting them
to base units needs a price, so for them ``base_quantity`` returns the USD face value (quantity x multiplier) and
their canonical id (``BTC/USD:BTC``) keeps them apart from linear positions in another unit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from nautilus_trader.model.enums import InstrumentClass, OptionKind
from nautilus_trader.model.instruments import Instrument

PRODUCTS = {
    InstrumentClass.SPOT: "spot",
    InstrumentClass.SWAP: "perpetual",
    InstrumentClass.FUTURE: "future",
    InstrumentClass.OPTION: "option",
}


class UnsupportedInstrument(ValueError):
    """An instrument class with no canonical form (spreads, betting, CFDs, ...)."""


def product_of(instrument: Instrument) -> str:
    """``spot`` | ``perpetual`` | ``future`` | ``option``."""
    product = PRODUCTS.get(instrument.instrument_class)
    if product is None:
        raise UnsupportedInstrument(
            f"{instrument.id}: no canonical id for {instrument.instrument_class.name} instruments")
    return product


def _base_code(instrument: Instrument) -> str:
    """Base asset: ``base_currency`` for pairs and perpetuals, ``underlying`` (a Currency or, for TradFi, a str) for
    futures and options, the raw symbol for an equity."""
    underlying = getattr(instrument, "underlying", None)
    if underlying is not None:
        return underlying if isinstance(underlying, str) else underlying.code
    base = instrument.get_base_currency()
    return base.code if base is not None else instrument.raw_symbol.value


def _expiry(instrument: Instrument) -> str:
    return datetime.fromtimestamp(instrument.expiration_ns // 1_000_000_000, tz=UTC).strftime("%y%m%d")


def _plain(value: Decimal) -> str:
    """50000.00 -> ``50000``, 0.50 -> ``0.5`` (no exponent)."""
    return format(value.normalize(), "f")


def canonical_id(instrument: Instrument) -> str:
    """The ccxt-style unified symbol of ``instrument`` (see the module docstring)."""
    product = product_of(instrument)
    pair = f"{_base_code(instrument)}/{instrument.quote_currency.code}"
    if product == "spot":
        return pair
    contract = f"{pair}:{instrument.get_settlement_currency().code}"
    if product == "perpetual":
        return contract
    if product == "future":
        return f"{contract}-{_expiry(instrument)}"
    kind = "C" if instrument.option_kind == OptionKind.CALL else "P"
    return f"{contract}-{_expiry(instrument)}-{_plain(instrument.strike_price.as_decimal())}-{kind}"


def base_quantity(instrument: Instrument, quantity: Decimal) -> Decimal:
    """``quantity`` in the venue's units -> base-asset units (USD face value for inverse contracts)."""
    return quantity * instrument.multiplier.as_decimal()
