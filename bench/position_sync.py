"""Position sync cost per cycle: the incremental tracker against the full recompute, in the same run.

Usage: python bench/position_sync.py [--instruments 3334] [--fills-per-position 100] [--changed 0.01] [--cycles 20]
The cache holds one open position per instrument on each of three venues (Binance, Bybit, OKX: 10,002 open positions,
netted per canonical instrument across the venues) with ``--fills-per-position`` fills each (1M fills by default).
Each cycle gives ``--changed`` of the positions one more fill, then runs one ``PositionSync.sync`` (read + write).
The server is $LIVE_TEST_DATABASE_URL's, else an embedded PostgreSQL; each variant writes into its own fresh
database. Prints ms per cycle for the tracker and for the full recompute (every fill of every position, the sync
before issue 16), their ratio, and rows written per cycle against canonical instruments touched.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import LiquiditySide, OmsType, OrderSide, OrderType
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
)
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.component import TestComponentStubs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.live.database import Database, start_embedded_server  # noqa: E402
from backend.live.oms.convert import InstrumentRef  # noqa: E402
from backend.live.positions import PositionSync, PositionTracker, everything, read_positions  # noqa: E402
from bench.oms_writer import drop_database, fresh_database  # noqa: E402

VENUES = ("BINANCE", "BYBIT", "OKX")
TRADER, STRATEGY = TraderId("BENCH-001"), StrategyId("S-001")
_ids = itertools.count(1)


def instruments(count: int) -> list[CryptoPerpetual]:
    template = CryptoPerpetual.to_dict(TestInstrumentProvider.btcusdt_perp_binance())
    result = []
    for venue, i in itertools.product(VENUES, range(count)):
        values = dict(template, id=f"C{i}USDT-PERP.{venue}", raw_symbol=f"C{i}USDT")
        result.append(CryptoPerpetual.from_dict(values))
    return result


def make_fill(instrument: CryptoPerpetual, account: AccountId, side: OrderSide, qty: Quantity, px: Price) -> OrderFilled:
    n = next(_ids)
    return OrderFilled(
        TRADER, STRATEGY, instrument.id, ClientOrderId(f"O-{n}"), VenueOrderId(str(n)), account, TradeId(str(n)),
        PositionId(f"P-{instrument.id.value}"), side, OrderType.MARKET, qty, px, instrument.quote_currency,
        Money(0, instrument.quote_currency), LiquiditySide.TAKER, UUID4(), n, n,
    )


class Book:
    """The cache an execution engine would leave: positions built fill by fill, a fill applied as the engine does."""

    def __init__(self, count: int, fills_per_position: int) -> None:
        self.cache = TestComponentStubs.cache()
        self.instruments = instruments(count)
        self.refs = {i.id.value: InstrumentRef(i.id.value, f"{i.raw_symbol.value[:-4]}/USDT:USDT",
                                               i.id.venue.value, Decimal(1)) for i in self.instruments}
        self.accounts = {venue: AccountId(f"{venue}-001") for venue in VENUES}
        self.rng = random.Random(7)
        self.listeners: list[PositionTracker] = []
        for instrument in self.instruments:
            self.cache.add_instrument(instrument)
            position = None
            for k in range(fills_per_position):
                fill = self.next_fill(instrument, buy=k % 3 != 2)  # two buys, one sell: stays long
                if position is None:
                    position = Position(instrument, fill)
                    self.cache.add_position(position, OmsType.NETTING)
                else:
                    position.apply(fill)

    def ref_for(self, instrument) -> InstrumentRef:
        return self.refs[instrument.id.value]

    def next_fill(self, instrument: CryptoPerpetual, buy: bool) -> OrderFilled:
        px = Price(60000 + self.rng.randint(-500, 500) / 10, 1)
        qty = Quantity(self.rng.randint(2, 5) / 1000 if buy else 0.001, 3)  # never flat: every position stays open
        return make_fill(instrument, self.accounts[instrument.id.venue.value], OrderSide.BUY if buy else OrderSide.SELL,
                         qty, px)

    def change(self, share: float) -> set[str]:
        """One more fill on ``share`` of the positions; returns the canonical instruments touched."""
        touched = set()
        for instrument in self.rng.sample(self.instruments, max(1, int(len(self.instruments) * share))):
            fill = self.next_fill(instrument, buy=self.rng.random() < 0.6)
            position = self.cache.position(fill.position_id)
            position.apply(fill)
            self.cache.update_position(position)
            for listener in self.listeners:
                listener.on_order_event(fill)
            touched.add(self.refs[instrument.id.value].canonical_id)
        return touched


async def measure(book: Book, sync: PositionSync, share: float, cycles: int) -> tuple[list[float], list[tuple[int, int]]]:
    await sync.load()
    await sync.sync()  # the first sync writes everything (the tracker scans the cache once): not a steady cycle
    times, written = [], []
    for _ in range(cycles):
        touched = book.change(share)
        started = time.perf_counter()
        rows = await sync.sync()
        times.append((time.perf_counter() - started) * 1000)
        written.append((rows, len(touched)))
    return times, written


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instruments", type=int, default=3334, help="per venue (3 venues)")
    parser.add_argument("--fills-per-position", type=int, default=100)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--baseline-cycles", type=int, default=3)
    args = parser.parse_args()
    server = os.environ.get("LIVE_TEST_DATABASE_URL") or start_embedded_server(Path(tempfile.mkdtemp()) / "pg")

    started = time.perf_counter()
    book = Book(args.instruments, args.fills_per_position)
    positions = len(book.cache.positions_open())
    fills = sum(p.event_count for p in book.cache.positions())
    print(f"cache: {positions} open positions on {len(VENUES)} venues, {fills} fills "
          f"(built in {time.perf_counter() - started:.0f} s); {args.changed:.1%} of positions change per cycle")

    results = {}
    for name in ("incremental", "full recompute"):
        db_name, dsn = await fresh_database(server)
        try:
            db = await Database.connect(dsn, max_size=2)
            if name == "incremental":
                tracker = PositionTracker(book.cache, book.ref_for)
                book.listeners = [tracker]
                read, cycles = tracker.read, args.cycles
            else:
                book.listeners = []
                read, cycles = everything(lambda: read_positions(book.cache, book.ref_for)), args.baseline_cycles
            sync = PositionSync(db.pool, "BENCH-001", read=read, pnl_currency_for=lambda _: "USDT",
                                clock_ns=time.time_ns)
            results[name] = await measure(book, sync, args.changed, cycles)
            await db.close()
        finally:
            await drop_database(server, db_name)

    for name, (times, written) in results.items():
        exact = all(rows == touched for rows, touched in written)
        print(f"{name:>15}: p50 {statistics.median(times):8.1f} ms/cycle, max {max(times):8.1f} ms "
              f"({len(times)} cycles); rows written per cycle {statistics.mean(r for r, _ in written):.0f} = canonical "
              f"instruments touched: {'yes' if exact else 'NO'}")
    ratio = statistics.median(results["full recompute"][0]) / statistics.median(results["incremental"][0])
    print(f"incremental is {ratio:.0f}x faster per cycle than the full recompute (target: < 200 ms per cycle)")


if __name__ == "__main__":
    asyncio.run(main())
