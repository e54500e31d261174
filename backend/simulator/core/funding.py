"""Perpetual funding: a funding rate per perpetual, settled against each open position at the venue's interval.

Every perpetual ``SimExchange`` has a ``FundingSchedule`` (``exchange.funding``). At each boundary (multiples of
``interval_ms`` since the epoch: 00:00, 08:00, 16:00 UTC for the venues' 8-hour default) every account holding a
position pays or receives ``quantity * contract_size * mark_price * rate`` in the settlement asset: longs pay a
positive rate, shorts receive it. The mark price is the simulator's mark price (the last price, as positions are
valued). A payment moves the wallet balance (``SimExchange.book_funding``) and is emitted as a ``FundingPayment``
event followed by an ``AccountUpdate`` with reason ``FUNDING``; venue modules show it in their own shapes (Binance
income ``FUNDING_FEE``, Bybit ``execType=Funding``, OKX bills type 8). It is never a fill.

``settle_due`` settles every boundary the clock has passed (the server's funding timer and ``/_sim/clock/advance``
call it); ``settle_now`` settles at once (the control API's ``/_sim/funding/settle``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from backend.simulator.core.matching import SimExchange

DEFAULT_INTERVAL_MS = 8 * 60 * 60 * 1000
DEFAULT_RATE = Decimal("0.0001")
MAX_ABS_RATE = Decimal("0.03")  # the venues cap funding well below 3% per interval
MAX_CATCH_UP = 1000  # boundaries settled in one go after a long clock jump


class FundingPayment(msgspec.Struct, frozen=True, kw_only=True):
    """One account's funding for one symbol at one settlement. ``amount`` is signed: positive = received."""

    exchange: str
    account_id: str
    symbol: str
    funding_id: int
    rate: Decimal
    mark_price: Decimal
    position_quantity: Decimal
    amount: Decimal
    asset: str
    balance_after: Decimal  # the asset's wallet balance once the payment is booked
    time_ms: int


class FundingSettlement(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol's settlement: the rate applied and the mark price (the venues' funding-rate history)."""

    symbol: str
    rate: Decimal
    mark_price: Decimal
    time_ms: int


class FundingSchedule:
    """Rates, the next settlement time and the payments made, for one perpetual exchange."""

    def __init__(self, symbols: Iterable[str], now_ms: int, interval_ms: int = DEFAULT_INTERVAL_MS,
                 rate: Decimal = DEFAULT_RATE) -> None:
        self.rates: dict[str, Decimal] = {symbol: rate for symbol in symbols}
        self.interval_ms = interval_ms
        self.next_ms = next_boundary(now_ms, interval_ms)
        self.last_settled_ms: int | None = None
        self._payments: list[FundingPayment] = []
        self.settlements: list[FundingSettlement] = []
        self._next_id = 0

    def configure(self, interval_ms: int, rate: Decimal, now_ms: int) -> None:
        check_interval(interval_ms)
        for symbol in self.rates:
            self.set_rate(symbol, rate)
        self.interval_ms = interval_ms
        self.next_ms = next_boundary(now_ms, interval_ms)

    def rate(self, symbol: str) -> Decimal:
        return self.rates[symbol]

    def set_rate(self, symbol: str, rate: Decimal) -> None:
        if symbol not in self.rates:
            raise ValueError(f"symbol: {symbol!r} is not a perpetual here")
        if not rate.is_finite() or abs(rate) > MAX_ABS_RATE:
            raise ValueError(f"rate: must be between -{MAX_ABS_RATE} and {MAX_ABS_RATE}")
        self.rates[symbol] = rate

    def payments(self, account_id: str, symbol: str | None = None) -> list[FundingPayment]:
        """The account's funding payments, oldest first."""
        return [p for p in self._payments if p.account_id == account_id and (symbol is None or p.symbol == symbol)]

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def record(self, payment: FundingPayment) -> None:
        self._payments.append(payment)


def next_boundary(now_ms: int, interval_ms: int) -> int:
    return (now_ms // interval_ms + 1) * interval_ms


def check_interval(interval_ms: int) -> None:
    if interval_ms < 1000:
        raise ValueError("funding_interval_ms: must be at least 1000")


def settle_now(exchange: SimExchange, symbols: Iterable[str] | None = None,
               time_ms: int | None = None) -> list[FundingPayment]:
    """Settle funding for ``symbols`` (all) of every account with an open position; return the payments."""
    schedule = exchange.funding
    if schedule is None:
        return []
    when = exchange.clock.now_ms() if time_ms is None else time_ms
    wanted = list(schedule.rates) if symbols is None else list(symbols)
    payments = []
    for symbol in wanted:
        instrument = exchange.instrument(symbol)
        rate = schedule.rate(symbol)
        schedule.settlements.append(FundingSettlement(symbol=symbol, rate=rate, time_ms=when,
                                                      mark_price=exchange.market(symbol).last_price))
        for account_id in exchange.account_ids:
            position = exchange.position(account_id, symbol)
            if position.quantity == 0:
                continue
            value = position.quantity * instrument.contract_size * position.mark_price * rate
            amount = (-value).quantize(exchange.asset_quantum, ROUND_HALF_UP)
            balance = exchange.account(account_id).balances.get(instrument.settlement_asset)
            payment = FundingPayment(
                exchange=exchange.name, account_id=account_id, symbol=symbol, funding_id=schedule.new_id(),
                rate=rate, mark_price=position.mark_price, position_quantity=position.quantity,
                amount=amount, asset=instrument.settlement_asset, time_ms=when,
                balance_after=(balance.total if balance is not None else Decimal(0)) + amount,
            )
            schedule.record(payment)
            exchange.book_funding(payment)
            payments.append(payment)
    schedule.last_settled_ms = when
    return payments


def settle_due(exchange: SimExchange) -> list[FundingPayment]:
    """Settle every funding boundary the clock has reached since the last one."""
    schedule = exchange.funding
    if schedule is None:
        return []
    now = exchange.clock.now_ms()
    payments: list[FundingPayment] = []
    for _ in range(MAX_CATCH_UP):
        if now < schedule.next_ms:
            break
        payments.extend(settle_now(exchange, time_ms=schedule.next_ms))
        schedule.next_ms += schedule.interval_ms
    else:
        schedule.next_ms = next_boundary(now, schedule.interval_ms)
    return payments
