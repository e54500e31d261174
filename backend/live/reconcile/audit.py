"""The venue audit: each execution client's venue is asked for its orders, trades and positions of a lookback
window, compared with the OMS (``diff.compare``) and the differences stored in ``reconciliation_events``.

What it fixes, and how: a venue trade missing from ``fills`` is added with its real trade id (and its ``OrderFilled``
in ``order_events``, flagged ``info.source = venue_audit``, so a warm start rebuilds positions from it), then handed
to NautilusTrader's engine (``reconcile_execution_report``) so its order and position catch up too; a status the
venue reached and the OMS did not is advanced (never moved back); a quantity the venue changed is taken. Anything
else (a fill the venue never reported, a position that differs, an order the OMS never saw) is stored unresolved,
never overwritten. Runs on start, on ``request`` (a private stream reconnected) and every ``interval_secs``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId

from backend.live import sql
from backend.live.oms.convert import InstrumentRef, is_inferred_fill
from backend.live.reconcile.diff import (
    AddFill,
    AuditInput,
    Difference,
    InferredFill,
    OmsFill,
    OmsOrder,
    SetQuantity,
    SetStatus,
    compare,
)
from backend.live.reconcile.venue import VenueReports, fetch_reports, utc

log = logging.getLogger(__name__)

AUDIT_NAMESPACE = uuid.UUID("6f1d3c52-7f1e-4a8e-9a55-0c7d1e2b9a10")


class AuditResult(msgspec.Struct):
    client_id: str
    account_id: str | None
    source: str
    differences: list[Difference] = msgspec.field(default_factory=list)
    resolved: int = 0
    unresolved: int = 0
    error: str | None = None


class VenueAudit:
    """Audits the venues of ``clients()`` ({client id: NautilusTrader exec client}) against the OMS."""

    def __init__(self, *, pool: asyncpg.Pool, trader_id: str, clients: Callable[[], dict[str, Any]],
                 flush: Callable[[], Any], exec_engine: Any, cache: Any,
                 ref_for_id: Callable[[InstrumentId], InstrumentRef], lookback_mins: float, settle_secs: float,
                 interval_secs: float | None, flush_timeout_secs: float = 10.0,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._pool = pool
        self._trader_id = trader_id
        self._clients = clients
        self._flush = flush
        self._engine = exec_engine
        self._cache = cache
        self._ref_for_id = ref_for_id
        self._lookback_ns = int(lookback_mins * 60e9)
        self._settle_ns = int(settle_secs * 1e9)
        self._interval = interval_secs
        self._flush_timeout = flush_timeout_secs
        self._clock_ns = clock_ns
        self._requested: dict[str, str] = {}
        self._wakeup = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        self.last_results: list[AuditResult] = []

    # -- scheduling ------------------------------------------------------------------------------------------------

    def request(self, client_id: str, reason: str) -> None:
        """Schedule an audit of one client (e.g. its private stream reconnected); never blocks."""
        self._requested.setdefault(client_id, reason)
        self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="venue-audit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._interval)
            except TimeoutError:
                await self.run("interval")
                continue
            self._wakeup.clear()
            requested, self._requested = self._requested, {}
            for client_id, reason in requested.items():
                await self.run(reason, [client_id])

    # -- one audit -------------------------------------------------------------------------------------------------

    async def run(self, reason: str, client_ids: Iterable[str] | None = None) -> list[AuditResult]:
        """Audit the given clients (all when None) now; returns what was found and done."""
        async with self._lock:
            clients = self._clients()
            wanted = list(clients) if client_ids is None else [c for c in client_ids if c in clients]
            results = []
            for client_id in wanted:
                try:
                    results.append(await self._audit(client_id, clients[client_id], reason))
                except Exception as exc:  # noqa: BLE001 - one client's failure never stops the others
                    log.exception("Venue audit of %s failed", client_id)
                    results.append(AuditResult(client_id, None, reason, error=f"{type(exc).__name__}: {exc}"))
            self.runs += 1
            self.last_results = results
            return results

    async def _audit(self, client_id: str, client: Any, source: str) -> AuditResult:
        account_id = client.account_id.value if client.account_id is not None else None
        result = AuditResult(client_id, account_id, source)
        if account_id is None:
            result.error = "the client has no account yet (not connected)"
            return result
        try:
            await asyncio.wait_for(self._flush(), self._flush_timeout)
        except TimeoutError:
            result.error = f"the OMS writer did not catch up within {self._flush_timeout:g} s (PostgreSQL down?)"
            return result
        now_ns = self._clock_ns()
        since_ns = now_ns - self._lookback_ns
        reports = await fetch_reports(client, since_ns, now_ns)
        venue = client.venue.value if client.venue is not None else ""
        data, oms_orders = await self._oms_side(account_id, venue, since_ns, now_ns - self._settle_ns, reports)
        result.differences = compare(data)
        await self._apply(client_id, account_id, source, result, oms_orders, reports)
        if result.differences:
            log.warning("Venue audit of %s (%s): %d differences, %d resolved, %d reported", client_id, source,
                        len(result.differences), result.resolved, result.unresolved)
        return result

    async def _oms_side(self, account_id: str, venue: str, since_ns: int, settle_ns: int, reports: VenueReports
                        ) -> tuple[AuditInput, dict[str, Any]]:
        named = [o.client_order_id for o in reports.orders if o.client_order_id]
        named += [t.client_order_id for t in reports.trades if t.client_order_id]
        venue_ids = [o.venue_order_id for o in reports.orders] + [t.venue_order_id for t in reports.trades]
        async with self._pool.acquire() as conn:
            order_rows = await conn.fetch(sql.SELECT_AUDIT_ORDERS, self._trader_id, account_id, since_ns, named,
                                          venue_ids, venue)
            ids = [r["client_order_id"] for r in order_rows]
            fill_rows = await conn.fetch(sql.SELECT_AUDIT_FILLS, self._trader_id, account_id, since_ns, ids)
            fill_events = await conn.fetch(sql.SELECT_AUDIT_FILL_EVENTS, self._trader_id, ids)
            position_rows = await conn.fetch(sql.SELECT_AUDIT_POSITIONS, self._trader_id)
            kinds = {r["instrument_id"]: r["kind"] for r in await conn.fetch(sql.SELECT_INSTRUMENT_KINDS,
                                                                                self._trader_id)}
        orders = tuple(OmsOrder(r["client_order_id"], r["venue_order_id"], r["instrument_id"], r["lifecycle_status"],
                                r["lifecycle_rank"], r["quantity"], r["filled_qty"], r["last_event_ns"])
                       for r in order_rows)
        fills = tuple(OmsFill(r["instrument_id"], r["trade_id"], r["client_order_id"], r["quantity"],
                              r["ts_event_ns"]) for r in fill_rows)
        stored_trades = {(f.instrument_id, f.trade_id) for f in fills}
        inferred = []
        for record in fill_events:
            payload = msgspec.json.decode(record["payload"])
            if is_inferred_fill(payload) and (payload["instrument_id"], payload["trade_id"]) not in stored_trades:
                inferred.append(InferredFill(record["event_id"], record["client_order_id"], payload["instrument_id"],
                                             payload["trade_id"], Decimal(payload["last_qty"])))
        derivatives = {i for i, kind in kinds.items() if kind != "spot"}
        oms_positions: dict[str, Decimal] = {}
        for record in position_rows:
            for entry in msgspec.json.decode(record["venue_positions"]).values():
                if entry["account_id"] == account_id and entry["instrument_id"] in derivatives:
                    signed = Decimal(str(entry["quantity"])) * (-1 if entry["side"] == "SHORT" else 1)
                    oms_positions[entry["instrument_id"]] = oms_positions.get(entry["instrument_id"], 0) + signed
        venue_positions = tuple(p for p in reports.positions if p.instrument_id in derivatives)
        has_derivatives = any(i.endswith("." + venue) for i in derivatives)
        data = AuditInput(
            account_id=account_id, since_ns=since_ns, settle_ns=settle_ns, venue_orders=reports.orders,
            venue_trades=reports.trades, venue_positions=venue_positions if has_derivatives else None,
            oms_orders=orders, oms_fills=fills,
            oms_positions={i: q for i, q in oms_positions.items() if i.endswith("." + venue)},
            position_instruments=frozenset(i for i in derivatives if i.endswith("." + venue)),
            inferred=tuple(inferred),
        )
        return data, {r["client_order_id"]: r for r in order_rows}

    async def _apply(self, client_id: str, account_id: str, source: str, result: AuditResult,
                     orders: dict[str, Any], reports: VenueReports) -> None:
        fill_reports = {(r.instrument_id.value, r.trade_id.value): r for r in reports.fill_reports}
        order_reports = {r.venue_order_id.value: r for r in reports.order_reports}
        touched: set[str] = set()
        actions: dict[str, tuple[str, bool]] = {}
        async with self._pool.acquire() as conn, conn.transaction():
            for diff in result.differences:
                fix = diff.fix
                if isinstance(fix, AddFill):
                    await self._add_fill(conn, account_id, fix, orders[fix.client_order_id])
                    touched.add(fix.client_order_id)
                    actions[diff.dedupe_key] = (f"fill {fix.trade.trade_id} added from the venue's trade", True)
                elif isinstance(fix, SetQuantity):
                    await conn.execute(sql.SET_ORDER_QUANTITY, self._trader_id, fix.client_order_id, fix.quantity)
                    touched.add(fix.client_order_id)
                    actions[diff.dedupe_key] = (f"quantity set to the venue's {fix.quantity}", True)
            if touched:
                await conn.execute(sql.RECOMPUTE_ORDER_FILLS, self._trader_id, sorted(touched))
            for diff in result.differences:
                if isinstance(diff.fix, SetStatus):
                    status = await conn.execute(sql.ADVANCE_ORDER_STATUS, self._trader_id, diff.fix.client_order_id,
                                                diff.fix.status, diff.fix.rank)
                    done = status.endswith(" 1")
                    actions[diff.dedupe_key] = (f"status set to {diff.fix.status}" if done
                                                else f"status already {diff.fix.status} once the fills were in", True)
                elif diff.kind == "inferred_fill":
                    covered = "now cover it" in diff.detail
                    actions[diff.dedupe_key] = (
                        "kept out of fills; replaced by the venue's trades" if covered
                        else "kept out of fills until the venue's trade is known", covered)
            for diff in result.differences:
                action, resolved = actions.get(diff.dedupe_key, ("reported", False))
                result.resolved += resolved
                result.unresolved += not resolved
                await conn.execute(
                    sql.UPSERT_RECONCILIATION_EVENT, self._trader_id, source, client_id, account_id,
                    diff.instrument_id, diff.client_order_id, diff.venue_order_id, diff.trade_id, diff.kind,
                    diff.oms_value, diff.venue_value, diff.detail, action, resolved, diff.dedupe_key)
        self._feed_engine(result.differences, fill_reports, order_reports)

    async def _add_fill(self, conn: asyncpg.Connection, account_id: str, fix: AddFill, order: Any) -> None:
        trade = fix.trade
        ref = self._ref_for_id(InstrumentId.from_str(trade.instrument_id))
        instrument = self._cache.instrument(InstrumentId.from_str(trade.instrument_id)) if self._cache else None
        quote = instrument.quote_currency.code if instrument is not None else trade.commission_currency
        event_id = str(uuid.uuid5(AUDIT_NAMESPACE, f"{account_id}:{trade.instrument_id}:{trade.trade_id}"))
        strategy_id = order["strategy_id"] or "EXTERNAL"
        now_ns = self._clock_ns()
        payload = {
            "type": "OrderFilled", "trader_id": self._trader_id, "strategy_id": strategy_id,
            "instrument_id": trade.instrument_id, "client_order_id": fix.client_order_id,
            "venue_order_id": trade.venue_order_id, "account_id": account_id, "trade_id": trade.trade_id,
            "position_id": f"{trade.instrument_id}-{strategy_id}", "order_side": trade.side,
            "order_type": order["order_type"] or "MARKET",
            "last_qty": str(instrument.make_qty(trade.quantity)) if instrument is not None else str(trade.quantity),
            "last_px": str(instrument.make_price(trade.price)) if instrument is not None else str(trade.price),
            "currency": quote, "commission": f"{trade.commission} {trade.commission_currency or quote}",
            "liquidity_side": trade.liquidity_side, "event_id": event_id, "ts_event": trade.ts_event_ns,
            "ts_init": now_ns, "info": {"source": "venue_audit"}, "reconciliation": True,
        }
        ts_event = utc(trade.ts_event_ns)
        await conn.execute(sql.INSERT_AUDIT_ORDER_EVENT, self._trader_id, event_id, fix.client_order_id,
                           "OrderFilled", ts_event, trade.ts_event_ns, now_ns, msgspec.json.encode(payload).decode())
        await conn.execute(
            sql.INSERT_AUDIT_FILL, self._trader_id, ref.venue, account_id, trade.instrument_id, trade.trade_id,
            fix.client_order_id, trade.venue_order_id, order["strategy_id"], ref.canonical_id, trade.side,
            trade.quantity, trade.quantity * ref.multiplier, trade.price, trade.commission,
            trade.commission_currency or quote, trade.liquidity_side, event_id, ts_event, trade.ts_event_ns)

    def _feed_engine(self, differences: list[Difference], fill_reports: dict[tuple[str, str], Any],
                     order_reports: dict[str, Any]) -> None:
        """Hand NautilusTrader's engine the venue reports behind the fixes so its orders and positions catch up
        (its own events then reach the OMS, where they change nothing more)."""
        if self._engine is None or self._cache is None:
            return
        for diff in differences:
            try:
                if isinstance(diff.fix, AddFill):
                    order = self._cache.order(ClientOrderId(diff.fix.client_order_id))
                    report = fill_reports.get((diff.fix.trade.instrument_id, diff.fix.trade.trade_id))
                    if order is not None and report is not None and report.trade_id not in order.trade_ids:
                        if report.client_order_id is None:
                            report.client_order_id = order.client_order_id
                        self._engine.reconcile_execution_report(report)
                elif isinstance(diff.fix, SetStatus) and diff.venue_order_id in order_reports:
                    order = self._cache.order(ClientOrderId(diff.fix.client_order_id))
                    if order is not None and order.is_open:
                        self._engine.reconcile_execution_report(order_reports[diff.venue_order_id])
            except Exception:  # noqa: BLE001 - the OMS is already fixed; NautilusTrader's own checks follow
                log.exception("NautilusTrader did not take the venue's report for %s", diff.client_order_id)
