"""What the Bybit protocol handlers share: the two markets of one unified account, authentication, request parsing
and the order operations REST and the trade WebSocket both offer.

Bybit's unified trading account trades spot (``category=spot``) and USDT perpetuals (``category=linear``) from one
wallet: the runtime's ``spot`` and ``linear`` exchanges share each account's ledger, so a wallet view reads the
balances from either and the margin figures from ``linear``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.simulator.core.errors import SimError
from backend.simulator.core.events import OrderUpdate
from backend.simulator.core.funding import FundingPayment
from backend.simulator.core.instruments import SimInstrument
from backend.simulator.core.matching import SimExchange
from backend.simulator.core.orders import SimFill, SimOrder
from backend.simulator.runtime import VenueRuntime
from backend.simulator.venues.bybit import errors, payloads
from backend.simulator.venues.bybit.funding import funding_execution_item
from backend.simulator.venues.bybit.payloads import Category
from backend.simulator.venues.bybit.signing import Authenticator

CATEGORIES: tuple[Category, ...] = ("spot", "linear")
SIDES = {"Buy": "BUY", "Sell": "SELL"}
TIMES_IN_FORCE = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "PostOnly": "GTX"}
USD_STABLE = ("USDT", "USDC", "USD")


class BybitVenue:
    """The simulated Bybit venue as the protocol handlers see it."""

    def __init__(self, runtime: VenueRuntime) -> None:
        self.exchanges: dict[Category, SimExchange] = {c: runtime.exchanges[c] for c in CATEGORIES}
        self.clock = runtime.clock
        self.faults = runtime.faults
        self.auth = Authenticator(runtime.credentials, self.clock.now_ms)
        self._seq = itertools.count(1)
        self._connections = itertools.count(1)
        self._position_created: dict[tuple[str, str], int] = {}

    # -- identities ------------------------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def next_seq(self) -> int:
        return next(self._seq)

    def new_conn_id(self, kind: str) -> str:
        return f"sim-{kind}-{next(self._connections)}"

    # -- lookups ---------------------------------------------------------------------------------------------------

    def exchange(self, category: object) -> SimExchange:
        if category not in CATEGORIES:
            raise errors.parameter_error(f"category must be one of {', '.join(CATEGORIES)}, got {category!r}")
        return self.exchanges[category]  # type: ignore[index]

    def instrument(self, category: Category, symbol: object) -> SimInstrument:
        if not isinstance(symbol, str) or not symbol:
            raise errors.parameter_error("symbol is required")
        try:
            return self.exchange(category).instrument(symbol)
        except SimError as error:
            raise errors.from_sim_error(error, category) from None

    def category_of(self, exchange_name: str) -> Category:
        for category, exchange in self.exchanges.items():
            if exchange.name == exchange_name:
                return category
        raise KeyError(exchange_name)

    # -- views -----------------------------------------------------------------------------------------------------

    def order_item(self, category: Category, order: SimOrder, cancel_type: str = "UNKNOWN") -> dict[str, Any]:
        instrument = self.exchanges[category].instruments[order.symbol]
        return payloads.order_item(order, instrument, category, cancel_type)

    def execution_item(self, category: Category, fill: SimFill, order: SimOrder) -> dict[str, Any]:
        exchange = self.exchanges[category]
        instrument = exchange.instruments[fill.symbol]
        mark = exchange.markets[fill.symbol].last_price if instrument.is_perpetual else None
        return payloads.execution_item(
            fill, order, instrument, category, exchange.fees.rate(fill.is_maker), mark, self.next_seq()
        )

    def position_item(self, account_id: str, symbol: str) -> dict[str, Any]:
        position = self.exchanges["linear"].position(account_id, symbol)
        created = self._position_created.setdefault((account_id, symbol), position.updated_ms)
        return payloads.position_item(position, self.next_seq(), created)

    def wallet_item(self, account_id: str, coins: frozenset[str] | None = None) -> dict[str, Any]:
        linear = self.exchanges["linear"].account(account_id)
        balances = [b for asset, b in sorted(linear.balances.items()) if coins is None or asset in coins]
        realized: dict[str, Decimal] = {}
        for position in linear.positions.values():
            realized[position.settle_asset] = realized.get(position.settle_asset, Decimal(0)) + position.realized_pnl
        order_margin: dict[str, Decimal] = {}
        for order in self.exchanges["linear"].open_orders(account_id):
            if order.locked_amount:
                held = order_margin.get(order.locked_asset, Decimal(0))
                order_margin[order.locked_asset] = held + order.locked_amount
        return payloads.wallet_item(balances, linear.margins, order_margin, self.usd_prices(), realized)

    def usd_prices(self) -> dict[str, Decimal]:
        """USD value of one unit of each asset: stablecoins 1, others the last price of their USDT spot market."""
        prices = {asset: Decimal(1) for asset in USD_STABLE}
        for category in ("linear", "spot"):
            exchange = self.exchanges[category]
            for symbol, instrument in exchange.instruments.items():
                if instrument.quote_asset in USD_STABLE:
                    prices[instrument.base_asset] = exchange.markets[symbol].last_price
        return prices

    def ticker_item(self, category: Category, symbol: str) -> dict[str, Any]:
        exchange = self.exchanges[category]
        book = exchange.book(symbol)
        schedule = exchange.funding
        next_funding = schedule.next_ms if schedule is not None else 0
        item = payloads.ticker_item(category, symbol, book.last_price, book.bids[0], book.asks[0], next_funding)
        if schedule is not None:
            item["fundingRate"] = payloads.num(schedule.rate(symbol))
            item["fundingIntervalHour"] = str(max(1, schedule.interval_ms // 3_600_000))
        return item

    def funding_item(self, payment: FundingPayment) -> dict[str, Any]:
        """A funding settlement as an ``execType=Funding`` execution (REST list and the ``execution`` topic)."""
        contract_size = self.exchanges["linear"].instruments[payment.symbol].contract_size
        return funding_execution_item(payment, contract_size, self.next_seq())

    # -- order operations (REST /v5/order/* and trade WS order.*) ---------------------------------------------------

    def place_order(self, account_id: str, args: Mapping[str, Any]) -> dict[str, str]:
        """``order.create``: the new order's ``orderId`` / ``orderLinkId``; raises BybitApiError, changing nothing."""
        category = self._category(args)
        symbol = self.instrument(category, args.get("symbol")).symbol
        side = SIDES.get(args.get("side"))  # type: ignore[arg-type]
        if side is None:
            raise errors.parameter_error(f"side must be Buy or Sell, got {args.get('side')!r}")
        order_type = args.get("orderType")
        if order_type not in ("Market", "Limit"):
            raise errors.parameter_error(f"orderType must be Market or Limit, got {order_type!r}")
        if category == "spot" and order_type == "Market" and args.get("marketUnit", "baseCoin") != "baseCoin":
            raise errors.parameter_error("marketUnit quoteCoin is not supported by the simulator; send baseCoin")
        if _flag(args.get("isLeverage")):
            raise errors.parameter_error("isLeverage=1 (spot margin trading) is not supported by the simulator")
        quantity = _decimal(args, "qty", required=True)
        price = _decimal(args, "price") if order_type == "Limit" else None
        trigger_price = _decimal(args, "triggerPrice")
        if trigger_price == 0:
            trigger_price = None
        direction = args.get("triggerDirection")
        if trigger_price is not None and direction not in (None, 1 if side == "BUY" else 2):
            raise errors.parameter_error(
                "triggerDirection must be 1 for Buy and 2 for Sell: the simulator has stop orders, not if-touched ones"
            )
        tif_name = args.get("timeInForce") or "GTC"
        time_in_force = TIMES_IN_FORCE.get(tif_name)
        if time_in_force is None:
            raise errors.parameter_error(f"timeInForce must be GTC, IOC, FOK or PostOnly, got {tif_name!r}")
        if order_type == "Market":
            time_in_force = "IOC"
        core_type = ("STOP_MARKET" if order_type == "Market" else "STOP_LIMIT") if trigger_price else order_type.upper()
        link_id = args.get("orderLinkId") or None
        try:
            order = self.exchanges[category].place_order(
                account_id,
                symbol,
                side,
                core_type,
                quantity,
                price=price,
                trigger_price=trigger_price,
                time_in_force=time_in_force,
                post_only=time_in_force == "GTX",
                reduce_only=_flag(args.get("reduceOnly")),
                client_order_id=link_id,
            )
        except SimError as error:
            raise errors.from_sim_error(error, category, "create",
                                         self.exchanges[category].instruments[symbol].settlement_asset) from None
        return order_ref(category, order)

    def amend_order(self, account_id: str, args: Mapping[str, Any]) -> dict[str, str]:
        category = self._category(args)
        symbol = self.instrument(category, args.get("symbol")).symbol
        order_id, link_id = _order_ref(category, args, "amend")
        try:
            order = self.exchanges[category].amend_order(
                account_id,
                symbol,
                order_id=order_id,
                client_order_id=link_id,
                quantity=_decimal(args, "qty"),
                price=_decimal(args, "price"),
                trigger_price=_decimal(args, "triggerPrice"),
            )
        except SimError as error:
            raise errors.from_sim_error(error, category, "amend") from None
        return order_ref(category, order)

    def cancel_order(self, account_id: str, args: Mapping[str, Any]) -> dict[str, str]:
        category = self._category(args)
        symbol = self.instrument(category, args.get("symbol")).symbol
        order_id, link_id = _order_ref(category, args, "cancel")
        try:
            order = self.exchanges[category].cancel_order(
                account_id, symbol, order_id=order_id, client_order_id=link_id
            )
        except SimError as error:
            raise errors.from_sim_error(error, category, "cancel") from None
        return order_ref(category, order)

    def _category(self, args: Mapping[str, Any]) -> Category:
        category = args.get("category")
        self.exchange(category)
        return category  # type: ignore[return-value]


