"""The venue audit's comparison (pure): what it finds, what it fixes, what it only reports."""

from __future__ import annotations

from decimal import Decimal

from backend.live.reconcile.diff import (
    AddFill,
    AuditInput,
    InferredFill,
    OmsFill,
    OmsOrder,
    SetStatus,
    VenueOrder,
    VenuePosition,
    VenueTrade,
    compare,
)

SPOT, PERP, ACCOUNT = "BTCUSDT.BINANCE", "BTCUSDT-PERP.BINANCE_FUTURES", "BINANCE-master"
NOW = 10_000_000_000


def trade(trade_id: str, venue_order_id: str = "77", qty: str = "0.5", ts: int = 5_000_000_000,
          instrument: str = SPOT) -> VenueTrade:
    return VenueTrade(ACCOUNT, instrument, trade_id, venue_order_id, None, "BUY", Decimal(qty), Decimal("100"),
                      Decimal("0.01"), "USDT", "MAKER", ts)


def order(status: str = "ACCEPTED", rank: int = 40, filled: str = "0", instrument: str = SPOT,
          client_order_id: str = "O-1", venue_order_id: str = "77") -> OmsOrder:
    return OmsOrder(client_order_id, venue_order_id, instrument, status, rank, Decimal(1), Decimal(filled), 1)


def venue_order(status: str, filled: str, instrument: str = SPOT, ts: int = 5_000_000_000) -> VenueOrder:
    return VenueOrder(ACCOUNT, instrument, "77", "O-1", status, Decimal(1), Decimal(filled), ts)


def audit(**fields) -> AuditInput:
    base = dict(account_id=ACCOUNT, since_ns=0, settle_ns=NOW, venue_orders=(), venue_trades=(), venue_positions=None,
                oms_orders=(), oms_fills=(), oms_positions={}, position_instruments=frozenset(), inferred=())
    return AuditInput(**{**base, **fields})


def test_a_venue_trade_missing_from_fills_is_added_and_the_status_follows() -> None:
    diffs = compare(audit(venue_orders=(venue_order("FILLED", "1"),),
                          venue_trades=(trade("T1"), trade("T2")), oms_orders=(order(),),
                          oms_fills=(OmsFill(SPOT, "T1", "O-1", Decimal("0.5"), 4_000_000_000),)))
    kinds = [d.kind for d in diffs]
    assert kinds == ["missing_fill", "status"]
    assert isinstance(diffs[0].fix, AddFill) and diffs[0].fix.trade.trade_id == "T2"
    assert diffs[1].fix == SetStatus("O-1", "FILLED", 100)


def test_a_fill_the_venue_never_issued_is_reported_never_removed() -> None:
    diffs = compare(audit(venue_orders=(venue_order("FILLED", "1"),), venue_trades=(trade("T1", qty="1"),),
                          oms_orders=(order("FILLED", 100, "1"),),
                          oms_fills=(OmsFill(SPOT, "T1", "O-1", Decimal("1"), 4_000_000_000),
                                     OmsFill(SPOT, "X9", "O-1", Decimal("1"), 4_000_000_000))))
    phantom = [d for d in diffs if d.kind == "phantom_fill"]
    assert len(phantom) == 1 and phantom[0].trade_id == "X9" and phantom[0].fix is None


def test_what_is_still_in_flight_is_not_a_difference() -> None:
    late = trade("T1", ts=NOW + 1)
    diffs = compare(audit(venue_orders=(venue_order("FILLED", "1", ts=NOW + 1),), venue_trades=(late,),
                          oms_orders=(order(),)))
    assert diffs == []


def test_a_later_status_is_never_moved_back() -> None:
    diffs = compare(audit(venue_orders=(venue_order("ACCEPTED", "0"),), oms_orders=(order("CANCELED", 100),)))
    (diff,) = diffs
    assert diff.kind == "status" and diff.fix is None and "never moved back" in diff.detail


def test_an_order_the_oms_does_not_know_is_reported() -> None:
    diffs = compare(audit(venue_orders=(venue_order("FILLED", "1"),), venue_trades=(trade("T1", qty="1"),)))
    assert {d.kind for d in diffs} == {"missing_order"} and all(d.fix is None for d in diffs)


def test_an_inferred_fill_is_resolved_once_the_venue_trades_cover_the_order() -> None:
    inferred = (InferredFill("e-1", "O-1", SPOT, "uuid5", Decimal(1)),)
    covered = compare(audit(venue_orders=(venue_order("FILLED", "1"),), venue_trades=(trade("T1", qty="1"),),
                            oms_orders=(order(),), inferred=inferred))
    pending = compare(audit(venue_orders=(venue_order("FILLED", "1", ts=NOW + 1),), oms_orders=(order(),),
                            inferred=inferred))
    (c,) = [d for d in covered if d.kind == "inferred_fill"]
    (p,) = [d for d in pending if d.kind == "inferred_fill"]
    assert "now cover it" in c.detail and "not known yet" in p.detail


def test_positions_are_compared_after_the_fills_the_audit_adds() -> None:
    base = dict(venue_trades=(trade("T1", instrument=PERP, venue_order_id="77"),),
                oms_orders=(order(instrument=PERP),), position_instruments=frozenset({PERP}))
    same = compare(audit(**base, venue_positions=(VenuePosition(ACCOUNT, PERP, Decimal("0.5")),),
                         oms_positions={PERP: Decimal(0)}))
    assert [d.kind for d in same] == ["missing_fill"]
    off = compare(audit(**base, venue_positions=(VenuePosition(ACCOUNT, PERP, Decimal("2")),),
                        oms_positions={PERP: Decimal(0)}))
    (position,) = [d for d in off if d.kind == "position"]
    assert (position.oms_value, position.venue_value, position.fix) == ("0.5", "2", None)
