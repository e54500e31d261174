"""Position sync: NautilusTrader positions -> unified rows in base units, only changes written."""

from __future__ import annotations

import itertools
from decimal import Decimal

import asyncpg
import pytest
from nautilus_trader.model.enums import OmsType, OrderSide
from nautilus_trader.model.identifiers import AccountId, PositionId, TradeId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.component import TestComponentStubs
from nautilus_trader.test_kit.stubs.data import TestDataStubs
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from backend.live.database import Database
from backend.live.models import VenuePosition
from backend.live.oms.convert import InstrumentRef
from backend.live.positions import PositionSync, PositionTracker, aggregate, everything, read_positions

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
        db.pool, "T-1", read=everything(lambda: read_positions(cache, lambda _: ref)),
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
    first = PositionSync(db.pool, "T-1", read=everything(lambda: rows), pnl_currency_for=lambda _: "USDT", clock_ns=lambda: 10)
    await first.load()
    assert await first.sync() == 1
    restarted = PositionSync(db.pool, "T-1", read=everything(dict), pnl_currency_for=lambda _: "USDT", clock_ns=lambda: 20)
    await restarted.load()
    assert await restarted.sync() == 1
    row = await db.pool.fetchrow("SELECT net_quantity, venue_positions FROM unified_positions")
    assert row["net_quantity"] == 0
    assert '"side":"FLAT"' in row["venue_positions"].replace(" ", "")


# --- incremental tracking: same rows as the full recompute, only touched rows written ------------------------------

SPOT = TestInstrumentProvider.btcusdt_binance()
ETH = TestInstrumentProvider.ethusdt_perp_binance()
REFS = {
    PERP.id.value: InstrumentRef(PERP.id.value, "BTC/USDT:USDT", "BINANCE", Decimal(1)),
    SPOT.id.value: InstrumentRef(SPOT.id.value, "BTC/USDT:USDT", "BINANCE", Decimal(1)),  # one canonical: two keys
    ETH.id.value: InstrumentRef(ETH.id.value, "ETH/USDT:USDT", "BINANCE", Decimal(1)),
}


def ref_for(instrument) -> InstrumentRef:
    return REFS[instrument.id.value]


class Engine:
    """What NautilusTrader's execution engine does with a fill: open, update, close, reopen (NETTING) positions."""

    def __init__(self) -> None:
        self.cache = TestComponentStubs.cache()
        for instrument in (PERP, SPOT, ETH):
            self.cache.add_instrument(instrument)
        self.listeners: list = []

    def fill(self, instrument, account: str, position_id: str, side: OrderSide, qty: str, px: str) -> None:
        order = TestExecStubs.market_order(instrument=instrument, order_side=side, quantity=Quantity.from_str(qty))
        fill = TestEventStubs.order_filled(
            order, instrument, account_id=AccountId(account), position_id=PositionId(position_id),
            trade_id=TradeId(str(next(_trade_ids))), last_px=Price.from_str(px), ts_event=next(_trade_ids),
        )
        position = self.cache.position(PositionId(position_id))
        if position is None or position.is_closed:
            if position is not None:
                self.cache.snapshot_position(position)
            self.cache.add_position(Position(instrument, fill), oms_type=OmsType.NETTING)
        else:
            position.apply(fill)
            self.cache.update_position(position)
        for listener in self.listeners:
            listener.on_order_event(fill)

    def quote(self, instrument, bid: str, ask: str) -> None:
        tick = TestDataStubs.quote_tick(instrument, bid_price=float(bid), ask_price=float(ask))
        self.cache.add_quote_tick(tick)
        for listener in self.listeners:
            listener.on_price(tick)


SCRIPT = [
    ("fill", PERP, "BINANCE-001", "P-1", OrderSide.BUY, "0.500", "60000.0"),
    ("fill", PERP, "BINANCE-001", "P-1", OrderSide.BUY, "0.250", "60300.1"),
    ("fill", SPOT, "BINANCE-001", "S-1", OrderSide.BUY, "0.100000", "59990.00"),
    ("fill", PERP, "BINANCE-002", "P-2", OrderSide.SELL, "0.300", "60100.0"),
    ("fill", ETH, "BINANCE-001", "E-1", OrderSide.BUY, "2.00000", "3000.00"),
    ("quote", PERP, "60010.0", "60011.0"),
    ("fill", PERP, "BINANCE-001", "P-1", OrderSide.SELL, "0.250", "60400.0"),  # reduce
    ("fill", PERP, "BINANCE-001", "P-1", OrderSide.SELL, "1.000", "60500.0"),  # flip
    ("fill", PERP, "BINANCE-001", "H-2", OrderSide.BUY, "0.100", "60200.0"),  # a second position in the group
    ("quote", ETH, "3010.00", "3010.50"),
    ("fill", ETH, "BINANCE-001", "E-1", OrderSide.SELL, "2.00000", "3020.00"),  # close
    ("fill", ETH, "BINANCE-001", "E-1", OrderSide.SELL, "1.00000", "3025.00"),  # reopen under the same id
    ("fill", PERP, "BINANCE-002", "P-2", OrderSide.BUY, "0.300", "60050.0"),  # close
    ("quote", PERP, "60020.0", "60022.0"),
]


