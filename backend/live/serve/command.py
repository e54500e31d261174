"""``live serve``: run the read-only dashboard and JSON API until SIGINT / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from rich.console import Console

from backend.live.cli_support import EXIT_OK, EXIT_RUNTIME, add_command, load
from backend.live.database import resolve_dsn
from backend.live.serve.app import DashboardServer, open_read_only_pool

DEFAULT_PORT = 8090


async def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    config = load(args.config) if args.config else None
    database = config.database if config is not None else None
    configured = database.dsn.get() if database is not None and database.dsn is not None else None
    dsn = resolve_dsn(configured, Path(database.data_dir) if database is not None and database.data_dir else None)
    pool = await open_read_only_pool(dsn)
    server = DashboardServer(pool, args.host, args.port)
    try:
        try:
            url = await server.start()
        except OSError as exc:
            console.print(f"[red]error:[/red] {exc.strerror or exc}", highlight=False)
            return EXIT_RUNTIME
        console.print(f"live serve: dashboard {url}/  API {url}/api/  OpenAPI {url}/api/openapi.json (read-only)",
                      highlight=False)
        await _until_signal(args.duration)
    finally:
        await server.stop()
        await pool.close()
    return EXIT_OK


async def _until_signal(duration_secs: float | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration_secs)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def register(sub: Any) -> None:
    serve = add_command(sub, "serve", cmd_serve, "read-only web dashboard and JSON API over the unified tables")
    serve.add_argument("--config", help="read the database settings from this config (else LIVE_DATABASE_URL, else "
                                        "the embedded server)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other is "
                                                           "reachable without authentication and logged as a warning)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    serve.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
