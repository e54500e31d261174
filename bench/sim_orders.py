"""Order throughput of the simulator's Binance REST path: signed limit orders + cancels over 127.0.0.1.

The simulator runs in this process (``run_simulator``, its own event loop). The load comes from one client process
(aiohttp) so the two do not share a core's event loop: we measure the simulator, not the load generator. Each order is
one signed ``POST /api/v3/order`` (a GTC limit far from the market, so it rests) then one signed
``DELETE /api/v3/order``. The baseline sends them one at a time; the measured run keeps ``--concurrency`` orders in
flight. Prints orders/s (placed and cancelled), requests/s and the ratio against the baseline of the same run.

    .venv/bin/python bench/sim_orders.py [--orders 6000] [--concurrency 64] [--baseline-orders 300]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.simulator.config import DEMO_BINANCE_HMAC_KEY, DEMO_BINANCE_HMAC_SECRET, SimConfig  # noqa: E402
from backend.simulator.harness import run_simulator  # noqa: E402
from backend.simulator.venues.binance.client import SignedClient, hmac_signer  # noqa: E402

TARGET_ORDERS_PER_SEC = 2_000
WARM_UP_ORDERS = 50


async def order_round_trip(client: SignedClient, number: int) -> None:
    """Place one resting limit order and cancel it; fail loudly on any non-200 answer."""
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001",
              "price": "40000", "newClientOrderId": f"bench-{number}"}
    status, body = await client.request("POST", "/api/v3/order", params)
    if status != 200:
        raise RuntimeError(f"new order {number}: HTTP {status} {body}")
    status, body = await client.request("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": body["orderId"]})
    if status != 200:
        raise RuntimeError(f"cancel {number}: HTTP {status} {body}")


async def _load(url: str, orders: int, concurrency: int, first_number: int) -> float:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        client = SignedClient(session, url, DEMO_BINANCE_HMAC_KEY, hmac_signer(DEMO_BINANCE_HMAC_SECRET))
        for number in range(first_number, first_number + WARM_UP_ORDERS):
            await order_round_trip(client, number)
        numbers = iter(range(first_number + WARM_UP_ORDERS, first_number + WARM_UP_ORDERS + orders))

        async def worker() -> None:
            for number in numbers:
                await order_round_trip(client, number)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return orders / (time.perf_counter() - started)


def run_load(url: str, orders: int, concurrency: int, first_number: int) -> float:
    """In the client process: orders/s for ``orders`` round trips with ``concurrency`` in flight (after a warm-up)."""
    return asyncio.run(_load(url, orders, concurrency, first_number))


async def main(orders: int, concurrency: int, baseline_orders: int) -> float:
    # The node-less default: real-time clock (the client signs with its wall clock), no background market ticks.
    config = SimConfig.default(venues=("binance",), tick_interval_ms=0)
    loop = asyncio.get_running_loop()
    async with run_simulator(config) as sim:
        url = sim.urls["binance"]["spot"]
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as clients:
            baseline = await loop.run_in_executor(clients, run_load, url, baseline_orders, 1, 0)
            measured = await loop.run_in_executor(clients, run_load, url, orders, concurrency, 1_000_000)
        exchange = sim.exchange("binance", "spot")
        left_open = exchange.open_orders("demo")
        placed = len(exchange.order_history("demo"))
    if left_open:
        raise RuntimeError(f"{len(left_open)} orders were left open")
    print(f"simulator Binance spot REST: {placed} orders placed and cancelled (2 signed requests each), "
          "client in a separate process")
    print(f"  baseline, one at a time : {baseline:8.0f} orders/s ({2 * baseline:8.0f} requests/s)")
    print(f"  {concurrency:3d} in flight          : {measured:8.0f} orders/s ({2 * measured:8.0f} requests/s)")
    print(f"  ratio vs baseline       : {measured / baseline:8.2f}x")
    verdict = "met" if measured >= TARGET_ORDERS_PER_SEC else "NOT met"
    print(f"  target {TARGET_ORDERS_PER_SEC} orders/s    : {verdict}")
    return measured


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--baseline-orders", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.concurrency, args.baseline_orders))