def _run(engine: Engine, step) -> None:
    if step[0] == "fill":
        engine.fill(*step[1:])
    else:
        engine.quote(*step[1:])


def test_tracker_equals_the_full_recompute_after_every_step() -> None:
    engine = Engine()
    tracker = PositionTracker(engine.cache, ref_for)
    engine.listeners.append(tracker)
    known: dict[str, dict] = {}
    first = tracker.read()
    assert first.complete and first.entries == {}
    for step in SCRIPT:
        _run(engine, step)
        changes = tracker.read()
        assert not changes.complete
        known.update(changes.entries)
        assert known == read_positions(engine.cache, ref_for), step
    assert set(known["BTC/USDT:USDT"]) == {"BINANCE-001", "BINANCE-001:BTCUSDT.BINANCE", "BINANCE-002"}
    assert known["ETH/USDT:USDT"]["BINANCE-001"].base_quantity == Decimal("-1.00000")


def test_tracker_recomputes_only_touched_groups() -> None:
    engine = Engine()
    tracker = PositionTracker(engine.cache, ref_for)
    engine.listeners.append(tracker)
    for step in SCRIPT[:5]:
        _run(engine, step)
    tracker.read()
    before = tracker.groups_recomputed
    assert tracker.read().entries == {}  # nothing touched: nothing recomputed
    assert tracker.groups_recomputed == before
    engine.quote(ETH, "3001.00", "3001.50")
    assert set(tracker.read().entries) == {"ETH/USDT:USDT"}
    assert tracker.groups_recomputed == before + 1
    engine.quote(SPOT, "59000.00", "59001.00")  # the spot position revalues: its canonical row only
    assert set(tracker.read().entries) == {"BTC/USDT:USDT"}


def _row_values(records) -> list[tuple]:
    return [tuple(r) for r in records]


async def test_incremental_sync_writes_only_changed_rows_and_the_same_rows_as_the_full_recompute(db: Database) -> None:
    engine = Engine()
    tracker = PositionTracker(engine.cache, ref_for)
    engine.listeners.append(tracker)
    clock = itertools.count(1_700_000_000_000_000_000, 1_000_000_000)
    now = iter(clock)
    times: list[int] = []

    def tick() -> int:
        times.append(next(now))
        return times[-1]

    incremental = PositionSync(db.pool, "T-INC", read=tracker.read, pnl_currency_for=lambda _: "USDT", clock_ns=tick)
    replay = iter(times)
    full = PositionSync(db.pool, "T-FULL", read=everything(lambda: read_positions(engine.cache, ref_for)),
                        pnl_currency_for=lambda _: "USDT", clock_ns=lambda: next(replay))
    await incremental.load()
    await full.load()
    for step in SCRIPT:
        _run(engine, step)
        written = await incremental.sync()
        assert written == await full.sync(), step
    assert incremental.rows_written == full.rows_written
    query = ("SELECT canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl, venue_positions, "
             "updated_ns FROM {} WHERE trader_id = $1 ORDER BY canonical_id, {}")
    for table, order in (("unified_positions", "1"), ("position_history", "recorded_ns")):
        rows = {trader: _row_values(await db.pool.fetch(query.format(table, order).replace(
            "updated_ns", "updated_ns" if table == "unified_positions" else "recorded_ns"), trader))
            for trader in ("T-INC", "T-FULL")}
        assert rows["T-INC"] == rows["T-FULL"] and rows["T-INC"], table
    # a quote in ETH (one open position) writes the ETH row only: one upsert, one history row
    history = await db.pool.fetchval("SELECT count(*) FROM position_history WHERE trader_id = 'T-INC'")
    engine.quote(ETH, "2990.00", "2990.50")
    assert await incremental.sync() == 1
    assert await db.pool.fetchval("SELECT count(*) FROM position_history WHERE trader_id = 'T-INC'") == history + 1
    last = await db.pool.fetchval("SELECT canonical_id FROM position_history WHERE trader_id = 'T-INC' "
                                  "ORDER BY recorded_ns DESC LIMIT 1")
    assert last == "ETH/USDT:USDT"


async def test_rows_a_failed_cycle_could_not_write_are_written_by_the_next(db: Database) -> None:
    engine = Engine()
    tracker = PositionTracker(engine.cache, ref_for)
    engine.listeners.append(tracker)
    sync = PositionSync(db.pool, "T-1", read=tracker.read, pnl_currency_for=lambda _: "USDT", clock_ns=lambda: 10)
    await sync.load()
    await sync.sync()
    engine.fill(PERP, "BINANCE-001", "P-9", OrderSide.BUY, "0.500", "60000.0")
    await db.pool.execute("ALTER TABLE position_history RENAME TO position_history_away")
    with pytest.raises(asyncpg.PostgresError):
        await sync.sync()
    await db.pool.execute("ALTER TABLE position_history_away RENAME TO position_history")
    assert await sync.sync() == 1  # the tracker has nothing new: the row comes from the failed cycle
    row = await db.pool.fetchrow("SELECT net_quantity FROM unified_positions WHERE trader_id = 'T-1'")
    assert row["net_quantity"] == Decimal("0.500")
