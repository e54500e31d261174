"""``live reconcile`` (one venue audit on demand), ``live audit`` (the differences found so far) and the drift
listing behind ``live positions --drift``."""

from __future__ import annotations

import argparse
from typing import Any

import msgspec
from rich.console import Console

from backend.live import report, sql
from backend.live.cli_support import EXIT_OK, EXIT_RUNTIME, add_command, load, open_database, trader_id_for
from backend.live.database import Database
from backend.live.node.startup import StartupError
from backend.live.ops.node_ops import configure_node_logging
from backend.live.trading_node import LiveTradingNode

EVENT_COLUMNS = ("detected_at", "source", "account_id", "instrument_id", "client_order_id", "trade_id", "kind",
                 "oms_value", "venue_value", "action", "resolved", "seen_count")
DIFFERENCE_COLUMNS = ("client", "kind", "instrument_id", "client_order_id", "trade_id", "oms_value", "venue_value",
                      "detail")
DRIFT_KINDS = ["position", "quantity"]


async def cmd_reconcile(args: argparse.Namespace, console: Console) -> int:
    """Start the config's node without its strategies (warm start, NautilusTrader's reconciliation, the start-up
    audit), audit every exec client's venue once more, print what differed, stop. Exit 1 when a difference is left
    unresolved or a venue could not be audited. A node already running for the trader id refuses (it audits itself
    every ``reconciliation.audit_interval_secs``)."""
    config = load(args.config)
    config = msgspec.structs.replace(config, trading_node=msgspec.structs.replace(config.trading_node, strategies=()))
    configure_node_logging(config, verbose=args.verbose)
    db = await open_database(config)
    try:
        node = LiveTradingNode(config, db)
        try:
            await node.start()
        except StartupError as exc:
            report.print_startup_error(console, exc)
            return EXIT_RUNTIME
        try:
            assert node.audit is not None
            results = await node.audit.run("on_demand")
        finally:
            await node.stop()
        differences = [dict(msgspec.structs.asdict(d), client=r.client_id) for r in results for d in r.differences]
        report.render(console, "Differences between the OMS and the venues", differences, DIFFERENCE_COLUMNS)
        for result in results:
            state = f"[red]not audited: {result.error}[/red]" if result.error else \
                f"{len(result.differences)} differences, {result.resolved} resolved, {result.unresolved} reported"
            console.print(f"{result.client_id} ({result.account_id}): {state}", highlight=False)
        failed = any(r.error or r.unresolved for r in results)
        return EXIT_RUNTIME if failed else EXIT_OK
    finally:
        await db.close()


async def print_reconciliation_events(db: Database, trader_id: str, console: Console, *, unresolved: bool,
                                      kinds: list[str] | None, title: str) -> None:
    records = await db.pool.fetch(sql.SELECT_RECONCILIATION_EVENTS, trader_id, unresolved, kinds)
    report.render(console, title, records, EVENT_COLUMNS)


async def print_drift(db: Database, trader_id: str, console: Console) -> None:
    """``live positions --drift``: the position and quantity differences the audits found and could not resolve."""
    await print_reconciliation_events(db, trader_id, console, unresolved=True, kinds=DRIFT_KINDS,
                                      title="Position drift (OMS against the venues, unresolved)")


async def cmd_audit(args: argparse.Namespace, console: Console) -> int:
    db = await open_database(load(args.config) if args.config else None)
    try:
        trader_id = await trader_id_for(db.pool, None if not args.config else load(args.config), args.trader_id)
        await print_reconciliation_events(db, trader_id, console, unresolved=args.unresolved,
                                          kinds=args.kind or None, title="Reconciliation events")
    finally:
        await db.close()
    return EXIT_OK


def register(sub: Any) -> None:
    reconcile = add_command(sub, "reconcile", cmd_reconcile,
                            "audit every exec client's venue against the OMS once (the node must not be running)")
    reconcile.add_argument("--config", required=True)
    audit = add_command(sub, "audit", cmd_audit, "print the differences the venue audits found (reconciliation_events)")
    audit.add_argument("--config")
    audit.add_argument("--trader-id")
    audit.add_argument("--unresolved", action="store_true", help="only differences left unresolved")
    audit.add_argument("--kind", action="append", choices=["missing_fill", "phantom_fill", "inferred_fill", "status",
                                                          "quantity", "position", "missing_order"])
