"""A strategy that plays a fixed list of order actions, one per interval: the demo's trader and the e2e tests'.

Each action names an instrument and what to do: a market order, a limit order priced at an offset (in basis points)
from the current quote, or a modify / cancel of the most recent open order in that instrument. Limit prices are
rounded to the instrument's tick; quantities are exact decimal strings in the venue's units.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy


class OrderAction(StrategyConfig, frozen=True):
    op: str  # market | limit | modify | cancel
    instrument_id: str
    side: str = "BUY"
    quantity: str = "0"
    offset_bps: int = 0  # limit price = mid * (1 + offset_bps / 10_000); negative = below the market
    time_in_force: str = "GTC"
    post_only: bool = False
    reduce_only: bool = False


class ScriptedStrategyConfig(StrategyConfig, frozen=True):
    actions: list[OrderAction]
    interval_secs: float = 1.0
    subscribe_quotes: bool = True


class ScriptedStrategy(Strategy):
    def __init__(self, config: ScriptedStrategyConfig) -> None:
        super().__init__(config)
        self._actions = list(config.actions)
        self._next = 0
        self._last_order: dict[InstrumentId, Order] = {}
        self.done = False

    def on_start(self) -> None:
        instrument_ids = {InstrumentId.from_str(a.instrument_id) for a in self._actions}
        for instrument_id in sorted(instrument_ids, key=str):
            if self.cache.instrument(instrument_id) is None:
                self.log.error(f"Instrument {instrument_id} not loaded: check the client's instrument_ids")
                continue
            if self.config.subscribe_quotes:
                self.subscribe_quote_ticks(instrument_id)
        self.clock.set_timer("scripted-step", interval=timedelta(seconds=self.config.interval_secs), callback=self._on_step)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        pass  # quotes land in the cache; limit prices are taken from there

    def _on_step(self, _event: object) -> None:
        if self._next >= len(self._actions):
            if not self.done:
                self.done = True
                self.log.info("Script complete")
            return
        action = self._actions[self._next]
        if self._act(action):
            self._next += 1

    def _act(self, action: OrderAction) -> bool:
        """Run one action; False means "not yet" (no quote to price a limit order from)."""
        instrument_id = InstrumentId.from_str(action.instrument_id)
        instrument = self.cache.instrument(instrument_id)
        if instrument is None:
            self.log.error(f"Skipping {action.op} on {instrument_id}: instrument not loaded")
            return True
        side = OrderSide[action.side]
        if action.op == "market":
            order = self.order_factory.market(
                instrument_id, side, instrument.make_qty(Decimal(action.quantity)), reduce_only=action.reduce_only
            )
        elif action.op == "limit":
            price = self._price(instrument, action.offset_bps)
            if price is None:
                return False
            order = self.order_factory.limit(
                instrument_id, side, instrument.make_qty(Decimal(action.quantity)), price,
                time_in_force=TimeInForce[action.time_in_force], post_only=action.post_only,
                reduce_only=action.reduce_only,
            )
        elif action.op in ("modify", "cancel"):
            target = self._last_order.get(instrument_id)
            if target is None or target.is_closed:
                self.log.warning(f"No open order in {instrument_id} to {action.op}")
                return True
            if action.op == "cancel":
                self.cancel_order(target)
            else:
                price = self._price(instrument, action.offset_bps)
                quantity = instrument.make_qty(Decimal(action.quantity)) if Decimal(action.quantity) else None
                self.modify_order(target, quantity=quantity, price=price)
            return True
        else:
            self.log.error(f"Unknown action {action.op!r}")
            return True
        self._last_order[instrument_id] = order
        self.submit_order(order)
        return True

    def _price(self, instrument, offset_bps: int):
        quote = self.cache.quote_tick(instrument.id)
        if quote is None:
            return None
        mid = (quote.bid_price.as_decimal() + quote.ask_price.as_decimal()) / 2
        return instrument.make_price(mid * (Decimal(10_000) + offset_bps) / Decimal(10_000))

    def on_stop(self) -> None:
        self.clock.cancel_timers()
