"""Pure conversion of NautilusTrader AccountState events into balance, margin and history rows (no I/O).

Input is the event's ``to_dict`` form (what ``account_state_history`` keeps), so captured states replay through
the same code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backend.live.models import AccountStateRow, BalanceRow, MarginRow
from backend.live.timeutil import ns_to_datetime


def convert_account_state(trader_id: str, payload: dict[str, Any]) -> AccountStateRow:
    if payload.get("type") != "AccountState":
        raise ValueError(f"expected an AccountState event, got {payload.get('type')!r}")
    account_id = payload["account_id"]
    # A venue may not time a state (Binance futures' REST account snapshot has updateTime 0): it is then placed at
    # the moment NautilusTrader received it, the order in which NautilusTrader applies it too.
    ts_event_ns = int(payload["ts_event"]) or int(payload["ts_init"])
    ts_event = ns_to_datetime(ts_event_ns)
    balances = tuple(
        BalanceRow(
            trader_id=trader_id,
            account_id=account_id,
            currency=b["currency"],
            total=Decimal(b["total"]),
            free=Decimal(b["free"]),
            locked=Decimal(b["locked"]),
            updated_at=ts_event,
            updated_ns=ts_event_ns,
        )
        for b in sorted(payload["balances"], key=lambda b: b["currency"])
    )
    margins = tuple(
        MarginRow(
            trader_id=trader_id,
            account_id=account_id,
            margin_key=m.get("instrument_id") or m["currency"],
            currency=m["currency"],
            initial=Decimal(m["initial"]),
            maintenance=Decimal(m["maintenance"]),
            updated_at=ts_event,
            updated_ns=ts_event_ns,
        )
        for m in sorted(payload["margins"], key=lambda m: m.get("instrument_id") or m["currency"])
    )
    return AccountStateRow(
        trader_id=trader_id,
        event_id=payload["event_id"],
        account_id=account_id,
        margin_model=payload["account_type"],
        base_currency=payload.get("base_currency"),
        balances=balances,
        margins=margins,
        ts_event=ts_event,
        ts_event_ns=ts_event_ns,
    )


def state_snapshot(row: AccountStateRow) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Balances and margins as JSON-ready dicts keyed by currency / margin key (decimals as strings)."""
    balances = {b.currency: {"total": str(b.total), "free": str(b.free), "locked": str(b.locked)} for b in row.balances}
    margins = {
        m.margin_key: {"currency": m.currency, "initial": str(m.initial), "maintenance": str(m.maintenance)}
        for m in row.margins
    }
    return balances, margins
