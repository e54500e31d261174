"""The OpenAPI 3.1 description of ``live serve``'s JSON API (served at ``/api/openapi.json``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.live.serve.query import MAX_LIMIT, ORDER_STATUSES, VENUES

PARAMETERS: dict[str, dict[str, Any]] = {
    "trader": {"description": "only this trader id (e.g. SIM-001)", "schema": {"type": "string"}},
    "venue": {"description": "only this venue", "schema": {"type": "string", "enum": list(VENUES)}},
    "instrument": {"description": "a NautilusTrader instrument id (BTCUSDT-PERP.BINANCE_FUTURES) or canonical id "
                                  "(BTC/USDT:USDT)", "schema": {"type": "string"}},
    "status": {"description": "an order status, or open for every order that is not final",
               "schema": {"type": "string", "enum": [s.lower() for s in ORDER_STATUSES]}},
    "since": {"description": "only rows at or after this time (ISO-8601)", "schema": {"type": "string",
                                                                                      "format": "date-time"}},
    "resolved": {"description": "only resolved (true) or open (false) differences", "schema": {"type": "boolean"}},
    "limit": {"description": f"page size, 1 to {MAX_LIMIT} (default 100)",
              "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}},
    "cursor": {"description": "next_cursor of the previous page", "schema": {"type": "string"}},
}
LIST_PARAMETERS: dict[str, tuple[str, ...]] = {
    "orders": ("trader", "venue", "instrument", "status", "since", "limit", "cursor"),
    "fills": ("trader", "venue", "instrument", "since", "limit", "cursor"),
    "positions": ("trader", "venue", "instrument", "limit", "cursor"),
    "balances": ("trader", "venue", "limit", "cursor"),
    "nodes": ("trader", "limit", "cursor"),
    "reconciliation": ("trader", "venue", "instrument", "since", "resolved", "limit", "cursor"),
}
SUMMARIES = {
    "orders": "Unified orders, most recently changed first",
    "fills": "Fills, newest first",
    "positions": "Unified positions with their per-venue-account breakdown (venue_positions)",
    "balances": "Current balances per venue account and currency",
    "nodes": "The nodes writing this database: heartbeat, version, health",
    "reconciliation": "Differences reconciliation found between the OMS and the venues, newest first",
}


def openapi_spec(lists: Iterable[str]) -> dict[str, Any]:
    page = {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "next_cursor": {"type": ["string", "null"], "description": "pass as cursor for the next page; null: last page"},
    }}
    errors = {"type": "object", "properties": {"errors": {"type": "object", "additionalProperties": {"type": "string"},
                                                          "description": "each bad parameter and why"}}}
    paths: dict[str, Any] = {}
    for name in sorted(lists):
        paths[f"/api/{name}"] = {"get": {
            "summary": SUMMARIES[name],
            "parameters": [{"name": p, "in": "query", "required": False, **PARAMETERS[p]}
                           for p in LIST_PARAMETERS[name]],
            "responses": {
                "200": {"description": "one page", "content": {"application/json": {"schema": page}}},
                "400": {"description": "bad parameters", "content": {"application/json": {"schema": errors}}},
                "503": {"description": "PostgreSQL unavailable"},
            },
        }}
    paths["/api/traders"] = {"get": {"summary": "Trader ids present in the database", "responses": {
        "200": {"description": "the trader ids", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}}}}}}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "live serve", "version": "1",
                 "description": "Read-only view of the Unified OMS and Position Tracker. Money and quantities are "
                                "decimal strings; times RFC 3339."},
        "paths": paths,
    }