def cancel_type_of(update: OrderUpdate) -> str:
    """Bybit's ``cancelType`` for a closing update: a user cancel, else (IOC / market remainder) ``UNKNOWN``."""
    return "CancelByUser" if update.kind == "CANCELED" else "UNKNOWN"


def _decimal(args: Mapping[str, Any], name: str, required: bool = False) -> Decimal | None:
    raw = args.get(name)
    if raw is None or raw == "":
        if required:
            raise errors.parameter_error(f"{name} is required")
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise errors.parameter_error(f"{name} must be a decimal string, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise errors.parameter_error(f"{name} must be a decimal string, got {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise errors.parameter_error(f"{name} must be a non-negative decimal, got {raw!r}")
    return value


def _flag(raw: object) -> bool:
    return raw is True or raw in ("true", "True", "1", 1)


def order_ref(category: Category, order: SimOrder) -> dict[str, str]:
    return {"orderId": payloads.venue_id(category, order.order_id), "orderLinkId": order.client_order_id or ""}


def _order_ref(category: Category, args: Mapping[str, Any], action: errors.Action) -> tuple[int | None, str | None]:
    raw_id = args.get("orderId") or None
    link_id = args.get("orderLinkId") or None
    if raw_id is None and link_id is None:
        raise errors.parameter_error("orderId or orderLinkId is required")
    order_id = None
    if raw_id is not None:
        order_id = payloads.core_id(category, str(raw_id))
        if order_id is None:
            raise errors.unknown_order(action)
    return order_id, link_id

