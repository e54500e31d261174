"""Order throughput of the simulator's Binance REST path: signed limit orders + cancels over 127.0.0.1.

The simulator runs as it is deployed, in its own process (``venuesim``, real-time clock); the aiohttp client runs in
this one. Each order is one signed
``POST /api/v3/order`` (a GTC limit far from the market, so it rests) then one signed ``DELETE /api/v3/order``: an
order counts once it is placed and cancelled. The baseline sends orders one at a time; the measured run keeps
``--concurrency`` orders in flight. Each is run ``--repeat`` times and the best run is reported (other processes on
the machine only ever slow a run down). Prints orders/s, requests/s and the ratio against the baseline.

    .venv/bin/python bench/sim_orders.py [--orders 5000] [--concurrency 48] [--baseline-orders 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from backend.simulator.config import DEMO_ACCOUNT_ID  # noqa: E402
from backend.simulator.venues.binance.client import SignedClient, hmac_signer  # noqa: E402
from backend.simulator.venues.binance.defaults import DEMO_BINANCE_HMAC_KEY, DEMO_BINANCE_HMAC_SECRET  # noqa: E402

TARGET_ORDERS_PER_SEC = 2_000


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


async def orders_per_second(client: SignedClient, numbers: Iterator[int], orders: int, concurrency: int) -> float:
    batch = [next(numbers) for _ in range(orders)]
    pending = iter(batch)

    async def worker() -> None:
        for number in pending:
            await order_round_trip(client, number)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"    {orders} orders, {concurrency} in flight: {orders / wall:7.0f} orders/s wall, "
          f"{orders / cpu:7.0f} per client CPU-second")
    return orders / wall


async def main(orders: int, concurrency: int, baseline_orders: int, repeat: int) -> float:
    # Eager tasks (Python 3.12): aiohttp's per-request tasks start at once instead of one loop turn later.
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    with tempfile.TemporaryDirectory() as work_dir:
        env_file = Path(work_dir) / "sim.env"
        simulator = subprocess.Popen(
            [sys.executable, "-m", "backend.simulator.cli", "--venues", "binance", "--env-file", str(env_file)],
            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
        )
        try:
            while not env_file.exists():
                if simulator.poll() is not None:
                    raise RuntimeError(f"venuesim exited with code {simulator.returncode}")
                await asyncio.sleep(0.05)
            base_url = next(line.split("=", 1)[1] for line in env_file.read_text().splitlines()
                            if line.startswith("SIM_BINANCE_SPOT_HTTP="))
            # No cookie jar and no client-side timeouts: per-request work the simulator's answers never need.
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                             cookie_jar=aiohttp.DummyCookieJar(),
                                             timeout=aiohttp.ClientTimeout(total=None)) as session:
                client = SignedClient(session, base_url, DEMO_BINANCE_HMAC_KEY, hmac_signer(DEMO_BINANCE_HMAC_SECRET),
                                      lambda: time.time_ns() // 1_000_000)  # the simulator runs on the wall clock
                numbers = itertools.count()
                await orders_per_second(client, numbers, 200, concurrency)  # warm-up: connections and code paths
                baselines = [await orders_per_second(client, numbers, baseline_orders, 1) for _ in range(repeat)]
                measured_runs = [await orders_per_second(client, numbers, orders, concurrency) for _ in range(repeat)]
                async with session.get(f"{base_url}/_sim/state") as response:
                    state = await response.json()
            placed = next(numbers)
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)
    left_open = state["markets"]["spot"]["accounts"][DEMO_ACCOUNT_ID]["open_orders"]
    if left_open:
        raise RuntimeError(f"{len(left_open)} orders were left open")
    baseline, measured = max(baselines), max(measured_runs)
    print(f"simulator Binance spot REST (venuesim process): {placed} signed limit orders placed and cancelled "
          f"(2 requests each)")
    print(f"  baseline, one at a time : {baseline:7.0f} orders/s ({2 * baseline:7.0f} requests/s)  "
          f"runs: {', '.join(f'{r:.0f}' for r in baselines)}")
    print(f"  {concurrency:3d} in flight          : {measured:7.0f} orders/s ({2 * measured:7.0f} requests/s)  "
          f"runs: {', '.join(f'{r:.0f}' for r in measured_runs)}")
    print(f"  ratio vs baseline       : {measured / baseline:7.2f}x")
    verdict = "met" if measured >= TARGET_ORDERS_PER_SEC else "NOT met"
    print(f"  target {TARGET_ORDERS_PER_SEC} orders/s    : {verdict}")
    return measured


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--baseline-orders", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.concurrency, args.baseline_orders, args.repeat))
