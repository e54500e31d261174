"""NautilusTrader's unmodified OKX adapters (``OKXLiveDataClientFactory`` / ``OKXLiveExecClientFactory``, SPOT and
SWAP on one unified account) against the simulator.

One TradingNode reaches RUNNING; its swap order book and spot quotes match the simulator's market; then a
DriverStrategy trades: a spot market buy (filled), a spot limit buy that crosses a thin book (partially filled, rest
open), a swap limit buy that is amended (``modify_order``), a spot limit that is cancelled, a swap market buy (filled,
opens a position) and a spot order OKX refuses (51008, rejected).
Afterwards NautilusTrader's cache equals the simulator's books in exact decimals: orders (status, filled quantity,
average price, commissions), every balance of the unified wallet (total / free / locked) and the swap position.

Units: for OKX swaps NautilusTrader's ``CryptoPerpetual`` has ``multiplier`` = ``ctVal`` and ``size_increment`` =
``lotSz``, so its order, fill and position quantities are CONTRACTS, like OKX's ``sz`` / ``pos`` and the
simulator's order units; the base quantity is contracts x multiplier (3 contracts of BTC-USDT-SWAP = 0.03 BTC).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.adapters.okx.config import OKXDataClientConfig, OKXExecClientConfig
from nautilus_trader.adapters.okx.factories import OKXLiveDataClientFactory, OKXLiveExecClientFactory
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.nautilus_pyo3 import OKXInstrumentType
from nautilus_trader.model.enums import BookType, OrderSide, position_side_to_str
from nautilus_trader.model.events import OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.orders import Order

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import SimulatorThread
from backend.simulator.venues.okx.defaults import DEMO_OKX_KEY, DEMO_OKX_PASSPHRASE, DEMO_OKX_SECRET
from tests.e2e.conftest import NodeRun, balances_by_currency, node_config, run_node, wait_for_status, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

OKX = Venue("OKX")
SPOT_BTC = InstrumentId.from_str("BTC-USDT.OKX")
SWAP_BTC = InstrumentId.from_str("BTC-USDT-SWAP.OKX")
MARKETS = {SPOT_BTC: "spot", SWAP_BTC: "swap"}
NAUTILUS_STATUS = {"NEW": "ACCEPTED", "PARTIALLY_FILLED": "PARTIALLY_FILLED", "FILLED": "FILLED",
                   "CANCELED": "CANCELED", "EXPIRED": "CANCELED"}


@pytest.fixture
def sim():
    # Real time (the node signs with its wall clock); the market moves only when the test moves it.
    with SimulatorThread(SimConfig.default(venues=("okx",), tick_interval_ms=0)) as simulator:
        yield simulator


def _configs(env: dict[str, str]) -> tuple[OKXDataClientConfig, OKXExecClientConfig]:
    common: dict[str, Any] = dict(
        api_key=DEMO_OKX_KEY,
        api_secret=DEMO_OKX_SECRET,
        api_passphrase=DEMO_OKX_PASSPHRASE,
        base_url_http=env["SIM_OKX_HTTP"],
        instrument_types=(OKXInstrumentType.SPOT, OKXInstrumentType.SWAP),
        instrument_provider=InstrumentProviderConfig(load_all=True),
    )
    data = OKXDataClientConfig(base_url_ws=env["SIM_OKX_WS_PUBLIC"], **common)
    execution = OKXExecClientConfig(base_url_ws=env["SIM_OKX_WS_PRIVATE"], **common)
    return data, execution


def _symbol(instrument_id: InstrumentId) -> str:
    return instrument_id.symbol.value


async def _trade_script(run: NodeRun, sim: Any) -> dict[str, Order]:
    strategy, cache = run.strategy, run.node.kernel.cache
    spot, swap = cache.instrument(SPOT_BTC), cache.instrument(SWAP_BTC)
    assert spot is not None and swap is not None, "instruments were not loaded"
    spot_exchange, swap_exchange = sim.exchange("okx", "spot"), sim.exchange("okx", "swap")
    ask = sim.call(lambda: spot_exchange.market("BTC-USDT").best_ask)
    tick = spot.price_increment.as_decimal()

    # Market data: the public socket's books snapshot / bbo-tbt reach NautilusTrader's book and quotes.
    strategy.subscribe_order_book_deltas(SWAP_BTC, BookType.L2_MBP)
    strategy.subscribe_quote_ticks(SPOT_BTC)
    swap_top = sim.call(lambda: (swap_exchange.market("BTC-USDT-SWAP").best_bid,
                                 swap_exchange.market("BTC-USDT-SWAP").best_ask))

    def book_top() -> tuple[Decimal, Decimal] | None:
        book = cache.order_book(SWAP_BTC)
        if book is None or book.best_bid_price() is None:
            return None
        return book.best_bid_price().as_decimal(), book.best_ask_price().as_decimal()

    await wait_until(lambda: book_top() == swap_top, "the swap order book to match the simulator's")
    await wait_until(lambda: cache.quote_tick(SPOT_BTC) is not None, "a spot quote")
    assert cache.quote_tick(SPOT_BTC).ask_price.as_decimal() == ask

    market_buy = strategy.order_factory.market(SPOT_BTC, OrderSide.BUY, spot.make_qty(Decimal("0.1")))
    strategy.submit_order(market_buy)
    await wait_for_status(market_buy, ["FILLED"])

    # 0.05 BTC per book level: a 0.2 BTC buy limited to three levels fills 0.15 and rests 0.05.
    sim.call(spot_exchange.set_liquidity, "BTC-USDT", Decimal("0.05"))
    partial = strategy.order_factory.limit(SPOT_BTC, OrderSide.BUY, spot.make_qty(Decimal("0.2")),
                                           spot.make_price(ask + 2 * tick))
    strategy.submit_order(partial)
    await wait_for_status(partial, ["PARTIALLY_FILLED"])

    swap_last = sim.call(lambda: swap_exchange.market("BTC-USDT-SWAP").last_price)
    amended = strategy.order_factory.limit(SWAP_BTC, OrderSide.BUY, swap.make_qty(Decimal("2")),
                                           swap.make_price(swap_last * Decimal("0.9")))
    strategy.submit_order(amended)
    await wait_for_status(amended, ["ACCEPTED"])
    new_price = swap.make_price(swap_last * Decimal("0.95"))
    strategy.modify_order(amended, quantity=swap.make_qty(Decimal("4")), price=new_price)
    await wait_until(lambda: amended.price == new_price and amended.quantity == swap.make_qty(Decimal("4"))
                     and amended.status_string() == "ACCEPTED", "the swap order to be amended")

    cancelled = strategy.order_factory.limit(SPOT_BTC, OrderSide.BUY, spot.make_qty(Decimal("0.01")),
                                             spot.make_price(ask / 2))
    strategy.submit_order(cancelled)
    await wait_for_status(cancelled, ["ACCEPTED"])
    strategy.cancel_order(cancelled)
    await wait_for_status(cancelled, ["CANCELED"])

    swap_buy = strategy.order_factory.market(SWAP_BTC, OrderSide.BUY, swap.make_qty(Decimal("3")))
    strategy.submit_order(swap_buy)
    await wait_for_status(swap_buy, ["FILLED"])
    await wait_until(lambda: any(p.quantity == swap.make_qty(Decimal("3")) for p in cache.positions_open(
        instrument_id=SWAP_BTC)), "the swap position to open")

    rejected = strategy.order_factory.limit(SPOT_BTC, OrderSide.BUY, spot.make_qty(Decimal("10")),
                                            spot.make_price(ask))
    strategy.submit_order(rejected)
    await wait_for_status(rejected, ["REJECTED"])

    orders = {"market_buy": market_buy, "partial": partial, "amended": amended, "cancelled": cancelled,
              "swap_buy": swap_buy, "rejected": rejected}
    await _wait_for_balances(run, sim)
    return orders


def _sim_balances(sim: Any) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    account = sim.call(sim.exchange("okx", "spot").account, DEMO_ACCOUNT_ID)
    return {asset: (b.total, b.free, b.locked) for asset, b in account.balances.items()}


async def _wait_for_balances(run: NodeRun, sim: Any) -> None:
    cache = run.node.kernel.cache

    def matches() -> bool:
        account = cache.account_for_venue(OKX)
        return account is not None and balances_by_currency(account) == _sim_balances(sim)

    try:
        await wait_until(matches, "OKX balances to equal the simulator's")
    except AssertionError:
        account = cache.account_for_venue(OKX)
        raise AssertionError(f"NautilusTrader {balances_by_currency(account)} != simulator {_sim_balances(sim)}") \
            from None


def _commission(run: NodeRun, order: Order) -> Decimal:
    return sum((e.commission.as_decimal() for e in run.strategy.events
                if isinstance(e, OrderFilled) and e.client_order_id == order.client_order_id), Decimal(0))


def test_okx_spot_and_swap_node_trades_and_matches_simulator(sim: Any) -> None:
    data, execution = _configs(sim.env)
    config = node_config("OKX-TESTER-001", {"OKX": data}, {"OKX": execution})
    notes: dict[str, Any] = {}

    async def scenario(run: NodeRun) -> None:
        notes["orders"] = await _trade_script(run, sim)
        notes["reason"] = next(e.reason for e in run.strategy.events if isinstance(e, OrderRejected))
        notes["commissions"] = {role: _commission(run, order) for role, order in notes["orders"].items()}
        cache = run.node.kernel.cache
        notes["balances"] = balances_by_currency(cache.account_for_venue(OKX))
        notes["positions"] = [(p.instrument_id, position_side_to_str(p.side), p.quantity.as_decimal(), p.avg_px_open)
                              for p in cache.positions_open(instrument_id=SWAP_BTC)]
        notes["multiplier"] = cache.instrument(SWAP_BTC).multiplier.as_decimal()

    run_node(config, {"OKX": OKXLiveDataClientFactory}, {"OKX": OKXLiveExecClientFactory}, scenario)

    orders: dict[str, Order] = notes["orders"]
    assert notes["reason"] == "Order failed. Insufficient USDT balance in account"
    assert orders["rejected"].venue_order_id is None

    for role, order in orders.items():
        if role == "rejected":
            continue
        exchange = sim.exchange("okx", MARKETS[order.instrument_id])
        venue_order = sim.call(exchange.get_order, DEMO_ACCOUNT_ID, _symbol(order.instrument_id),
                               int(order.venue_order_id.value))
        assert order.status_string() == NAUTILUS_STATUS[venue_order.status], role
        assert order.quantity.as_decimal() == venue_order.quantity, role
        assert order.filled_qty.as_decimal() == venue_order.filled_quantity, role
        if venue_order.filled_quantity:
            assert Decimal(str(order.avg_px)) == venue_order.avg_price, role
        assert notes["commissions"][role] == venue_order.fee_total, role
    assert orders["partial"].status_string() == "PARTIALLY_FILLED"
    assert orders["partial"].filled_qty.as_decimal() == Decimal("0.15")
    assert orders["amended"].quantity.as_decimal() == Decimal("4")

    assert notes["balances"] == _sim_balances(sim)

    swap_exchange = sim.exchange("okx", "swap")
    position = sim.call(swap_exchange.position, DEMO_ACCOUNT_ID, "BTC-USDT-SWAP")
    contract_size = sim.call(swap_exchange.instrument, "BTC-USDT-SWAP").contract_size
    assert notes["positions"] == [(SWAP_BTC, "LONG", position.quantity, float(position.entry_price))]
    assert position.quantity == Decimal("3")
    assert notes["multiplier"] == contract_size == Decimal("0.01")
    assert notes["positions"][0][2] * notes["multiplier"] == position.quantity * contract_size == Decimal("0.03")


def test_okx_restarted_node_reconciles_the_simulators_books(sim: Any) -> None:
    """A node that starts against an account with history rebuilds it from OKX's REST reports (orders-pending,
    orders-history, fills, positions): every order with its status and fills, the swap position and the balances."""
    spot_exchange, swap_exchange = sim.exchange("okx", "spot"), sim.exchange("okx", "swap")
    sim.call(spot_exchange.set_liquidity, "BTC-USDT", Decimal("0.05"))
    ask = sim.call(lambda: spot_exchange.market("BTC-USDT").best_ask)
    swap_last = sim.call(lambda: swap_exchange.market("BTC-USDT-SWAP").last_price)
    sim.call(lambda: spot_exchange.place_order(DEMO_ACCOUNT_ID, "BTC-USDT", "BUY", "MARKET", Decimal("0.1")))
    sim.call(lambda: spot_exchange.place_order(DEMO_ACCOUNT_ID, "BTC-USDT", "BUY", "LIMIT", Decimal("0.2"),
                                               price=ask + Decimal("0.2")))
    sim.call(lambda: swap_exchange.place_order(DEMO_ACCOUNT_ID, "BTC-USDT-SWAP", "SELL", "MARKET", Decimal("5")))
    sim.call(lambda: swap_exchange.place_order(DEMO_ACCOUNT_ID, "BTC-USDT-SWAP", "BUY", "LIMIT", Decimal("2"),
                                               price=swap_last - Decimal("1000")))
    cancelled = sim.call(lambda: spot_exchange.place_order(DEMO_ACCOUNT_ID, "BTC-USDT", "BUY", "LIMIT",
                                                           Decimal("0.01"), price=Decimal("25000")))
    sim.call(spot_exchange.cancel_order, DEMO_ACCOUNT_ID, "BTC-USDT", cancelled.order_id)
    data, execution = _configs(sim.env)
    config = node_config("OKX-TESTER-002", {"OKX": data}, {"OKX": execution})
    notes: dict[str, Any] = {}

    async def scenario(run: NodeRun) -> None:
        cache = run.node.kernel.cache
        await _wait_for_balances(run, sim)
        # NautilusTrader adds one synthetic RECONCILIATION order flattening the spot BTC it infers from fills
        # (OKX reports spot positions FLAT unless use_spot_cash_position_reports); only venue orders are compared.
        notes["orders"] = {int(o.venue_order_id.value): (o.status_string(), o.quantity.as_decimal(),
                                                         o.filled_qty.as_decimal())
                           for o in cache.orders() if "RECONCILIATION" not in (o.tags or [])}
        notes["positions"] = [(p.instrument_id, position_side_to_str(p.side), p.quantity.as_decimal())
                              for p in cache.positions_open()]
        notes["balances"] = balances_by_currency(cache.account_for_venue(OKX))

    run_node(config, {"OKX": OKXLiveDataClientFactory}, {"OKX": OKXLiveExecClientFactory}, scenario)

    expected = {}
    for market in ("spot", "swap"):
        for order in sim.call(sim.exchange("okx", market).order_history, DEMO_ACCOUNT_ID):
            expected[order.order_id] = (NAUTILUS_STATUS[order.status], order.quantity, order.filled_quantity)
    assert notes["orders"] == expected
    assert (SWAP_BTC, "SHORT", Decimal("5")) in notes["positions"]
    assert notes["balances"] == _sim_balances(sim)
