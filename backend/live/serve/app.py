"""``live serve``: a read-only web service over the unified tables that any number of nodes write.

``/`` is the dashboard (one static page, plain JavaScript, no build step) polling the JSON API below;
``/api/openapi.json`` describes the API. Every list answers ``{"items": [...], "next_cursor": ...}``, newest first
where rows have a time (pass ``next_cursor`` back as ``cursor`` for the next page). Money and quantities are
decimal strings, exactly as PostgreSQL holds them; times are RFC 3339.

The pool's sessions are read-only (``default_transaction_read_only``): this service cannot change a row even
through a bug. Tables added by later migrations (``nodes``, ``reconciliation_events``) answer an empty list until
they exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from backend.live import sql
from backend.live.database import redact_dsn
from backend.live.ops.http import is_loopback
from backend.live.serve.openapi import openapi_spec
from backend.live.serve.query import BadQuery, Query, encode_cursor, parse_query

log = logging.getLogger(__name__)

POOL_KEY = web.AppKey("pool", asyncpg.Pool)


@dataclass(frozen=True)
class ListSpec:
    """One list endpoint: its SQL, parameters, and how a row becomes the next cursor."""

    table: str
    statement: str
    params: tuple[str, ...]
    cursor_types: tuple[type, ...]
    args: Callable[[Query, tuple[Any, ...] | None], Sequence[Any]]
    cursor_of: Callable[[Any], Sequence[Any]]
    drop: tuple[str, ...] = ()  # sort-key columns not shown in the answer


NODE_SILENT_SECS = 30.0  # a node's heartbeat (every 5 s, backend/live/node_lock.py) older than this: "no heartbeat"
COMMON = ("trader", "venue", "instrument", "limit", "cursor")

LISTS: dict[str, ListSpec] = {
    "orders": ListSpec(
        "unified_orders", sql.SERVE_ORDERS, (*COMMON, "status", "since"), (int, str, str),
        lambda q, c: (q.trader, q.venue, q.instrument, q.status, q.since, *(c or (None, None, None)), q.limit),
        lambda r: (r["last_event_ns"], r["trader_id"], r["client_order_id"]), drop=("last_event_ns",)),
    "fills": ListSpec(
        "fills", sql.SERVE_FILLS, (*COMMON, "since"), (int, str),
        lambda q, c: (q.trader, q.venue, q.instrument, q.since, *(c or (None, None)), q.limit),
        lambda r: (r["ts_event_ns"], str(r["event_id"])), drop=("ts_event_ns",)),
    "positions": ListSpec(
        "unified_positions", sql.SERVE_POSITIONS, COMMON, (str, str),
        lambda q, c: (q.trader, q.venue, q.instrument, *(c or (None, None)), q.limit),
        lambda r: (r["trader_id"], r["canonical_id"])),
    "balances": ListSpec(
        "account_balances", sql.SERVE_BALANCES, ("trader", "venue", "limit", "cursor"), (str, str, str),
        lambda q, c: (q.trader, q.venue, *(c or (None, None, None)), q.limit),
        lambda r: (r["trader_id"], r["account_id"], r["currency"])),
    "reconciliation": ListSpec(
        "reconciliation_events", sql.SERVE_RECONCILIATION, (*COMMON, "since", "resolved"), (int,),
        lambda q, c: (q.trader, q.venue, q.instrument, q.since, q.resolved, *(c or (None,)), q.limit),
        lambda r: (r["id"],)),
    "nodes": ListSpec(
        "nodes", sql.SERVE_NODES, ("trader", "limit", "cursor"), (str,),
        lambda q, c: (q.trader, *(c or (None,)), q.limit, NODE_SILENT_SECS), lambda r: (r["trader_id"],)),
}


def _row(record: asyncpg.Record, drop: tuple[str, ...]) -> dict[str, Any]:
    # decimals as plain strings: 0E-8 -> "0.00000000", exact digits kept
    row = {k: format(v, "f") if isinstance(v, Decimal) else v for k, v in record.items() if k not in drop}
    if isinstance(row.get("venue_positions"), str):  # jsonb arrives as text: one object per venue account
        row["venue_positions"] = list(msgspec.json.decode(row["venue_positions"]).values())
    return row


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), status=status, content_type="application/json")


async def _table_exists(pool: asyncpg.Pool, table: str) -> bool:
    return bool(await pool.fetchval(sql.TABLE_EXISTS, f"public.{table}"))


def _list_handler(spec: ListSpec) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        try:
            query = parse_query(request.query, spec.params, spec.cursor_types)
        except BadQuery as exc:
            return _json({"errors": exc.errors}, 400)
        pool = request.app[POOL_KEY]
        if not await _table_exists(pool, spec.table):
            return _json({"items": [], "next_cursor": None})
        records = await pool.fetch(spec.statement, *spec.args(query, query.cursor))
        next_cursor = encode_cursor(spec.cursor_of(records[-1])) if len(records) == query.limit else None
        return _json({"items": [_row(r, spec.drop) for r in records], "next_cursor": next_cursor})

    return handler


async def traders(request: web.Request) -> web.Response:
    records = await request.app[POOL_KEY].fetch(sql.SERVE_TRADERS)
    return _json({"items": [r["trader_id"] for r in records]})


async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_spec(sorted(LISTS)))


async def dashboard(request: web.Request) -> web.Response:
    page = resources.files("backend.live.serve").joinpath("static/dashboard.html").read_text()
    return web.Response(text=page, content_type="text/html")


@web.middleware
async def _database_errors(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    try:
        return await handler(request)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        log.warning("%s %s: database error %s", request.method, request.path, type(exc).__name__)
        return _json({"error": f"database unavailable: {type(exc).__name__}"}, 503)


def create_app(pool: asyncpg.Pool) -> web.Application:
    app = web.Application(middlewares=[_database_errors])
    app[POOL_KEY] = pool
    app.add_routes([web.get("/", dashboard), web.get("/api/openapi.json", openapi), web.get("/api/traders", traders)])
    app.add_routes([web.get(f"/api/{name}", _list_handler(spec)) for name, spec in LISTS.items()])
    return app


async def open_read_only_pool(dsn: str, max_size: int = 4) -> asyncpg.Pool:
    """A pool whose sessions refuse every write."""
    try:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, timeout=10,
                                         server_settings={"default_transaction_read_only": "on",
                                                          "application_name": "live-serve"})
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        from backend.live.database import DatabaseError

        raise DatabaseError(f"cannot connect to PostgreSQL at {redact_dsn(dsn)}: {exc}") from None
    assert pool is not None
    return pool


class DashboardServer:
    """``create_app`` served on ``host:port`` (0: any free port)."""

    def __init__(self, pool: asyncpg.Pool, host: str = "127.0.0.1", port: int = 8090) -> None:
        self.host, self.port = host, port
        self._runner = web.AppRunner(create_app(pool), access_log=None)

    @property
    def url(self) -> str:
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    async def start(self) -> str:
        if not is_loopback(self.host):
            log.warning("live serve bound to %s, not loopback: the dashboard and API are reachable from the network "
                        "without authentication", self.host)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise OSError(exc.errno, f"live serve cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        self.port = self._runner.addresses[0][1]
        return self.url

    async def stop(self) -> None:
        await self._runner.cleanup()
