"""Position sync: NautilusTrader positions -> unified rows in base units, only changes written."""

from __future__ import annotations

import itertools
from decimal import Decimal

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import AccountId, PositionId, TradeId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.component import TestComponentStubs
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from backend.live.database import Database
from backend.live.models import VenuePosition
from backend.live.oms.convert import InstrumentRef
from backend.live.positions import PositionSync, aggregate, read_positions

PERP = TestInstrumentProvider.btcusdt_perp_binance()
_trade_ids = itertools.count(1)


def entry(venue: str, account: str, base_qty: str, px: str | None, realized: str = "0", unrealized: str = "0") -> VenuePosition:
    qty = Decimal(base_qty)
    return VenuePosition(
        venue=venue, account_id=account, instrument_id=f"X.{venue}",
        side="LONG" if qty > 0 else "SHORT" if qty < 0 else "FLAT", quantity=abs(qty), base_quantity=qty,
        avg_entry_price=Decimal(px) if px else None, realized_pnl=Decimal(realized),
        unrealized_pnl=Decimal(unrealized), mark_price=None, ts_ns=1,
    )


def test_cross_venue_position_nets_and_keeps_each_venue_entry() -> None:
    entries = {
        "BINANCE-001": entry("BINANCE", "BINANCE-001", "0.5", "60000", unrealized="10"),
        "BYBIT-UNIFIED": entry("BYBIT", "BYBIT-UNIFIED", "-0.2", "60100", realized="-1.5", unrealized="-4"),
    }
    row = aggregate("T-1", "BTC/USDT:USDT", entries, "USDT", 5)
    assert row.net_quantity == Decimal("0.3")
    assert row.avg_entry_price == Decimal("60000")  # the net side's entries only
    assert row.realized_pnl == Decimal("-1.5") and row.unrealized_pnl == Decimal("6")
    assert set(row.venue_positions) == {"BINANCE-001", "BYBIT-UNIFIED"}


def test_flat_net_has_no_entry_price() -> None:
    entries = {"A": entry("BINANCE", "A", "0.5", "60000"), "B": entry("BYBIT", "B", "-0.5", "61000")}
    row = aggregate("T-1", "BTC/USDT:USDT", entries, "USDT", 5)
    assert row.net_quantity == 0 and row.avg_entry_price is None


def _fill_position(cache, side: OrderSide, qty: str, px: str, position: Position | None) -> Position:
    order = TestExecStubs.market_order(instrument=PERP, order_side=side, quantity=Quantity.from_str(qty))
    fill = TestEventStubs.order_filled(
        order, PERP, account_id=AccountId("BINANCE-001"), position_id=PositionId("P-1"),
        trade_id=TradeId(str(next(_trade_ids))), last_px=Price.from_str(px), ts_event=next(_trade_ids),
    )
    if position is None:
        position = Position(PERP, fill)
        cache.add_position(position, oms_type=1)
    else:
        position.apply(fill)
        cache.update_position(position)
    return position


async def test_sync_writes_changes_only_and_keeps_a_flat_row(db: Database) -> None:
    cache = TestComponentStubs.cache()
    cache.add_instrument(PERP)
    ref = InstrumentRef(PERP.id.value, "BTC/USDT:USDT", "BINANCE", Decimal(1))
    sync = PositionSync(
        db.pool, "T-1", read=lambda: read_positions(cache, lambda _: ref),
        pnl_currency_for=lambda _: "USDT", clock_ns=lambda: 1_700_000_000_000_000_000,
    )
    await sync.load()
    assert await sync.sync() == 0

    position = _fill_position(cache, OrderSide.BUY, "0.500", "60000.0", None)
    assert await sync.sync() == 1
    row = await db.pool.fetchrow("SELECT * FROM unified_positions WHERE canonical_id = 'BTC/USDT:USDT'")
    assert row["net_quantity"] == Decimal("0.500") and row["avg_entry_price"] == Decimal("60000.0")
    assert await sync.sync() == 0  # nothing changed: nothing written
    assert await db.pool.fetchval("SELECT count(*) FROM position_history") == 1

    _fill_position(cache, OrderSide.SELL, "0.500", "60100.0", position)
    assert await sync.sync() == 1
    row = await db.pool.fetchrow("SELECT * FROM unified_positions WHERE canonical_id = 'BTC/USDT:USDT'")
    assert row["net_quantity"] == 0
    assert row["realized_pnl"] == position.realized_pnl.as_decimal()
    assert await db.pool.fetchval("SELECT count(*) FROM position_history") == 2


async def test_restart_flattens_a_position_nautilus_no_longer_has(db: Database) -> None:
    rows = {"BTC/USDT:USDT": {"BINANCE-001": entry("BINANCE", "BINANCE-001", "1", "60000")}}
    first = PositionSync(db.pool, "T-1", read=lambda: rows, pnl_currency_for=lambda _: "USDT", clock_ns=lambda: 10)
    await first.load()
    assert await first.sync() == 1
    restarted = PositionSync(db.pool, "T-1", read=dict, pnl_currency_for=lambda _: "USDT", clock_ns=lambda: 20)
    await restarted.load()
    assert await restarted.sync() == 1
    row = await db.pool.fetchrow("SELECT net_quantity, venue_positions FROM unified_positions")
    assert row["net_quantity"] == 0
    assert '"side":"FLAT"' in row["venue_positions"].replace(" ", "")
