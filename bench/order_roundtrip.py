"""Order round trip through the real node: a strategy's submit -> venue fill -> fill row committed in PostgreSQL.

Usage: python bench/order_roundtrip.py [--orders 200] [--venues binance bybit okx] [--interval 0.03]
                                       [--flush-ms 10 2]
``LiveTradingNode`` (NautilusTrader's TradingNode with its real adapters, the shipped ``configs/local-sim.json``
restricted to the chosen clients) trades against ``venuesim`` in a child process on 127.0.0.1. The scripted
strategy (backend/live/strategies/scripted.py) sends ``--orders`` market orders per product, alternately BUY and
SELL, round-robin over the products, one every ``--interval`` s; the simulator fills each at once against its book.
Products: Binance spot and USDT-M, Bybit spot and linear, OKX spot and swap (``--venues`` takes a venue or a
product key such as ``bybit-linear``).

Three instants per order, all ``time.perf_counter_ns()`` in the node's process:
  * submit: ``Strategy.submit_order`` is called (an override in the strategy subclass below);
  * bus fill: the order's last ``OrderFilled`` reaches the strategy (``on_order_filled``, the same bus dispatch in
    which the OMS pipeline queues it for the writer);
  * fill row committed: the OMS writer's ``on_batch_committed`` hook (backend/live/oms/writer.py, called right after
    the batch's transaction committed) names that event by its ``ts_init``; no polling of ``fills``.
The baseline measured in the same run is the venue round trip alone (submit -> bus fill); the printout gives p50 /
p99 / max of both per product, the OMS's share (commit - bus fill) and the ratio of the full round trip to the
venue's, for each ``oms.flush_interval_ms`` (the writer's linger, 10 ms by default). Targets: p50 < 10 ms,
p99 < 50 ms for submit -> fill row. Each phase writes into a fresh database on $LIVE_TEST_DATABASE_URL's /
$LIVE_DATABASE_URL's server, else an embedded PostgreSQL; the fills stored are checked against the orders sent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nautilus_trader.model.events import OrderFilled  # noqa: E402

from backend.live.database import Database, start_embedded_server  # noqa: E402
from backend.live.demo import simulator_process  # noqa: E402
from backend.live.strategies.scripted import ScriptedStrategy  # noqa: E402
from backend.live.trading_node import LiveTradingNode  # noqa: E402
from tests.conftest import temporary_database  # noqa: E402
from tests.e2e.live_support import live_config  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

# product key -> (exec client in configs/local-sim.json, instrument id, quantity of one market order)
PRODUCTS: dict[str, tuple[str, str, str]] = {
    "binance-spot": ("BINANCE_SPOT", "BTCUSDT.BINANCE", "0.010"),
    "binance-usdt_futures": ("BINANCE_FUTURES", "BTCUSDT-PERP.BINANCE_FUTURES", "0.010"),
    "bybit-spot": ("BYBIT", "BTCUSDT-SPOT.BYBIT", "0.010"),
    "bybit-linear": ("BYBIT", "BTCUSDT-LINEAR.BYBIT", "0.010"),
    "okx-spot": ("OKX", "BTC-USDT.OKX", "0.010"),
    "okx-swap": ("OKX", "BTC-USDT-SWAP.OKX", "1"),
}
STRATEGY_PATH = "bench.order_roundtrip:TimedScriptedStrategy"


class TimedScriptedStrategy(ScriptedStrategy):
    """The scripted strategy, noting when it submits each order and when the order's fills reach it on the bus."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.submitted_ns: dict[str, int] = {}  # client_order_id -> submit_order called
        self.instrument_of: dict[str, str] = {}  # client_order_id -> instrument id
        self.last_fill: dict[str, tuple[int, int, bool]] = {}  # client_order_id -> (ts_init, on bus, order filled)

    def submit_order(self, order: Any, *args: Any, **kwargs: Any) -> None:
        self.submitted_ns[order.client_order_id.value] = time.perf_counter_ns()
        self.instrument_of[order.client_order_id.value] = order.instrument_id.value
        super().submit_order(order, *args, **kwargs)

    def on_order_filled(self, event: OrderFilled) -> None:
        order = self.cache.order(event.client_order_id)
        self.last_fill[event.client_order_id.value] = (event.ts_init, time.perf_counter_ns(),
                                                       order is not None and order.is_closed)


