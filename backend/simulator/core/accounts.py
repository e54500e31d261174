"""Account state: balances per asset (free / locked), perpetual one-way positions, leverage, fees, margin figures.

A ``Ledger`` holds the balances. Each SimExchange account has its own ledger unless one is passed in: Bybit and OKX
unified accounts pass the same ledger to their spot and perpetual exchanges so both trade from one wallet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from backend.simulator.core.events import BalanceSnapshot, PositionSnapshot
from backend.simulator.core.instruments import SimInstrument

ZERO = Decimal(0)


class FeeSchedule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Fee rates as fractions of notional (0.001 = 10 bp)."""

    maker: Decimal
    taker: Decimal

    def rate(self, is_maker: bool) -> Decimal:
        return self.maker if is_maker else self.taker


DEFAULT_SPOT_FEES = FeeSchedule(maker=Decimal("0.001"), taker=Decimal("0.001"))
DEFAULT_PERPETUAL_FEES = FeeSchedule(maker=Decimal("0.0002"), taker=Decimal("0.0005"))


@dataclass(slots=True)
class AssetBalance:
    total: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def free(self) -> Decimal:
        return self.total - self.locked


class Ledger:
    """Balances per asset. ``total`` moves with trades and fees; ``locked`` holds funds (spot) or margin (perps) for
    open orders."""

    __slots__ = ("_assets",)

    def __init__(self, balances: Mapping[str, Decimal] | None = None) -> None:
        self._assets: dict[str, AssetBalance] = {}
        for asset, amount in (balances or {}).items():
            self.get(asset).total = Decimal(amount)

    def get(self, asset: str) -> AssetBalance:
        balance = self._assets.get(asset)
        if balance is None:
            balance = self._assets[asset] = AssetBalance()
        return balance

    def free(self, asset: str) -> Decimal:
        balance = self._assets.get(asset)
        return balance.free if balance else ZERO

    def change_total(self, asset: str, delta: Decimal) -> None:
        self.get(asset).total += delta

    def change_locked(self, asset: str, delta: Decimal) -> None:
        self.get(asset).locked += delta

    def snapshot(self, asset: str) -> BalanceSnapshot:
        b = self.get(asset)
        return BalanceSnapshot(asset=asset, total=b.total, free=b.free, locked=b.locked)

    def snapshots(self, assets: Iterable[str] | None = None) -> tuple[BalanceSnapshot, ...]:
        names = sorted(self._assets) if assets is None else sorted(set(assets))
        return tuple(self.snapshot(a) for a in names)


@dataclass(slots=True)
class SimPosition:
    """Mutable one-way net position. ``quantity`` is signed, in order units; PnL uses the contract size."""

    symbol: str
    quantity: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    updated_ms: int = 0

    def apply_fill(self, side: str, quantity: Decimal, price: Decimal, contract_size: Decimal) -> Decimal:
        """Book a fill; return the PnL it realized (closing part only), in the settle asset."""
        signed = quantity if side == "BUY" else -quantity
        current = self.quantity
        realized = ZERO
        if current == 0 or (current > 0) == (signed > 0):
            total = abs(current) + quantity
            self.entry_price = (self.entry_price * abs(current) + price * quantity) / total
            self.quantity = current + signed
        else:
            closed = min(abs(current), quantity)
            direction = Decimal(1) if current > 0 else Decimal(-1)
            realized = (price - self.entry_price) * closed * contract_size * direction
            self.quantity = current + signed
            if self.quantity == 0:
                self.entry_price = ZERO
            elif (self.quantity > 0) != (current > 0):
                self.entry_price = price  # flipped: the remainder opened at this fill's price
        self.realized_pnl += realized
        return realized


class MarginSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Perpetual margin figures for one settle asset (Binance-style cross margin).

    margin_balance = wallet_balance + unrealized_pnl; available = margin_balance - position IM - open-order margin.
    """

    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    position_initial_margin: Decimal
    open_order_margin: Decimal
    maintenance_margin: Decimal
    available_balance: Decimal


def position_snapshot(position: SimPosition | None, instrument: SimInstrument, mark: Decimal, leverage: int,
                      maintenance_rate: Decimal, now: int) -> PositionSnapshot:
    """``position`` (None = never traded: flat) valued at ``mark``: notional, unrealized PnL, IM = notional / leverage,
    MM = notional * maintenance_rate."""
    quantity = position.quantity if position else ZERO
    entry = position.entry_price if position else ZERO
    notional = instrument.notional(abs(quantity), mark)
    return PositionSnapshot(
        symbol=instrument.symbol,
        quantity=quantity,
        entry_price=entry,
        mark_price=mark,
        unrealized_pnl=(mark - entry) * quantity * instrument.contract_size,
        realized_pnl=position.realized_pnl if position else ZERO,
        notional=notional,
        leverage=leverage,
        initial_margin=notional / leverage,
        maintenance_margin=notional * maintenance_rate,
        settle_asset=instrument.settlement_asset,
        updated_ms=position.updated_ms if position else now,
    )


def margin_snapshot(ledger: Ledger, asset: str, positions: Iterable[PositionSnapshot]) -> MarginSnapshot:
    """Cross-margin figures of ``asset`` from the wallet and the (valued) positions settled in it."""
    held = [p for p in positions if p.settle_asset == asset]
    balance = ledger.get(asset)
    upnl = sum((p.unrealized_pnl for p in held), ZERO)
    initial = sum((p.initial_margin for p in held), ZERO)
    margin_balance = balance.total + upnl
    return MarginSnapshot(
        asset=asset,
        wallet_balance=balance.total,
        unrealized_pnl=upnl,
        margin_balance=margin_balance,
        position_initial_margin=initial,
        open_order_margin=balance.locked,
        maintenance_margin=sum((p.maintenance_margin for p in held), ZERO),
        available_balance=margin_balance - initial - balance.locked,
    )


class SimAccount(msgspec.Struct, frozen=True, kw_only=True):
    """Snapshot of one account on one exchange (what ``SimExchange.account`` returns)."""

    account_id: str
    exchange: str
    fees: FeeSchedule
    balances: dict[str, BalanceSnapshot]
    positions: dict[str, PositionSnapshot]
    margins: dict[str, MarginSnapshot]
    leverage: dict[str, int]


@dataclass(slots=True)
class AccountState:
    """The exchange's mutable record of one account."""

    account_id: str
    ledger: Ledger
    fees: FeeSchedule
    default_leverage: int
    positions: dict[str, SimPosition] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)

    def position(self, symbol: str) -> SimPosition:
        position = self.positions.get(symbol)
        if position is None:
            position = self.positions[symbol] = SimPosition(symbol)
        return position

    def position_quantity(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.quantity if position else ZERO

    def leverage_for(self, symbol: str) -> int:
        return self.leverage.get(symbol, self.default_leverage)
