"""NautilusTrader 1.231.0's real TradingNode trades SPOT and LINEAR on the simulated Bybit v5 venue.

NautilusTrader's exec client behind our one-method shim (``BybitAcceptReportsExecClientFactory``: 1.231.0 drops an
"accepted" report that beats its own queued ``OrderSubmitted``, see ``backend/live/adapters/bybit_exec.py``) plus our
public-WS data factory; one node with both product types on the one unified account. The scenario: market and limit
orders accepted and filled (one partially), one amended, one cancelled, one rejected; then NautilusTrader's cache
(orders, balances, positions) must equal the simulator's state in exact decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.adapters.bybit.config import BybitExecClientConfig
from nautilus_trader.adapters.bybit.factories import get_cached_bybit_http_client, get_cached_bybit_instrument_provider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.nautilus_pyo3 import BybitProductType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.orders import Order

from backend.live.adapters.bybit import BybitPublicWsDataClientConfig, BybitPublicWsDataClientFactory, public_ws_url
from backend.live.adapters.bybit_exec import BybitAcceptReportsExecClientFactory
from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.core.accounts import SimAccount
from backend.simulator.harness import SimulatorThread
from backend.simulator.venues.bybit.defaults import DEMO_BYBIT_KEY, DEMO_BYBIT_SECRET
from backend.simulator.venues.bybit.payloads import venue_id
from tests.e2e.conftest import NodeRun, balances_by_currency, node_config, run_node, wait_for_status, wait_until

pytestmark = pytest.mark.e2e

D = Decimal
SPOT = InstrumentId.from_str("BTCUSDT-SPOT.BYBIT")
LINEAR = InstrumentId.from_str("BTCUSDT-LINEAR.BYBIT")
BYBIT = Venue("BYBIT")


def bybit_configs(env: dict[str, str]) -> tuple[BybitPublicWsDataClientConfig, BybitExecClientConfig]:
    common: dict[str, Any] = {
        "api_key": DEMO_BYBIT_KEY,
        "api_secret": DEMO_BYBIT_SECRET,
        "product_types": (BybitProductType.SPOT, BybitProductType.LINEAR),
        "base_url_http": env["SIM_BYBIT_HTTP"],
        "instrument_provider": InstrumentProviderConfig(load_all=True),
    }
    data = BybitPublicWsDataClientConfig(**common, base_url_ws_public=env["SIM_BYBIT_WS_PUBLIC"])
    execution = BybitExecClientConfig(
        **common, base_url_ws_private=env["SIM_BYBIT_WS_PRIVATE"], base_url_ws_trade=env["SIM_BYBIT_WS_TRADE"]
    )
    return data, execution


class Scenario:
    """Drives the strategy and the simulator; records the orders it placed."""

    def __init__(self, sim: SimulatorThread, run: NodeRun) -> None:
        self.sim = sim
        self.strategy = run.strategy
        self.cache = run.node.kernel.cache

    def set_price(self, market: str, price: str) -> None:
        self.sim.call(self.sim.exchange("bybit", market).set_price, "BTCUSDT", D(price))

    def order(self, instrument_id: InstrumentId, side: OrderSide, quantity: str, price: str | None = None) -> Order:
        instrument = self.cache.instrument(instrument_id)
        factory = self.strategy.order_factory
        qty = instrument.make_qty(D(quantity))
        order = (
            factory.market(instrument_id, side, qty)
            if price is None
            else factory.limit(instrument_id, side, qty, instrument.make_price(D(price)))
        )
        self.strategy.submit_order(order)
        return order

    async def run_all(self) -> dict[str, Order]:
        orders: dict[str, Order] = {}
        for instrument_id in (SPOT, LINEAR):  # spot quotes come from orderbook.1, linear ones from tickers
            self.strategy.subscribe_quote_ticks(instrument_id)
            self.strategy.subscribe_trade_ticks(instrument_id)
        await wait_until(lambda: self.cache.quote_tick(SPOT) is not None and self.cache.quote_tick(LINEAR) is not None,
                         "BTCUSDT-SPOT and BTCUSDT-LINEAR quotes")

        orders["spot_market"] = self.order(SPOT, OrderSide.BUY, "0.01")
        await wait_for_status(orders["spot_market"], ["FILLED"])

        # A resting spot bid gets one liquidity level (0.004 of 0.01) when the price trades down to it.
        self.sim.call(self.sim.exchange("bybit", "spot").set_liquidity, "BTCUSDT", D("0.004"))
        orders["spot_partial"] = self.order(SPOT, OrderSide.BUY, "0.01", "49990")
        await wait_for_status(orders["spot_partial"], ["ACCEPTED"])
        self.set_price("spot", "49990")
        await wait_for_status(orders["spot_partial"], ["PARTIALLY_FILLED"])

        orders["linear_market"] = self.order(LINEAR, OrderSide.BUY, "0.004")
        await wait_for_status(orders["linear_market"], ["FILLED"])
        await wait_until(lambda: self.cache.trade_tick(LINEAR) is not None, "the linear fill on the public tape")

        orders["linear_amended"] = self.order(LINEAR, OrderSide.BUY, "0.01", "49000")
        await wait_for_status(orders["linear_amended"], ["ACCEPTED"])
        instrument = self.cache.instrument(LINEAR)
        self.strategy.modify_order(orders["linear_amended"], price=instrument.make_price(D("49500")))
        await wait_until(lambda: orders["linear_amended"].price == instrument.make_price(D("49500"))
                         and orders["linear_amended"].status_string() == "ACCEPTED", "the amended linear price")

        orders["linear_cancelled"] = self.order(LINEAR, OrderSide.SELL, "0.002", "52000")
        await wait_for_status(orders["linear_cancelled"], ["ACCEPTED"])
        self.strategy.cancel_order(orders["linear_cancelled"])
        await wait_for_status(orders["linear_cancelled"], ["CANCELED"])

        orders["linear_rejected"] = self.order(LINEAR, OrderSide.BUY, "30", "49000")
        await wait_for_status(orders["linear_rejected"], ["REJECTED"])

        await self.settled()
        return orders

    async def settled(self) -> None:
        """Wait until NautilusTrader's balances equal the simulator's (the last wallet push arrived)."""
        linear = self.sim.exchange("bybit", "linear")

        def in_sync() -> bool:
            venue_account = self.sim.call(linear.account, DEMO_ACCOUNT_ID)
            return balances_by_currency(self.cache.account_for_venue(BYBIT)) == expected_balances(venue_account)

        await wait_until(in_sync, "NautilusTrader's balances to match the simulator's")


def expected_balances(account: SimAccount) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """``{coin: (total, free, locked)}`` as Bybit's unified wallet reports them: locked = what open orders hold plus
    the initial margin of open positions (NautilusTrader books ``totalOrderIM + totalPositionIM`` as locked)."""
    result = {}
    for asset, balance in account.balances.items():
        margin = account.margins.get(asset)
        locked = balance.locked + (margin.position_initial_margin if margin else D(0))
        result[asset] = (balance.total, balance.total - locked, locked)
    return result


def test_spot_and_linear_orders_match_the_simulator() -> None:
    with SimulatorThread(SimConfig.default(venues=("bybit",), tick_interval_ms=0)) as sim:
        data, execution = bybit_configs(sim.env)
        config = node_config("BYBIT-E2E-001", {"BYBIT": data}, {"BYBIT": execution})
        results: dict[str, Any] = {}

        async def scenario(run: NodeRun) -> None:
            driver = Scenario(sim, run)
            orders = await driver.run_all()
            results["orders"] = {name: snapshot(order) for name, order in orders.items()}
            results["events"] = {name: run.strategy.events_for(order.client_order_id) for name, order in orders.items()}
            results["fills"] = {
                e.trade_id.value: (e.client_order_id.value, e.last_px.as_decimal(), e.last_qty.as_decimal(),
                                   e.commission.as_decimal(), e.commission.currency.code)
                for e in run.strategy.events
                if isinstance(e, OrderFilled)
            }
            results["rejection"] = next(
                e.reason for e in run.strategy.events if isinstance(e, OrderRejected)
            )
            cache = run.node.kernel.cache
            quote, tape = cache.quote_tick(SPOT), cache.trade_tick(LINEAR)
            results["market_data"] = (quote.bid_price.as_decimal(), quote.ask_price.as_decimal(),
                                      tape.price.as_decimal(), tape.size.as_decimal())
            results["balances"] = balances_by_currency(cache.account_for_venue(BYBIT))
            results["positions"] = {
                str(p.instrument_id): (p.side.name, p.quantity.as_decimal(), p.avg_px_open)
                for p in cache.positions_open()
            }

        run_node(config, {"BYBIT": BybitPublicWsDataClientFactory}, {"BYBIT": BybitAcceptReportsExecClientFactory},
                 scenario)
        restarted = restart_and_reconcile(sim)

        spot = sim.exchange("bybit", "spot")
        linear = sim.exchange("bybit", "linear")
        venue_orders = {
            o.client_order_id: (venue_id(category, o.order_id), o)
            for category, exchange in (("spot", spot), ("linear", linear))
            for o in sim.call(exchange.order_history, DEMO_ACCOUNT_ID)
        }
        venue_account = sim.call(linear.account, DEMO_ACCOUNT_ID)
        venue_fills = {
            venue_id(category, f.trade_id): (f.client_order_id, f.price, f.quantity, f.fee, f.fee_asset)
            for category, exchange in (("spot", spot), ("linear", linear))
            for f in sim.call(exchange.fills, DEMO_ACCOUNT_ID)
        }

    orders = results["orders"]
    assert {name: o["status"] for name, o in orders.items()} == {
        "spot_market": "FILLED",
        "spot_partial": "PARTIALLY_FILLED",
        "linear_market": "FILLED",
        "linear_amended": "ACCEPTED",
        "linear_cancelled": "CANCELED",
        "linear_rejected": "REJECTED",
    }
    assert "OrderUpdated" in results["events"]["linear_amended"]
    # Spot quote after the move to 49990 (one tick each side), the linear market buy printed at the ask.
    assert results["market_data"] == (D("49989.99"), D("49990.01"), D("50000.1"), D("0.004"))
    assert results["rejection"] == "ab not enough for new order"

    # Every order the venue knows equals NautilusTrader's view of it (the rejected one never reached the book).
    for name, mine in orders.items():
        if name == "linear_rejected":
            assert mine["client_order_id"] not in venue_orders
            continue
        venue_order_id, venue = venue_orders[mine["client_order_id"]]
        assert mine["venue_order_id"] == venue_order_id, name
        assert mine["filled_qty"] == venue.filled_quantity, name
        assert mine["quantity"] == venue.quantity, name
        if venue.price is not None:
            assert mine["price"] == venue.price, name
    assert orders["spot_partial"]["filled_qty"] == D("0.004")

    # Every fill: same trade id, price, quantity and commission (currency included), exactly.
    assert results["fills"] == venue_fills
    assert len(venue_fills) == 3
    assert orders["linear_amended"]["price"] == D("49500")

    # Balances: total / free / locked of every coin, exactly.
    assert results["balances"] == expected_balances(venue_account)
    assert results["balances"]["USDT"][0] < D(100_000)

    # Positions: the linear BTCUSDT long (spot trades hold coins, not positions).
    venue_position = venue_account.positions["BTCUSDT"]
    side, quantity, avg_px_open = results["positions"][str(LINEAR)]
    assert (side, quantity) == ("LONG", venue_position.quantity)
    assert avg_px_open == float(venue_position.entry_price)

    # A restarted node reconciles the same open orders and the linear position from the venue.
    assert restarted["open_orders"] == {
        orders["spot_partial"]["client_order_id"]: ("PARTIALLY_FILLED", D("0.004"), D("49990")),
        orders["linear_amended"]["client_order_id"]: ("ACCEPTED", D("0"), D("49500")),
    }
    assert restarted["positions"][str(LINEAR)] == ("LONG", venue_position.quantity)


def restart_and_reconcile(sim: SimulatorThread) -> dict[str, Any]:
    """A second node on the same venue rebuilds open orders, fills and positions from the REST reconciliation calls
    (``/v5/order/realtime``, ``/v5/order/history``, ``/v5/execution/list``, ``/v5/position/list``)."""
    # The stock factories cache the HTTP client and instrument provider by their arguments (not per node): start
    # the second node with fresh ones, as a new process would.
    get_cached_bybit_http_client.cache_clear()
    get_cached_bybit_instrument_provider.cache_clear()
    data, execution = bybit_configs(sim.env)
    config = node_config("BYBIT-E2E-002", {"BYBIT": data}, {"BYBIT": execution})

    async def scenario(run: NodeRun) -> dict[str, Any]:
        cache = run.node.kernel.cache
        linear = sim.exchange("bybit", "linear")
        # Totals come from /v5/account/wallet-balance; free/locked are NautilusTrader's own margin model until the
        # next wallet push, so only totals are compared here.
        await wait_until(
            lambda: {c: b[0] for c, b in balances_by_currency(cache.account_for_venue(BYBIT)).items()}
            == {c: b[0] for c, b in expected_balances(sim.call(linear.account, DEMO_ACCOUNT_ID)).items()},
            "the restarted node's wallet totals",
        )
        return {
            "open_orders": {
                o.client_order_id.value: (o.status_string(), o.filled_qty.as_decimal(), o.price.as_decimal())
                for o in cache.orders_open()
            },
            "positions": {str(p.instrument_id): (p.side.name, p.quantity.as_decimal()) for p in cache.positions_open()},
        }

    return run_node(config, {"BYBIT": BybitPublicWsDataClientFactory}, {"BYBIT": BybitAcceptReportsExecClientFactory},
                    scenario)


def snapshot(order: Order) -> dict[str, Any]:
    return {
        "status": order.status_string(),
        "client_order_id": order.client_order_id.value,
        "venue_order_id": order.venue_order_id.value if order.venue_order_id else None,
        "quantity": order.quantity.as_decimal(),
        "filled_qty": order.filled_qty.as_decimal(),
        "price": order.price.as_decimal() if order.has_price else None,
    }


def test_public_ws_base_url_is_checked_and_expanded_per_product() -> None:
    config = BybitPublicWsDataClientConfig(base_url_ws_public="ws://127.0.0.1:9/v5/public/")
    assert public_ws_url(config.base_url_ws_public, BybitProductType.LINEAR) == "ws://127.0.0.1:9/v5/public/linear"
    with pytest.raises(ValueError, match="base_url_ws_public must not include the product segment"):
        BybitPublicWsDataClientConfig(base_url_ws_public="ws://127.0.0.1:9/v5/public/spot")
    with pytest.raises(ValueError, match="base_url_ws_public must start with ws:// or wss://"):
        BybitPublicWsDataClientConfig(base_url_ws_public="http://127.0.0.1:9/v5/public")


def test_a_burst_of_orders_is_accepted_one_by_one() -> None:
    """Twenty resting orders sent at once, each answered by the venue within a millisecond: every one is ACCEPTED
    with the venue's order id (NautilusTrader alone drops an "accepted" report that beats its own OrderSubmitted)."""
    with SimulatorThread(SimConfig.default(venues=("bybit",), tick_interval_ms=0)) as sim:
        data, execution = bybit_configs(sim.env)
        config = node_config("BYBIT-E2E-003", {"BYBIT": data}, {"BYBIT": execution})

        async def scenario(run: NodeRun) -> dict[str, tuple[str, str | None]]:
            driver = Scenario(sim, run)
            orders = [driver.order(instrument_id, OrderSide.BUY, quantity, str(49_000 - n))
                      for n in range(10) for instrument_id, quantity in ((SPOT, "0.001"), (LINEAR, "0.001"))]
            for order in orders:
                await wait_for_status(order, ["ACCEPTED"])
            return {o.client_order_id.value: (o.status_string(), o.venue_order_id.value if o.venue_order_id else None)
                    for o in orders}

        accepted = run_node(config, {"BYBIT": BybitPublicWsDataClientFactory},
                            {"BYBIT": BybitAcceptReportsExecClientFactory}, scenario)
        resting = {
            o.client_order_id: venue_id(category, o.order_id)
            for category in ("spot", "linear")
            for o in sim.call(sim.exchange("bybit", category).open_orders, DEMO_ACCOUNT_ID)
        }
    assert len(accepted) == 20
    assert accepted == {client_id: ("ACCEPTED", venue_order_id) for client_id, venue_order_id in resting.items()}