def selected_products(names: list[str]) -> list[str]:
    chosen = [key for key in PRODUCTS if any(key == n or key.split("-")[0] == n for n in names)]
    unknown = [n for n in names if not any(key == n or key.split("-")[0] == n for key in PRODUCTS)]
    if unknown or not chosen:
        raise SystemExit(f"--venues: unknown {unknown or names}; choose from binance, bybit, okx or "
                         f"{', '.join(PRODUCTS)}")
    return chosen


def actions_for(products: list[str], orders: int) -> list[dict[str, str]]:
    return [{"op": "market", "instrument_id": PRODUCTS[key][1], "side": "BUY" if i % 2 == 0 else "SELL",
             "quantity": PRODUCTS[key][2]} for i in range(orders) for key in products]


def bench_config(work: Path, sim_env: dict[str, str], dsn: str, products: list[str], orders: int, interval: float,
                 flush_ms: int) -> Any:
    """configs/local-sim.json for these products, the timed strategy playing the orders, the writer's linger."""
    config = live_config(work, sim_env, dsn, {PRODUCTS[key][0] for key in products}, actions_for(products, orders),
                         trader_id="RT-001")
    spec = config.trading_node.strategies[0]
    spec = msgspec.structs.replace(spec, strategy_path=STRATEGY_PATH,
                                   config={**spec.config, "interval_secs": interval})
    return msgspec.structs.replace(
        config, oms=msgspec.structs.replace(config.oms, flush_interval_ms=flush_ms),
        trading_node=msgspec.structs.replace(config.trading_node, strategies=[spec]))


async def run_node(config: Any, dsn: str, total: int, holder: dict[str, Any]) -> tuple[Any, dict[int, tuple[int, float]]]:
    """Run the node until every order filled and its fill row committed; the strategy and the commit instants."""
    database = await Database.connect(dsn)
    live = LiveTradingNode(config, database)
    trading_node = holder["node"] = live.build()
    committed_ns: dict[int, tuple[int, float]] = {}  # ts_init of a committed order event -> (when its batch
    # committed, how long the batch's transaction took in s)
    previous_hook = live.writer.on_batch_committed  # the ops metrics' observer: keep it called

    def on_batch_committed(seconds: float, event_init_ns: list[int]) -> None:
        now = time.perf_counter_ns()
        for ts_init in event_init_ns:  # events made together (accepted + filled) may share a ts_init: the last
            committed_ns[ts_init] = (now, seconds)  # commit is the fill's (never earlier than it)
        if previous_hook is not None:
            previous_hook(seconds, event_init_ns)

    live.writer.on_batch_committed = on_batch_committed  # before start: the first order goes out as it starts
    lags: list[float] = []
    probe = asyncio.get_running_loop().create_task(loop_lag(lags))
    try:
        await live.start(timeout_secs=60)
        strategy = trading_node.trader.strategies()[0]
        interval = config.trading_node.strategies[0].config["interval_secs"]
        await wait_until(lambda: strategy.done and sum(f[2] for f in strategy.last_fill.values()) == total
                         and all(f[0] in committed_ns for f in strategy.last_fill.values()),
                         "every order filled and its fill row committed", timeout=total * interval + 60,
                         describe=lambda: f"{len(strategy.submitted_ns)} submitted, "
                                          f"{sum(f[2] for f in strategy.last_fill.values())} filled, "
                                          f"{len(committed_ns)} order events committed")
    finally:
        probe.cancel()
        await live.stop()
    holder["lags"] = lags
    stored = await database.pool.fetchval("SELECT count(DISTINCT venue_order_id) FROM fills")
    await database.close()
    if stored != total:
        raise SystemExit(f"{stored} orders have fill rows, {total} were sent")
    return strategy, committed_ns


