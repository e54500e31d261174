"""SimExchange: one matching venue (e.g. "binance-spot") with its instruments, markets, accounts and orders.

Every public method either completes or raises ``SimError`` before changing anything. Events go to listeners
synchronously, in the order things happen (see ``events.py``). Methods hand out snapshots, never live objects.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from backend.simulator.core.accounts import (
    DEFAULT_PERPETUAL_FEES,
    DEFAULT_SPOT_FEES,
    AccountState,
    FeeSchedule,
    Ledger,
    MarginSnapshot,
    SimAccount,
    margin_snapshot,
    position_snapshot,
)
from backend.simulator.core.clock import SimClock
from backend.simulator.core.errors import Reason, SimError
from backend.simulator.core.events import (
    AccountUpdate,
    BookUpdate,
    OrderUpdate,
    OrderUpdateKind,
    PositionSnapshot,
    PositionUpdate,
    PublicTrade,
    SimEvent,
)
from backend.simulator.core.faults import FaultState
from backend.simulator.core.funding import FundingPayment, FundingSchedule
from backend.simulator.core.instruments import SimInstrument
from backend.simulator.core.market import SimMarket
from backend.simulator.core.orders import ORDER_TYPES, SIDES, TIMES_IN_FORCE, SimFill, SimOrder
from backend.simulator.core.rules import (
    available_quantity,
    check_filters,
    crosses,
    market_buy_cost,
    stop_triggered,
)

log = logging.getLogger(__name__)

ZERO = Decimal(0)
Listener = Callable[[SimEvent], object]
RECENT_TRADES_KEPT = 1000


class SimExchange:
    def __init__(
        self,
        name: str,
        instruments: Iterable[SimInstrument],
        clock: SimClock,
        seed: int,
        fees: FeeSchedule | None = None,
        *,
        depth: int = 10,
        faults: FaultState | None = None,
        default_leverage: int = 10,
        maintenance_margin_rate: Decimal = Decimal("0.005"),
        asset_places: int = 8,
    ) -> None:
        """``asset_places``: decimals balances move in; fees, realized PnL and margin holds are rounded to it (half
        up) so a client keeping 8-decimal money (NautilusTrader) sees exactly the simulator's balances."""
        self.name = name
        self.asset_quantum = Decimal(1).scaleb(-asset_places)
        self.clock = clock
        self.faults = faults
        self.default_leverage = default_leverage
        self.maintenance_margin_rate = maintenance_margin_rate
        self.instruments: dict[str, SimInstrument] = {}
        self.markets: dict[str, SimMarket] = {}
        for instrument in instruments:
            if instrument.symbol in self.instruments:
                raise ValueError(f"{name}: duplicate instrument {instrument.symbol}")
            self.instruments[instrument.symbol] = instrument
            self.markets[instrument.symbol] = SimMarket(instrument, seed=f"{seed}:{name}", depth=depth)
        kinds = {i.kind for i in self.instruments.values()}
        if len(kinds) > 1:
            raise ValueError(f"{name}: mixes spot and perpetual instruments; use one exchange per market")
        self.kind = kinds.pop() if kinds else "spot"
        self.fees = fees or (DEFAULT_PERPETUAL_FEES if self.kind == "perpetual" else DEFAULT_SPOT_FEES)
        if clock.manual:  # deterministic mode: ids depend on the seed only
            ids = random.Random(f"{seed}:{name}:ids")
            self._next_order_id = ids.randrange(100_000_000, 900_000_000)
            self._next_trade_id = ids.randrange(100_000_000, 900_000_000)
        else:
            # A restarted venue never reuses an order or trade id (clients and the OMS key on them): start from the
            # wall clock, and keep each market of a venue in its own range (ids are looked up venue-wide).
            market_range = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % 1000 * 10**9
            self._next_order_id = self._next_trade_id = clock.now_ms() * 1000 + market_range
        self._accounts: dict[str, AccountState] = {}
        self._orders: dict[int, SimOrder] = {}
        self._client_ids: dict[tuple[str, str], int] = {}
        self._open: dict[str, dict[int, SimOrder]] = {symbol: {} for symbol in self.instruments}
        self._history: dict[tuple[str, str | None], list[SimOrder]] = {}
        self._fills: dict[tuple[str, str | None], list[SimFill]] = {}
        self._recent_trades: dict[str, deque[PublicTrade]] = {
            symbol: deque(maxlen=RECENT_TRADES_KEPT) for symbol in self.instruments
        }
        self._listeners: list[Listener] = []
        self.funding = FundingSchedule(self.instruments, clock.now_ms()) if self.kind == "perpetual" else None

    # -- setup -----------------------------------------------------------------------------------------------------

    def add_account(
        self,
        account_id: str,
        balances: Mapping[str, Decimal] | None = None,
        *,
        ledger: Ledger | None = None,
        fees: FeeSchedule | None = None,
    ) -> SimAccount:
        """Open an account with ``balances``, or trading from a shared ``ledger`` (unified accounts)."""
        if account_id in self._accounts:
            raise ValueError(f"{self.name}: account {account_id} already exists")
        if ledger is not None and balances:
            raise ValueError("pass either balances or a shared ledger, not both")
        self._accounts[account_id] = AccountState(
            account_id=account_id,
            ledger=ledger if ledger is not None else Ledger(balances),
            fees=fees or self.fees,
            default_leverage=self.default_leverage,
        )
        return self.account(account_id)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    # -- queries ---------------------------------------------------------------------------------------------------

    def instrument(self, symbol: str) -> SimInstrument:
        instrument = self.instruments.get(symbol)
        if instrument is None:
            raise SimError(Reason.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}", field="symbol")
        return instrument

    def market(self, symbol: str) -> SimMarket:
        self.instrument(symbol)
        return self.markets[symbol]

    @property
    def account_ids(self) -> list[str]:
        return list(self._accounts)

    def account(self, account_id: str) -> SimAccount:
        state = self._account(account_id)
        now = self.clock.now_ms()
        positions = {
            symbol: self._position_snapshot(state, symbol, now)
            for symbol, position in state.positions.items()
            if position.quantity != 0 or position.realized_pnl != 0
        }
        return SimAccount(
            account_id=account_id,
            exchange=self.name,
            fees=state.fees,
            balances={b.asset: b for b in state.ledger.snapshots()},
            positions=positions,
            margins=self._margins(state, positions.values()),
            leverage={s: state.leverage_for(s) for s in self.instruments} if self.kind == "perpetual" else {},
        )

    def position(self, account_id: str, symbol: str) -> PositionSnapshot:
        """The account's position in ``symbol`` (flat when it never traded it)."""
        self.instrument(symbol)
        return self._position_snapshot(self._account(account_id), symbol, self.clock.now_ms())

    def get_order(
        self, account_id: str, symbol: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> SimOrder:
        return self._find_order(account_id, symbol, order_id, client_order_id).snapshot()

    def open_orders(self, account_id: str, symbol: str | None = None) -> list[SimOrder]:
        self._account(account_id)
        symbols = [self.instrument(symbol).symbol] if symbol is not None else list(self._open)
        return [o.snapshot() for s in symbols for o in self._open[s].values() if o.account_id == account_id]

    def order_history(self, account_id: str, symbol: str | None = None) -> list[SimOrder]:
        """Every order the account placed (open and closed), oldest first."""
        self._account(account_id)
        if symbol is not None:
            self.instrument(symbol)
        return [o.snapshot() for o in self._history.get((account_id, symbol), ())]

    def fills(self, account_id: str, symbol: str | None = None) -> list[SimFill]:
        self._account(account_id)
        if symbol is not None:
            self.instrument(symbol)
        return list(self._fills.get((account_id, symbol), ()))

    def recent_trades(self, symbol: str, limit: int = 500) -> list[PublicTrade]:
        """Latest public trades of ``symbol``, oldest first."""
        trades = self._recent_trades[self.instrument(symbol).symbol]
        return list(trades)[-limit:] if limit > 0 else []

    def book(self, symbol: str) -> BookUpdate:
        """Current top of book as a BookUpdate record (not emitted)."""
        market = self.market(symbol)
        return self._book_update(market, self.clock.now_ms())

    # -- account changes -------------------------------------------------------------------------------------------

    def set_leverage(self, account_id: str, symbol: str, leverage: int) -> None:
        instrument = self.instrument(symbol)
        if not instrument.is_perpetual:
            raise SimError(Reason.LEVERAGE_NOT_ALLOWED, "leverage applies to perpetuals only", field="leverage")
        if not 1 <= leverage <= 125:
            raise SimError(Reason.LEVERAGE_OUT_OF_RANGE, "must be between 1 and 125", field="leverage")
        self._account(account_id).leverage[symbol] = leverage

    def adjust_balance(self, account_id: str, asset: str, delta: Decimal) -> None:
        """Deposit (positive) or withdraw (negative) ``delta`` of ``asset`` (tests and the control API)."""
        state = self._account(account_id)
        if state.ledger.free(asset) + delta < 0:
            raise SimError(Reason.INSUFFICIENT_BALANCE, f"cannot withdraw {-delta} {asset}", field="amount")
        state.ledger.change_total(asset, delta)
        self._emit_balances(state, "ADJUSTMENT", (asset,), self.clock.now_ms())

    def book_funding(self, payment: FundingPayment) -> None:
        """Move the wallet by a funding payment (``core/funding.py`` computes it); the balance may go negative."""
        state = self._account(payment.account_id)
        state.ledger.change_total(payment.asset, payment.amount)
        self._emit(payment)
        self._emit_balances(state, "FUNDING", (payment.asset,), payment.time_ms)

    # -- trading ---------------------------------------------------------------------------------------------------

    def place_order(
        self,
        account_id: str,
        symbol: str,
        side: str,
        order_type: str,
        quantity: Decimal | None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        time_in_force: str = "GTC",
        post_only: bool = False,
        reduce_only: bool = False,
        client_order_id: str | None = None,
    ) -> SimOrder:
        state = self._account(account_id)
        instrument = self.instrument(symbol)
        market = self.markets[symbol]
        if side not in SIDES:
            raise SimError(Reason.INVALID_SIDE, f"invalid side {side!r}", field="side")
        if order_type not in ORDER_TYPES:
            raise SimError(Reason.INVALID_ORDER_TYPE, f"invalid order type {order_type!r}", field="order_type")
        if time_in_force not in TIMES_IN_FORCE:
            raise SimError(Reason.INVALID_TIME_IN_FORCE, f"invalid time in force {time_in_force!r}", field="time_in_force")
        if quantity is None:
            raise SimError(Reason.MISSING_QUANTITY, "is required", field="quantity")
        if order_type in ("LIMIT", "STOP_LIMIT") and price is None:
            raise SimError(Reason.MISSING_PRICE, f"is required for {order_type} orders", field="price")
        if order_type in ("STOP_MARKET", "STOP_LIMIT") and trigger_price is None:
            raise SimError(Reason.MISSING_TRIGGER_PRICE, f"is required for {order_type} orders", field="trigger_price")
        if order_type in ("MARKET", "STOP_MARKET"):
            price = None
        if order_type in ("MARKET", "LIMIT"):
            trigger_price = None
        post_only = post_only or time_in_force == "GTX"
        if post_only and (order_type != "LIMIT" or time_in_force in ("IOC", "FOK")):
            raise SimError(Reason.POST_ONLY_NOT_ALLOWED, "post-only applies to GTC limit orders only", field="post_only")
        if client_order_id is not None:
            self._check_client_id_free(account_id, client_order_id)
        check_filters(instrument, market, quantity, price, trigger_price, reduce_only)
        if reduce_only:
            self._check_reduce_only(state, instrument, side)
        if trigger_price is not None and stop_triggered(side, trigger_price, market.last_price):
            raise SimError(
                Reason.WOULD_TRIGGER_IMMEDIATELY,
                f"order would immediately trigger (last price {market.last_price})",
                field="trigger_price",
            )
        if self.faults is not None and self.faults.take_order_reject():
            raise SimError(Reason.INJECTED_REJECT, "order rejected by an injected fault")
        if post_only and crosses(side, price, market):
            raise SimError(Reason.POST_ONLY_WOULD_TAKE, "post-only order would immediately match and take")
        immediate_fok = time_in_force == "FOK" and order_type in ("MARKET", "LIMIT")
        if immediate_fok and available_quantity(side, price, market) < quantity:
            raise SimError(Reason.FOK_UNFILLABLE, "fill-or-kill order cannot be filled completely")
        locked_asset, locked_amount = self._reserve_for(state, instrument, market, side, order_type, quantity, price,
                                                        trigger_price, reduce_only)
        now = self.clock.now_ms()
        order = SimOrder(
            order_id=self._new_order_id(),
            account_id=account_id,
            symbol=symbol,
            side=side,  # type: ignore[arg-type]
            order_type=order_type,  # type: ignore[arg-type]
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            time_in_force=time_in_force,  # type: ignore[arg-type]
            post_only=post_only,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
            created_ms=now,
            updated_ms=now,
            locked_asset=locked_asset,
            locked_amount=locked_amount,
        )
        self._register(order)
        if locked_amount:
            state.ledger.change_locked(locked_asset, locked_amount)
        self._emit_order(order, "NEW", None, now)
        if locked_amount:
            self._emit_balances(state, "ORDER", (locked_asset,), now)
        if not order.is_stop:
            self._execute_incoming(order, instrument, market, now)
        return order.snapshot()

    def cancel_order(
        self, account_id: str, symbol: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> SimOrder:
        order = self._find_order(account_id, symbol, order_id, client_order_id)
        if not order.is_open:
            raise SimError(Reason.ORDER_CLOSED, f"order {order.order_id} is already {order.status}")
        self._close(order, "CANCELED", self.clock.now_ms())
        return order.snapshot()

    def cancel_all(self, account_id: str, symbol: str | None = None) -> list[SimOrder]:
        """Cancel every open order of the account (in ``symbol``); return the cancelled orders."""
        open_orders = self.open_orders(account_id, symbol)
        now = self.clock.now_ms()
        for snapshot in open_orders:
            self._close(self._orders[snapshot.order_id], "CANCELED", now)
        return [self._orders[o.order_id].snapshot() for o in open_orders]

    def amend_order(
        self,
        account_id: str,
        symbol: str,
        order_id: int | None = None,
        client_order_id: str | None = None,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> SimOrder:
        """Change quantity / price / trigger price of an open order. ``quantity`` is the new total (filled part
        included) and must exceed what already filled."""
        order = self._find_order(account_id, symbol, order_id, client_order_id)
        if not order.is_open:
            raise SimError(Reason.ORDER_CLOSED, f"order {order.order_id} is already {order.status}")
        if quantity is None and price is None and trigger_price is None:
            raise SimError(Reason.NOTHING_TO_AMEND, "give a new quantity, price or trigger_price", field="quantity")
        if price is not None and order.order_type not in ("LIMIT", "STOP_LIMIT"):
            raise SimError(Reason.AMEND_PRICE_NOT_ALLOWED, f"{order.order_type} orders have no price", field="price")
        if trigger_price is not None and (not order.is_stop or order.triggered):
            raise SimError(Reason.AMEND_TRIGGER_NOT_ALLOWED, "only untriggered stop orders have a trigger price",
                           field="trigger_price")
        state = self._accounts[account_id]
        instrument = self.instruments[symbol]
        market = self.markets[symbol]
        new_quantity = order.quantity if quantity is None else quantity
        new_price = order.price if price is None else price
        new_trigger = order.trigger_price if trigger_price is None else trigger_price
        if new_quantity <= order.filled_quantity:
            raise SimError(Reason.AMEND_QUANTITY_NOT_ABOVE_FILLED, f"must exceed the filled quantity {order.filled_quantity}",
                           field="quantity")
        check_filters(instrument, market, new_quantity, new_price, new_trigger, order.reduce_only)
        if trigger_price is not None and stop_triggered(order.side, new_trigger, market.last_price):
            raise SimError(
                Reason.WOULD_TRIGGER_IMMEDIATELY,
                f"order would immediately trigger (last price {market.last_price})",
                field="trigger_price",
            )
        resting_limit = order.order_type == "LIMIT" or order.triggered
        if order.post_only and resting_limit and crosses(order.side, new_price, market):
            raise SimError(Reason.POST_ONLY_WOULD_TAKE, "post-only order would immediately match and take")
        remaining = new_quantity - order.filled_quantity
        ledger = state.ledger
        if order.locked_amount:
            ledger.change_locked(order.locked_asset, -order.locked_amount)
        try:
            asset, amount = self._reserve_for(state, instrument, market, order.side, order.order_type, remaining,
                                              new_price, new_trigger, order.reduce_only)
        except SimError:
            if order.locked_amount:
                ledger.change_locked(order.locked_asset, order.locked_amount)
            raise
        changed = {a for a in (order.locked_asset, asset) if a}
        if amount:
            ledger.change_locked(asset, amount)
        order.locked_asset, order.locked_amount = asset, amount
        order.quantity, order.price, order.trigger_price = new_quantity, new_price, new_trigger
        now = self.clock.now_ms()
        order.updated_ms = now
        self._emit_order(order, "AMENDED", None, now)
        if changed:
            self._emit_balances(state, "ORDER", changed, now)
        if resting_limit and crosses(order.side, order.price, market):
            self._take(order, instrument, market, order.price, now)
        return order.snapshot()

    # -- market ----------------------------------------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the market to ``price`` (a public trade prints there), then trigger stops and fill resting orders."""
        market = self.market(symbol)
        if price <= 0:
            raise SimError(Reason.NOT_POSITIVE, "must be positive", field="price")
        old = market.last_price
        market.set_price(price)
        now = self.clock.now_ms()
        side = "BUY" if market.last_price >= old else "SELL"
        self._print_public(symbol, market.last_price, max(market.instrument.min_quantity, market.instrument.lot_size),
                           side, now)
        self._emit(self._book_update(market, now))
        self._match_resting(symbol, now)

    def set_liquidity(self, symbol: str, quantity: Decimal) -> None:
        market = self.market(symbol)
        if quantity < market.instrument.lot_size:
            raise SimError(Reason.LIQUIDITY_BELOW_LOT, f"must be at least one lot ({market.instrument.lot_size})",
                           field="quantity")
        market.set_liquidity(quantity)
        self._emit(self._book_update(market, self.clock.now_ms()))

    def step(self, n: int = 1) -> None:
        """Advance every market ``n`` seeded random-walk ticks; each tick prints a public trade, publishes the book
        and matches resting orders."""
        for _ in range(n):
            now = self.clock.now_ms()
            for symbol, market in self.markets.items():
                quantity, side = market.random_step()
                self._print_public(symbol, market.last_price, quantity, side, now)
                self._emit(self._book_update(market, now))
                self._match_resting(symbol, now)

    # -- validation helpers ----------------------------------------------------------------------------------------

    def _account(self, account_id: str) -> AccountState:
        state = self._accounts.get(account_id)
        if state is None:
            raise SimError(Reason.UNKNOWN_ACCOUNT, f"unknown account {account_id!r}", field="account_id")
        return state

    def _find_order(self, account_id: str, symbol: str, order_id: int | None, client_order_id: str | None) -> SimOrder:
        self._account(account_id)
        self.instrument(symbol)
        if order_id is None and client_order_id is None:
            raise SimError(Reason.MISSING_ORDER_REF, "give order_id or client_order_id", field="order_id")
        if order_id is None:
            order_id = self._client_ids.get((account_id, client_order_id))  # type: ignore[arg-type]
        order = self._orders.get(order_id) if order_id is not None else None
        if (
            order is None
            or order.account_id != account_id
            or order.symbol != symbol
            or (client_order_id is not None and order.client_order_id != client_order_id)
        ):
            raise SimError(Reason.UNKNOWN_ORDER, "order does not exist")
        return order

    def _check_client_id_free(self, account_id: str, client_order_id: str) -> None:
        if not client_order_id:
            raise SimError(Reason.EMPTY_CLIENT_ORDER_ID, "must not be empty", field="client_order_id")
        previous = self._client_ids.get((account_id, client_order_id))
        if previous is not None and self._orders[previous].is_open:
            raise SimError(Reason.DUPLICATE_CLIENT_ORDER_ID, f"duplicate open order id {client_order_id!r}",
                           field="client_order_id")

    def _check_reduce_only(self, state: AccountState, instrument: SimInstrument, side: str) -> None:
        if not instrument.is_perpetual:
            raise SimError(Reason.REDUCE_ONLY_NOT_ALLOWED, "reduce-only applies to perpetuals only", field="reduce_only")
        position = state.position_quantity(instrument.symbol)
        if position == 0 or (position > 0) == (side == "BUY"):
            raise SimError(Reason.REDUCE_ONLY_REJECTED, "reduce-only order would not reduce the position")

    def _reserve_for(
        self,
        state: AccountState,
        instrument: SimInstrument,
        market: SimMarket,
        side: str,
        order_type: str,
        quantity: Decimal,
        price: Decimal | None,
        trigger_price: Decimal | None,
        reduce_only: bool,
    ) -> tuple[str, Decimal]:
        """Check the account can afford the order; return ``(asset, amount)`` to lock while it is open (market
        orders lock nothing: they execute at once)."""
        ledger = state.ledger
        immediate = order_type == "MARKET"
        if instrument.is_perpetual:
            if reduce_only:
                return "", ZERO
            position = state.position_quantity(instrument.symbol)
            opposite = position < 0 if side == "BUY" else position > 0
            opening = max(ZERO, quantity - abs(position)) if opposite else quantity
            if opening == 0:
                return "", ZERO
            reference = price or trigger_price or (market.best_ask if side == "BUY" else market.best_bid)
            margin = self._amount(instrument.notional(opening, reference) / state.leverage_for(instrument.symbol))
            asset = instrument.settlement_asset
            available = self._margin_for_asset(state, asset).available_balance
            if margin > available:
                raise SimError(Reason.INSUFFICIENT_MARGIN, f"margin {margin} {asset} exceeds available {available}")
            return ("", ZERO) if immediate else (asset, margin)
        if side == "BUY":
            asset = instrument.quote_asset
            if immediate:
                needed = market_buy_cost(market, quantity)
            else:
                needed = quantity * (price if price is not None else trigger_price)  # type: ignore[operator]
        else:
            asset, needed = instrument.base_asset, quantity
        free = ledger.free(asset)
        if needed > free:
            raise SimError(Reason.INSUFFICIENT_BALANCE, f"needs {needed} {asset}, free {free}")
        return ("", ZERO) if immediate else (asset, needed)

    # -- execution -------------------------------------------------------------------------------------------------

    def _execute_incoming(self, order: SimOrder, instrument: SimInstrument, market: SimMarket, now: int) -> None:
        """A new (or just triggered) order: take liquidity if it crosses, then rest or expire the remainder."""
        limit = order.price if order.order_type in ("LIMIT", "STOP_LIMIT") else None
        if crosses(order.side, limit, market):
            self._take(order, instrument, market, limit, now)
        if order.is_open and (limit is None or order.time_in_force in ("IOC", "FOK")):
            self._close(order, "EXPIRED", now)

    def _take(self, order: SimOrder, instrument: SimInstrument, market: SimMarket, limit: Decimal | None,
              now: int) -> None:
        for level_price, level_quantity in market.levels_against(order.side):
            if not order.is_open:
                return
            if limit is not None and (level_price > limit if order.is_buy else level_price < limit):
                return
            if not self._fill(order, instrument, level_price, min(order.remaining_quantity, level_quantity), False,
                              now):
                return

    def _match_resting(self, symbol: str, now: int) -> None:
        """After a market move: trigger stops on the last price, fill resting limits the price traded through
        (at their limit price, as maker, at most one level's liquidity per order)."""
        book = self._open[symbol]
        if not book:
            return
        market = self.markets[symbol]
        instrument = market.instrument
        last = market.last_price
        for order in list(book.values()):
            if not order.is_open:
                continue
            if order.is_stop and not order.triggered:
                if stop_triggered(order.side, order.trigger_price, last):  # type: ignore[arg-type]
                    self._trigger(order, instrument, market, now)
                continue
            limit: Decimal = order.price  # type: ignore[assignment]  # only limits (and triggered stop-limits) rest
            if last <= limit if order.is_buy else last >= limit:
                self._fill(order, instrument, limit, min(order.remaining_quantity, market.liquidity), True, now)

    def _trigger(self, order: SimOrder, instrument: SimInstrument, market: SimMarket, now: int) -> None:
        order.triggered = True
        order.updated_ms = now
        self._emit_order(order, "TRIGGERED", None, now)
        if order.order_type == "STOP_MARKET" and order.locked_amount:
            self._release_lock(order)  # executes as a market order: funds are checked per fill instead
            self._emit_balances(self._accounts[order.account_id], "ORDER", (order.locked_asset,), now)
        self._execute_incoming(order, instrument, market, now)

    def _fill(self, order: SimOrder, instrument: SimInstrument, price: Decimal, quantity: Decimal, is_maker: bool,
              now: int) -> bool:
        """Execute ``quantity`` of ``order`` at ``price``; return False when nothing could be filled."""
        state = self._accounts[order.account_id]
        ledger = state.ledger
        if order.reduce_only:
            quantity = min(quantity, abs(state.position_quantity(order.symbol)))
            if quantity <= 0:
                self._close(order, "EXPIRED", now)  # the position it was reducing is gone
                return False
        notional = instrument.notional(quantity, price)
        fee_rate = state.fees.rate(is_maker)
        realized = ZERO
        remaining_before = order.remaining_quantity
        if order.locked_amount:
            if quantity == remaining_before:
                release = order.locked_amount
            elif instrument.is_perpetual:
                release = self._amount(order.locked_amount * quantity / remaining_before)
            elif order.is_buy:
                release = quantity * (order.price if order.price is not None else price)
            else:
                release = quantity
            order.locked_amount -= release
            ledger.change_locked(order.locked_asset, -release)
        if instrument.is_perpetual:
            asset = instrument.settlement_asset
            fee, fee_asset = self._amount(notional * fee_rate), asset
            position = state.position(order.symbol)
            realized = self._amount(position.apply_fill(order.side, quantity, price, instrument.contract_size))
            position.updated_ms = now
            ledger.change_total(asset, realized - fee)
            changed: tuple[str, ...] = (asset,)
        elif order.is_buy:
            if not order.price and ledger.free(instrument.quote_asset) < notional:
                return False  # a triggered stop-market buy ran out of quote funds
            fee, fee_asset = self._amount(quantity * fee_rate), instrument.base_asset
            ledger.change_total(instrument.quote_asset, -notional)
            ledger.change_total(instrument.base_asset, quantity - fee)
            changed = (instrument.base_asset, instrument.quote_asset)
        else:
            if order.locked_asset == "" and ledger.free(instrument.base_asset) < quantity:
                return False
            fee, fee_asset = self._amount(notional * fee_rate), instrument.quote_asset
            ledger.change_total(instrument.base_asset, -quantity)
            ledger.change_total(instrument.quote_asset, notional - fee)
            changed = (instrument.base_asset, instrument.quote_asset)
        order.filled_quantity += quantity
        order.cum_quote += notional
        order.avg_price = order.cum_quote / (order.filled_quantity * instrument.contract_size)
        order.fee_total += fee
        order.updated_ms = now
        if order.filled_quantity == order.quantity:
            order.status = "FILLED"
        else:
            order.status = "PARTIALLY_FILLED"
        fill = SimFill(
            trade_id=self._new_trade_id(),
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            account_id=order.account_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=quantity,
            quote_quantity=notional,
            fee=fee,
            fee_asset=fee_asset,
            is_maker=is_maker,
            realized_pnl=realized,
            time_ms=now,
        )
        self._record_fill(fill)
        if order.status == "FILLED":
            self._unregister_open(order)
        self._emit_order(order, "TRADE", fill, now)
        self._emit_balances(state, "TRADE", changed, now)
        if instrument.is_perpetual:
            self._emit(PositionUpdate(exchange=self.name, account_id=order.account_id,
                                      position=self._position_snapshot(state, order.symbol, now), time_ms=now))
        taker_side = order.side if not is_maker else ("SELL" if order.is_buy else "BUY")
        self._publish_trade(PublicTrade(exchange=self.name, symbol=order.symbol, trade_id=fill.trade_id, price=price,
                                        quantity=quantity, side=taker_side, time_ms=now))  # type: ignore[arg-type]
        return True

    def _close(self, order: SimOrder, status: str, now: int) -> None:
        """End an open order as CANCELED / EXPIRED, releasing what it still held."""
        order.status = status  # type: ignore[assignment]
        order.updated_ms = now
        released_asset = order.locked_asset if order.locked_amount else ""
        self._release_lock(order)
        self._unregister_open(order)
        self._emit_order(order, status, None, now)  # type: ignore[arg-type]
        if released_asset:
            self._emit_balances(self._accounts[order.account_id], "ORDER", (released_asset,), now)

    def _release_lock(self, order: SimOrder) -> None:
        if order.locked_amount:
            self._accounts[order.account_id].ledger.change_locked(order.locked_asset, -order.locked_amount)
            order.locked_amount = ZERO

    def _amount(self, value: Decimal) -> Decimal:
        return value.quantize(self.asset_quantum, ROUND_HALF_UP)

    # -- bookkeeping -----------------------------------------------------------------------------------------------

    def _new_order_id(self) -> int:
        self._next_order_id += 1
        return self._next_order_id

    def _new_trade_id(self) -> int:
        self._next_trade_id += 1
        return self._next_trade_id

    def _register(self, order: SimOrder) -> None:
        self._orders[order.order_id] = order
        if order.client_order_id is not None:
            self._client_ids[(order.account_id, order.client_order_id)] = order.order_id
        self._open[order.symbol][order.order_id] = order
        for key in ((order.account_id, None), (order.account_id, order.symbol)):
            self._history.setdefault(key, []).append(order)

    def _unregister_open(self, order: SimOrder) -> None:
        self._open[order.symbol].pop(order.order_id, None)

    def _record_fill(self, fill: SimFill) -> None:
        for key in ((fill.account_id, None), (fill.account_id, fill.symbol)):
            self._fills.setdefault(key, []).append(fill)

    def _position_snapshot(self, state: AccountState, symbol: str, now: int) -> PositionSnapshot:
        """The position valued at the last price (the simulator's mark price)."""
        return position_snapshot(state.positions.get(symbol), self.instruments[symbol], self.markets[symbol].last_price,
                                 state.leverage_for(symbol), self.maintenance_margin_rate, now)

    def _margin_for_asset(self, state: AccountState, asset: str) -> MarginSnapshot:
        now = self.clock.now_ms()
        positions = [self._position_snapshot(state, s, now) for s, p in state.positions.items() if p.quantity != 0]
        return self._margins(state, positions, (asset,))[asset]

    def _margins(self, state: AccountState, positions: Iterable[PositionSnapshot],
                 assets: Iterable[str] | None = None) -> dict[str, MarginSnapshot]:
        if self.kind != "perpetual":
            return {}
        wanted = sorted(set(assets) if assets is not None else {i.settlement_asset for i in self.instruments.values()})
        positions = list(positions)
        return {asset: margin_snapshot(state.ledger, asset, positions) for asset in wanted}

    # -- events ----------------------------------------------------------------------------------------------------

    def _emit(self, event: SimEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not leave the exchange half-updated
                log.exception("%s: listener %r failed on %s", self.name, listener, type(event).__name__)

    def _emit_order(self, order: SimOrder, kind: OrderUpdateKind, fill: SimFill | None, now: int) -> None:
        if self._listeners:
            self._emit(OrderUpdate(exchange=self.name, account_id=order.account_id, kind=kind, order=order.snapshot(),
                                   fill=fill, time_ms=now))

    def _emit_balances(self, state: AccountState, reason: str, assets: Iterable[str], now: int) -> None:
        if self._listeners:
            self._emit(AccountUpdate(exchange=self.name, account_id=state.account_id,
                                     reason=reason,  # type: ignore[arg-type]
                                     balances=state.ledger.snapshots(assets), time_ms=now))

    def _print_public(self, symbol: str, price: Decimal, quantity: Decimal, side: str, now: int) -> None:
        self._publish_trade(PublicTrade(exchange=self.name, symbol=symbol, trade_id=self._new_trade_id(), price=price,
                                        quantity=quantity, side=side, time_ms=now))  # type: ignore[arg-type]

    def _publish_trade(self, trade: PublicTrade) -> None:
        self._recent_trades[trade.symbol].append(trade)
        self._emit(trade)

    def _book_update(self, market: SimMarket, now: int) -> BookUpdate:
        return BookUpdate(exchange=self.name, symbol=market.instrument.symbol, update_id=market.update_id,
                          last_price=market.last_price, bids=tuple(market.bids()), asks=tuple(market.asks()),
                          time_ms=now)
