"""A batch of AccountState rows in a fixed handful of round trips (instead of five to seven per state).

The rules are the writer's (one state at a time, in arrival order); this module decides in Python, from what the
database holds around the batch, what those rules would have written, then writes it with pipelined statements:

- a state already stored (history or repeats, or earlier in the batch) changes nothing;
- a state equal to the account's previous one (the newest history row at or before its time, rows of this batch
  included as they would have been inserted) is a repeat, otherwise a history row;
- the account keeps the margin model and base currency of the last state, and the time of its newest one;
- each currency's balance ends as the newest state's (of equal times, the last received);
- margins follow the last state that was the account's newest when it arrived (its margins replace the others).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from backend.live import sql
from backend.live.accounts import state_snapshot
from backend.live.models import AccountStateRow, BalanceRow

_json = msgspec.json.Decoder()
_LAST = (2, 0)  # an order key after every stored row's and every batch entry's


def _insert(entries: tuple[list[Any], list[Any]], key: tuple[int, tuple[int, int]], snapshot: tuple[Any, Any]) -> None:
    keys, snapshots = entries
    at = bisect.bisect_right(keys, key)
    keys.insert(at, key)
    snapshots.insert(at, snapshot)


class _Account(msgspec.Struct):
    """What the batch makes of one account row: the last state's model and currency, the newest state's time."""

    last_update_ns: int | None
    margin_model: str | None = None
    base_currency: str | None = None
    last_update_at: datetime | None = None  # set only when a state moved the time forward
    touched: bool = False


async def write_account_states(conn: asyncpg.Connection, states: Sequence[AccountStateRow]) -> None:
    by_trader: dict[str, list[AccountStateRow]] = {}
    for state in states:
        by_trader.setdefault(state.trader_id, []).append(state)
    for trader_id, group in by_trader.items():
        await _write_trader_states(conn, trader_id, group)


async def _write_trader_states(conn: asyncpg.Connection, trader_id: str, states: list[AccountStateRow]) -> None:
    seen = {r[0] for r in await conn.fetch(sql.ACCOUNT_STATES_SEEN, trader_id, [s.event_id for s in states])}
    fresh: list[AccountStateRow] = []
    for state in states:
        if state.event_id not in seen:
            seen.add(state.event_id)
            fresh.append(state)
    if not fresh:
        return
    account_ids = sorted({s.account_id for s in fresh})
    # a state whose account row is not recorded yet changes no account row
    accounts = {r["account_id"]: _Account(r["last_update_ns"])
                for r in await conn.fetch(sql.LOCK_ACCOUNTS, trader_id, account_ids)}
    bounds = {a: (min(s.ts_event_ns for s in fresh if s.account_id == a),
                  max(s.ts_event_ns for s in fresh if s.account_id == a)) for a in account_ids}
    # Per account, sorted: (ts, order key) -> (balances, margins); stored rows order by their seq, this batch's after
    # all of them (by arrival), so an account's previous state at time t is the last entry at or before (t, last).
    history: dict[str, tuple[list[tuple[int, tuple[int, int]]], list[tuple[Any, Any]]]] = {
        a: ([], []) for a in account_ids}
    for r in await conn.fetch(sql.ACCOUNT_HISTORY_AROUND, trader_id, account_ids,
                              [bounds[a][0] for a in account_ids], [bounds[a][1] for a in account_ids]):
        _insert(history[r["account_id"]], (r["ts_event_ns"], (0, r["seq"])),
                (_json.decode(r["balances"]), _json.decode(r["margins"])))

    history_rows, repeat_rows = [], []
    balances: dict[tuple[str, str], tuple[int, BalanceRow]] = {}
    margins_from: dict[str, AccountStateRow] = {}
    for index, state in enumerate(fresh):
        snapshot_balances, snapshot_margins = state_snapshot(state)
        keys, snapshots = history[state.account_id]
        at = bisect.bisect_right(keys, (state.ts_event_ns, _LAST))
        if at and snapshots[at - 1] == (snapshot_balances, snapshot_margins):
            repeat_rows.append((trader_id, state.event_id, state.account_id, state.ts_event_ns))
        else:
            _insert(history[state.account_id], (state.ts_event_ns, (1, index)), (snapshot_balances, snapshot_margins))
            history_rows.append((trader_id, state.event_id, state.account_id,
                                 msgspec.json.encode(snapshot_balances).decode(),
                                 msgspec.json.encode(snapshot_margins).decode(), state.ts_event, state.ts_event_ns))
        account = accounts.get(state.account_id)
        newest = True
        if account is not None:
            before = account.last_update_ns
            newest = before is None or state.ts_event_ns >= before
            if before is None or state.ts_event_ns > before:
                account.last_update_at = state.ts_event
            account.last_update_ns = max(before or 0, state.ts_event_ns)
            account.margin_model = state.margin_model
            account.base_currency = state.base_currency or account.base_currency
            account.touched = True
        for balance in state.balances:
            key = (balance.account_id, balance.currency)
            if key not in balances or balance.updated_ns >= balances[key][0]:
                balances[key] = (balance.updated_ns, balance)
        if newest:
            margins_from[state.account_id] = state

    if history_rows:
        await conn.executemany(sql.INSERT_ACCOUNT_STATE_ROW, history_rows)
    if repeat_rows:
        await conn.executemany(sql.INSERT_ACCOUNT_STATE_REPEAT, repeat_rows)
    touched = [(trader_id, a, acc.margin_model, acc.base_currency, acc.last_update_at, acc.last_update_ns)
               for a, acc in accounts.items() if acc.touched]
    if touched:
        await conn.executemany(sql.SET_ACCOUNT_UPDATE, touched)
    if balances:
        await conn.executemany(sql.UPSERT_BALANCE, [msgspec.structs.astuple(b) for _, b in balances.values()])
    margin_rows = [msgspec.structs.astuple(m) for s in margins_from.values() for m in s.margins]
    if margin_rows:
        await conn.executemany(sql.UPSERT_MARGIN, margin_rows)
    if margins_from:
        await conn.executemany(sql.DELETE_STALE_MARGINS, [
            (trader_id, s.account_id, s.ts_event_ns, [m.margin_key for m in s.margins]) for s in margins_from.values()])
