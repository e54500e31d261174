"""Seeded random-walk market for one symbol: last price, a symmetric book around it, public trade flow.

The book is synthetic: ``depth`` levels each side, one tick apart, each holding ``liquidity``. Best bid is one tick
below the last price and best ask one tick above. Our own taker orders consume levels but the book refills
immediately (the simulated market is deep and does not move because of us); only ``step`` / ``set_price`` move it.
"""

from __future__ import annotations

import random
from decimal import ROUND_DOWN, Decimal

from backend.simulator.core.instruments import SimInstrument

BPS = Decimal("0.0001")


class SimMarket:
    __slots__ = ("instrument", "depth", "last_price", "liquidity", "update_id", "_rng", "_max_step_ticks")

    def __init__(self, instrument: SimInstrument, seed: int | str, depth: int = 10) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.instrument = instrument
        self.depth = depth
        self.last_price = self._to_tick(instrument.start_price)
        self.liquidity = self._to_lot(instrument.liquidity)
        self.update_id = 1
        self._rng = random.Random(f"{seed}:{instrument.symbol}:market")
        self._max_step_ticks = self._step_ticks()

    # -- book ------------------------------------------------------------------------------------------------------

    @property
    def best_bid(self) -> Decimal:
        return self.last_price - self.instrument.tick_size

    @property
    def best_ask(self) -> Decimal:
        return self.last_price + self.instrument.tick_size

    def bids(self) -> list[tuple[Decimal, Decimal]]:
        tick, best = self.instrument.tick_size, self.best_bid
        return [(best - tick * i, self.liquidity) for i in range(self.depth) if best - tick * i > 0]

    def asks(self) -> list[tuple[Decimal, Decimal]]:
        tick, best = self.instrument.tick_size, self.best_ask
        return [(best + tick * i, self.liquidity) for i in range(self.depth)]

    def levels_against(self, side: str) -> list[tuple[Decimal, Decimal]]:
        """Levels a taker on ``side`` consumes, best first (a buyer takes asks)."""
        return self.asks() if side == "BUY" else self.bids()

    # -- movement --------------------------------------------------------------------------------------------------

    def set_price(self, price: Decimal) -> None:
        if price <= 0:
            raise ValueError("price must be positive")
        self.last_price = self._to_tick(price)
        self._max_step_ticks = self._step_ticks()
        self.update_id += 1

    def set_liquidity(self, quantity: Decimal) -> None:
        lots = self._to_lot(quantity)
        if lots <= 0:
            raise ValueError(f"liquidity must be at least one lot ({self.instrument.lot_size})")
        self.liquidity = lots
        self.update_id += 1

    def random_step(self) -> tuple[Decimal, str]:
        """Move the last price by a seeded random number of ticks (about +-1 bp at most); return the printed public
        trade ``(quantity, taker side)``."""
        rng, tick = self._rng, self.instrument.tick_size
        moved = rng.randint(-self._max_step_ticks, self._max_step_ticks)
        if self.last_price + tick * moved <= tick:
            moved = abs(moved)
        self.last_price += tick * moved
        self.update_id += 1
        quantity = max(self.instrument.lot_size * rng.randint(1, 10), self.instrument.min_quantity)
        side = "BUY" if moved > 0 or (moved == 0 and rng.random() < 0.5) else "SELL"
        return quantity, side

    def _step_ticks(self) -> int:
        return max(1, int(self.last_price * BPS / self.instrument.tick_size))

    def _to_tick(self, price: Decimal) -> Decimal:
        tick = self.instrument.tick_size
        return max(((price / tick).to_integral_value(ROUND_DOWN) * tick).quantize(tick), tick)

    def _to_lot(self, quantity: Decimal) -> Decimal:
        lot = self.instrument.lot_size
        return ((quantity / lot).to_integral_value(ROUND_DOWN) * lot).quantize(lot)