def phase(server: str, products: list[str], orders: int, interval: float, flush_ms: int
          ) -> tuple[dict[str, dict[str, list[float]]], list[float], list[float]]:
    """One node run against a fresh simulator and database; per product, in ms: submit -> bus fill ("bus") and
    submit -> fill row committed ("row"), and how long the transaction that wrote the row took ("tx")."""
    holder: dict[str, Any] = {}
    commits: list[float] = []
    venues = tuple(sorted({key.split("-")[0] for key in products}))

    async def main(directory: Path, dsn: str) -> tuple[Any, dict[int, tuple[int, float]]]:
        commits.extend(await commit_baseline(dsn))
        async with simulator_process(directory / "sim", venues=venues) as sim_env:
            config = bench_config(directory, sim_env, dsn, products, orders, interval, flush_ms)
            return await run_node(config, dsn, orders * len(products), holder)

    with tempfile.TemporaryDirectory() as directory, temporary_database(server) as dsn:
        try:
            strategy, committed_ns = asyncio.run(main(Path(directory), dsn))
        finally:
            if "node" in holder:
                holder["node"].dispose()  # outside the loop (tests/e2e/conftest.py)
    key_of = {PRODUCTS[key][1]: key for key in products}
    results: dict[str, dict[str, list[float]]] = {key: {"bus": [], "row": [], "tx": [], "unsent": []}
                                                   for key in products}
    for client_order_id, submitted in strategy.submitted_ns.items():
        if client_order_id not in strategy.last_fill:  # submit_order raised (logged): the step sent a new order
            results[key_of[strategy.instrument_of[client_order_id]]]["unsent"].append(0.0)
            continue
        ts_init, on_bus, _ = strategy.last_fill[client_order_id]
        timings = results[key_of[strategy.instrument_of[client_order_id]]]
        timings["bus"].append((on_bus - submitted) / 1e6)
        committed, transaction_secs = committed_ns[ts_init]
        timings["row"].append((committed - submitted) / 1e6)
        timings["tx"].append(transaction_secs * 1000)
    return results, commits, holder["lags"]


async def loop_lag(lags: list[float]) -> None:
    """ms by which a 1 ms sleep on the node's event loop overshoots: how long a ready callback (each of the
    writer's round trips to PostgreSQL, say) waits behind the node's other work."""
    while True:
        started = time.perf_counter_ns()
        await asyncio.sleep(0.001)
        lags.append((time.perf_counter_ns() - started) / 1e6 - 1)


async def commit_baseline(dsn: str, count: int = 200) -> list[float]:
    """ms of one autocommitted single-row INSERT on the same server: PostgreSQL's own floor for a committed row."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE commit_probe (n integer)")
        timings = []
        for n in range(count):
            started = time.perf_counter_ns()
            await conn.execute("INSERT INTO commit_probe (n) VALUES ($1)", n)
            timings.append((time.perf_counter_ns() - started) / 1e6)
        await conn.execute("DROP TABLE commit_probe")
        return timings
    finally:
        await conn.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):6.2f}  p99 {percentile(values, 0.99):6.2f}  "
            f"max {max(values):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200, help="market orders per product")
    parser.add_argument("--venues", nargs="+", default=["binance", "bybit", "okx"],
                        help=f"venues or products ({', '.join(PRODUCTS)})")
    parser.add_argument("--interval", type=float, default=0.03, help="seconds between two orders of the strategy")
    parser.add_argument("--flush-ms", type=int, nargs="+", default=[10, 2], help="oms.flush_interval_ms values")
    args = parser.parse_args()
    products = selected_products(args.venues)
    os.environ.setdefault("E2E_LOG_LEVEL", "ERROR")  # not NautilusTrader's warnings about residual positions at stop
    server = (os.environ.get("LIVE_TEST_DATABASE_URL") or os.environ.get("LIVE_DATABASE_URL")
              or start_embedded_server(Path(tempfile.mkdtemp()) / "pg"))
    print(f"{args.orders} market orders per product, one every {args.interval * 1000:g} ms over {len(products)} "
          "products; venue = submit -> OrderFilled on the bus (baseline), row = submit -> fill row committed")
    for flush_ms in args.flush_ms:
        results, commits, lags = phase(server, products, args.orders, args.interval, flush_ms)
        print(f"oms.flush_interval_ms {flush_ms}: one autocommitted INSERT on this server {summary(commits)}; "
              f"the node's event loop lag {summary(lags)}")
        for key, timings in results.items():
            bus, row = timings["bus"], timings["row"]
            oms = [r - b for r, b in zip(row, bus, strict=True)]
            verdict = "ok" if statistics.median(row) < 10 and percentile(row, 0.99) < 50 else "MISSES target"
            unsent = f", {len(timings['unsent'])} submits raised" if timings["unsent"] else ""
            print(f"  {key:<21} venue {summary(bus)} | fill row {summary(row)} [{verdict}{unsent}]")
            print(f"  {'':<21} OMS share p50 {statistics.median(oms):5.2f} ms (its transaction "
                  f"{statistics.median(timings['tx']):5.2f} ms); fill row / venue: p50 "
                  f"{statistics.median(row) / statistics.median(bus):4.1f}x, p99 "
                  f"{percentile(row, 0.99) / percentile(bus, 0.99):4.1f}x")
        every = [v for t in results.values() for v in t["row"]]
        print(f"  {'all':<21} fill row {summary(every)} ({len(every)} orders)")


if __name__ == "__main__":
    main()
