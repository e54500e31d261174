"""NautilusTrader's unmodified Binance adapters against the simulator: SPOT with an HMAC key, USDT_FUTURES with an
Ed25519 key (venue BINANCE_FUTURES, as the combined live node uses it).

The first two tests run one TradingNode (data + execution client) until RUNNING, then a DriverStrategy places a
market order (filled), a resting limit order that the simulator's market then trades through (filled as maker), a
limit order far from the market that is cancelled, and one order the venue rejects (spot: an injected reject, -2010;
futures: insufficient margin, -2019); on futures a reduce-only stop-market then goes through the Algo Order API and
fills. Afterwards NautilusTrader's view of the account (balances, positions) must equal the simulator's own books
exactly. The third runs spot and futures in one node restarted against existing history (reconciliation).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType, BinanceKeyType
from nautilus_trader.adapters.binance.config import BinanceDataClientConfig, BinanceExecClientConfig
from nautilus_trader.adapters.binance.factories import BinanceLiveDataClientFactory, BinanceLiveExecClientFactory
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.identifiers import InstrumentId, Venue

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import SimulatorThread
from backend.simulator.venues.binance.defaults import (
    DEMO_BINANCE_ED25519_KEY,
    DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM,
    DEMO_BINANCE_HMAC_KEY,
    DEMO_BINANCE_HMAC_SECRET,
)
from tests.e2e.conftest import NodeRun, balances_by_currency, node_config, run_node, wait_for_status, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SPOT_VENUE = Venue("BINANCE")
FUTURES_VENUE = Venue("BINANCE_FUTURES")
SPOT_BTC = InstrumentId.from_str("BTCUSDT.BINANCE")
PERP_BTC = InstrumentId.from_str("BTCUSDT-PERP.BINANCE_FUTURES")


@pytest.fixture
def sim():
    # The node signs with its own wall clock, so the simulator runs on real time; the market steps every 200 ms.
    with SimulatorThread(SimConfig.default(venues=("binance",), tick_interval_ms=200)) as simulator:
        yield simulator


def _factories(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {name: BinanceLiveDataClientFactory}, {name: BinanceLiveExecClientFactory}


async def _trade_script(run: NodeRun, sim: Any, market: str, instrument_id: InstrumentId, quantity: str,
                        reject: Any) -> dict[str, Any]:
    """The shared order script; returns the orders by role for the assertions."""
    strategy, cache = run.strategy, run.node.kernel.cache
    instrument = cache.instrument(instrument_id)
    assert instrument is not None, f"{instrument_id} was not loaded"
    exchange = sim.exchange("binance", market)
    symbol = instrument_id.symbol.value.removesuffix("-PERP")
    qty = instrument.make_qty(Decimal(quantity))

    strategy.subscribe_quote_ticks(instrument_id)
    await wait_until(lambda: cache.quote_tick(instrument_id) is not None, f"a quote for {instrument_id}")

    market_order = strategy.order_factory.market(instrument_id, OrderSide.BUY, qty)
    strategy.submit_order(market_order)
    await wait_for_status(market_order, ["FILLED"])

    # A buy limit below the market rests; moving the market down through it fills it as maker.
    last = sim.call(lambda: exchange.market(symbol).last_price)
    resting_price = instrument.make_price(last * Decimal("0.99"))
    resting = strategy.order_factory.limit(instrument_id, OrderSide.BUY, qty, resting_price)
    strategy.submit_order(resting)
    await wait_for_status(resting, ["ACCEPTED"])
    sim.call(exchange.set_price, symbol, resting_price.as_decimal() - instrument.price_increment.as_decimal() * 5)
    await wait_for_status(resting, ["FILLED"])

    far = strategy.order_factory.limit(instrument_id, OrderSide.BUY, qty, instrument.make_price(last * Decimal("0.5")))
    strategy.submit_order(far)
    await wait_for_status(far, ["ACCEPTED"])
    strategy.cancel_order(far)
    await wait_for_status(far, ["CANCELED"])

    rejected = reject(strategy, instrument)
    await wait_for_status(rejected, ["REJECTED"])
    return {"market": market_order, "resting": resting, "far": far, "rejected": rejected}


def _rejection_reason(run: NodeRun, order: Any) -> str:
    return next(e.reason for e in run.strategy.events if isinstance(e, OrderRejected)
                and e.client_order_id == order.client_order_id)


def _sim_balances(sim: Any, market: str) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """The simulator's balances as Binance reports them: ``{asset: (total, free, locked)}``.

    Spot reports free and locked. USD-M reports the wallet balance, which the adapter books from the user stream
    (``ACCOUNT_UPDATE``) as free = wallet, locked = 0."""
    account = sim.call(sim.exchange("binance", market).account, DEMO_ACCOUNT_ID)
    if market == "spot":
        return {asset: (b.total, b.free, b.locked) for asset, b in account.balances.items()}
    return {asset: (m.wallet_balance, m.wallet_balance, Decimal(0)) for asset, m in account.margins.items()}


async def _balances_match(run: NodeRun, sim: Any, venue: Venue, market: str, totals_only: bool = False) -> None:
    """Wait until NautilusTrader's balances equal the simulator's. ``totals_only``: a margin account with open
    orders gets free / locked from NautilusTrader's own margin model, so only the venue's wallet totals compare."""
    cache = run.node.kernel.cache

    def pick(balances: dict[str, tuple[Decimal, Decimal, Decimal]]) -> dict[str, Any]:
        return {asset: figures[0] for asset, figures in balances.items()} if totals_only else balances

    def matches() -> bool:
        account = cache.account_for_venue(venue)
        return account is not None and pick(balances_by_currency(account)) == pick(_sim_balances(sim, market))

    try:
        await wait_until(matches, f"{venue} balances to equal the simulator's")
    except AssertionError:
        account = cache.account_for_venue(venue)
        raise AssertionError(f"NautilusTrader {balances_by_currency(account)} != simulator "
                             f"{_sim_balances(sim, market)}") from None


def test_spot_hmac_node_trades_and_matches_simulator(sim: Any) -> None:
    env = sim.env
    common: dict[str, Any] = dict(
        venue=SPOT_VENUE, api_key=DEMO_BINANCE_HMAC_KEY, api_secret=DEMO_BINANCE_HMAC_SECRET,
        account_type=BinanceAccountType.SPOT, base_url_http=env["SIM_BINANCE_SPOT_HTTP"],
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset({SPOT_BTC})),
    )
    config = node_config(
        "TESTER-001",
        {"BINANCE": BinanceDataClientConfig(**common, base_url_ws=env["SIM_BINANCE_SPOT_WS"])},
        {"BINANCE": BinanceExecClientConfig(**common, base_url_ws=env["SIM_BINANCE_SPOT_WS_API"])},
    )

    def injected_reject(strategy: Any, instrument: Any) -> Any:
        sim.call(sim.server.runtimes["binance"].faults.reject_next_orders, 1)
        order = strategy.order_factory.market(SPOT_BTC, OrderSide.SELL, instrument.make_qty(Decimal("0.001")))
        strategy.submit_order(order)
        return order

    async def scenario(run: NodeRun) -> None:
        orders = await _trade_script(run, sim, "spot", SPOT_BTC, "0.01", injected_reject)
        assert "-2010" in _rejection_reason(run, orders["rejected"])
        await _balances_match(run, sim, SPOT_VENUE, "spot")
        fills = sim.call(sim.exchange("binance", "spot").fills, DEMO_ACCOUNT_ID, "BTCUSDT")
        assert [f.order_id for f in fills] == [int(orders["market"].venue_order_id.value),
                                              int(orders["resting"].venue_order_id.value)]
        net = sum((p.signed_qty for p in run.node.kernel.cache.positions(venue=SPOT_VENUE)), 0.0)
        assert Decimal(str(net)) == sum((f.quantity - f.fee for f in fills if f.fee_asset == "BTC"), Decimal(0))

    run_node(config, *_factories("BINANCE"), scenario)


def test_usdt_futures_ed25519_node_trades_and_matches_simulator(sim: Any) -> None:
    env = sim.env
    common: dict[str, Any] = dict(
        venue=FUTURES_VENUE, api_key=DEMO_BINANCE_ED25519_KEY, api_secret=DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM,
        key_type=BinanceKeyType.ED25519, account_type=BinanceAccountType.USDT_FUTURES,
        base_url_http=env["SIM_BINANCE_FUTURES_HTTP"],
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset({PERP_BTC})),
    )
    config = node_config(
        "TESTER-002",
        {"BINANCE_FUTURES": BinanceDataClientConfig(**common, base_url_ws=env["SIM_BINANCE_FUTURES_WS"])},
        {"BINANCE_FUTURES": BinanceExecClientConfig(
            **common, base_url_ws=env["SIM_BINANCE_FUTURES_WS_API"],
            base_url_ws_stream=env["SIM_BINANCE_FUTURES_WS_STREAM"])},
    )

    def insufficient_margin(strategy: Any, instrument: Any) -> Any:
        order = strategy.order_factory.market(PERP_BTC, OrderSide.BUY, instrument.make_qty(Decimal("100")))
        strategy.submit_order(order)
        return order

    async def scenario(run: NodeRun) -> None:
        orders = await _trade_script(run, sim, "usdt_futures", PERP_BTC, "0.010", insufficient_margin)
        assert "-2019" in _rejection_reason(run, orders["rejected"])
        # A reduce-only stop goes through the Algo Order API and fills once the market falls through it.
        strategy, instrument = run.strategy, run.node.kernel.cache.instrument(PERP_BTC)
        exchange = sim.exchange("binance", "usdt_futures")
        last = sim.call(lambda: exchange.market("BTCUSDT").last_price)
        stop = strategy.order_factory.stop_market(PERP_BTC, OrderSide.SELL, instrument.make_qty(Decimal("0.010")),
                                                  instrument.make_price(last * Decimal("0.98")), reduce_only=True)
        strategy.submit_order(stop)
        await wait_for_status(stop, ["ACCEPTED"])
        sim.call(exchange.set_price, "BTCUSDT", last * Decimal("0.97"))
        await wait_for_status(stop, ["FILLED"])
        await _balances_match(run, sim, FUTURES_VENUE, "usdt_futures")
        position = sim.call(exchange.position, DEMO_ACCOUNT_ID, "BTCUSDT")
        open_positions = run.node.kernel.cache.positions_open(venue=FUTURES_VENUE)
        assert [str(p.instrument_id) for p in open_positions] == [str(PERP_BTC)]
        assert open_positions[0].quantity.as_decimal() == position.quantity == Decimal("0.010")
        assert Decimal(str(open_positions[0].avg_px_open)).quantize(Decimal("0.01")) == position.entry_price.quantize(
            Decimal("0.01"))

    run_node(config, *_factories("BINANCE_FUTURES"), scenario)


NAUTILUS_STATUS = {"NEW": "ACCEPTED", "PARTIALLY_FILLED": "PARTIALLY_FILLED", "FILLED": "FILLED",
                   "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}


def test_combined_node_reconciles_binance_history_on_start(sim: Any) -> None:
    """Spot (BINANCE, HMAC) and USD-M (BINANCE_FUTURES, Ed25519) in ONE node, started against an account with
    history: NautilusTrader rebuilds every order (status, quantity, filled), the futures position and the balances of
    both venues from the REST reports (openOrders, allOrders, myTrades / userTrades, positionRisk, account)."""
    spot, perp = sim.exchange("binance", "spot"), sim.exchange("binance", "usdt_futures")

    def history() -> None:
        spot.place_order(DEMO_ACCOUNT_ID, "BTCUSDT", "BUY", "MARKET", Decimal("0.01"))
        spot.place_order(DEMO_ACCOUNT_ID, "BTCUSDT", "BUY", "LIMIT", Decimal("0.01"), price=Decimal("40000"))
        cancelled = spot.place_order(DEMO_ACCOUNT_ID, "BTCUSDT", "SELL", "LIMIT", Decimal("0.01"),
                                     price=Decimal("60000"))
        spot.cancel_order(DEMO_ACCOUNT_ID, "BTCUSDT", cancelled.order_id)
        perp.place_order(DEMO_ACCOUNT_ID, "BTCUSDT", "SELL", "MARKET", Decimal("0.010"))
        perp.place_order(DEMO_ACCOUNT_ID, "BTCUSDT", "BUY", "LIMIT", Decimal("0.010"), price=Decimal("40000"))

    sim.call(history)
    env = sim.env
    spot_common: dict[str, Any] = dict(
        venue=SPOT_VENUE, api_key=DEMO_BINANCE_HMAC_KEY, api_secret=DEMO_BINANCE_HMAC_SECRET,
        account_type=BinanceAccountType.SPOT, base_url_http=env["SIM_BINANCE_SPOT_HTTP"],
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset({SPOT_BTC})),
    )
    futures_common: dict[str, Any] = dict(
        venue=FUTURES_VENUE, api_key=DEMO_BINANCE_ED25519_KEY, api_secret=DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM,
        account_type=BinanceAccountType.USDT_FUTURES, base_url_http=env["SIM_BINANCE_FUTURES_HTTP"],
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset({PERP_BTC})),
    )
    config = node_config(
        "TESTER-003",
        {"BINANCE": BinanceDataClientConfig(**spot_common, base_url_ws=env["SIM_BINANCE_SPOT_WS"]),
         "BINANCE_FUTURES": BinanceDataClientConfig(**futures_common, base_url_ws=env["SIM_BINANCE_FUTURES_WS"])},
        {"BINANCE": BinanceExecClientConfig(**spot_common, base_url_ws=env["SIM_BINANCE_SPOT_WS_API"]),
         "BINANCE_FUTURES": BinanceExecClientConfig(
             **futures_common, base_url_ws=env["SIM_BINANCE_FUTURES_WS_API"],
             base_url_ws_stream=env["SIM_BINANCE_FUTURES_WS_STREAM"])},
    )
    notes: dict[str, Any] = {}

    async def scenario(run: NodeRun) -> None:
        await _balances_match(run, sim, SPOT_VENUE, "spot")
        await _balances_match(run, sim, FUTURES_VENUE, "usdt_futures", totals_only=True)
        cache = run.node.kernel.cache
        notes["orders"] = {(str(o.instrument_id.venue), int(o.venue_order_id.value)):
                           (o.status_string(), o.quantity.as_decimal(), o.filled_qty.as_decimal())
                           for o in cache.orders() if "RECONCILIATION" not in (o.tags or [])}
        notes["futures positions"] = [(str(p.instrument_id), p.signed_qty) for p in cache.positions_open(
            venue=FUTURES_VENUE)]

    factories = {"BINANCE": BinanceLiveDataClientFactory, "BINANCE_FUTURES": BinanceLiveDataClientFactory}
    exec_factories = {"BINANCE": BinanceLiveExecClientFactory, "BINANCE_FUTURES": BinanceLiveExecClientFactory}
    run_node(config, factories, exec_factories, scenario)

    expected = {}
    for venue, exchange in ((SPOT_VENUE, spot), (FUTURES_VENUE, perp)):
        for order in sim.call(exchange.order_history, DEMO_ACCOUNT_ID):
            expected[(venue.value, order.order_id)] = (NAUTILUS_STATUS[order.status], order.quantity,
                                                       order.filled_quantity)
    assert notes["orders"] == expected
    assert notes["futures positions"] == [(str(PERP_BTC), -0.01)]
