"""The node's HTTP endpoints: liveness, readiness, full health and Prometheus metrics (aiohttp, on the node's loop).

``GET /health/live``   200 while the process answers.
``GET /health/ready``  200 when the trader is RUNNING, every client connected with its private stream alive and
                       PostgreSQL writable (or the journal absorbing); else 503, the body naming each failing part.
``GET /health``        the whole status: trader, every client (connected, message ages, reconnects, stale),
                       database and queues; 200 or 503 like ``/health/ready``.
``GET /metrics``       Prometheus text format.

Every handler only reads the node; none can change it. Binding anywhere but loopback needs the host set in the
config and is logged as a warning: the endpoints have no authentication.
"""

from __future__ import annotations

import ipaddress
import logging
import time

import msgspec
from aiohttp import web

from backend.live.ops.metrics import CONTENT_TYPE, NodeMetrics
from backend.live.ops.status import NodeStatus, OpsSource, readiness_failures

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def node_status(source: OpsSource, version: str) -> NodeStatus:
    return NodeStatus(trader_id=source.trader_id, version=version, trader_state=source.trader_state(),
                      clients=source.clients(), database=await source.database())


def _json(body: dict, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), status=status, content_type="application/json")


def create_app(source: OpsSource, metrics: NodeMetrics, version: str) -> web.Application:
    started = time.time()

    async def live(request: web.Request) -> web.Response:
        return _json({"status": "alive", "trader_id": source.trader_id, "uptime_secs": round(time.time() - started, 1)})

    async def ready(request: web.Request) -> web.Response:
        status = await node_status(source, version)
        failing = readiness_failures(status)
        body = {"ready": not failing, "trader_id": status.trader_id, "failing": failing}
        return _json(body, 503 if failing else 200)

    async def health(request: web.Request) -> web.Response:
        status = await node_status(source, version)
        failing = readiness_failures(status)
        body = {"ready": not failing, "failing": failing, **msgspec.to_builtins(status)}
        return _json(body, 503 if failing else 200)

    async def prometheus(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.add_routes([web.get("/health/live", live), web.get("/health/ready", ready), web.get("/health", health),
                    web.get("/metrics", prometheus)])
    return app


class OpsServer:
    """Serves ``create_app`` on ``host:port`` (port 0: any free port; ``url`` tells which)."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> str:
        if not is_loopback(self.host):
            log.warning("Node endpoints bound to %s, not loopback: /health and /metrics are reachable from the "
                        "network without authentication", self.host)
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise OSError(exc.errno, f"node endpoints cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        self.port = self._runner.addresses[0][1]
        log.info("Node endpoints on %s (/health, /health/ready, /health/live, /metrics)", self.url)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
