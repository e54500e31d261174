"""The node's operations part: its HTTP endpoints, metrics and the database probe, started and stopped with it.

``LiveTradingNode`` creates one (``NodeOps(node, config)``), lets it subscribe to the message bus once the kernel is
built (``attach``), starts it before the kernel starts (so ``/health/live`` answers and ``/health/ready`` says 503
while clients connect) and stops it last. ``ops.enabled: false`` turns all of it off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

from backend.live.config.schema import LiveConfig
from backend.live.node.startup import configured_secrets
from backend.live.ops.http import OpsServer, create_app
from backend.live.ops.logs import SecretMasker, configure_logging
from backend.live.ops.metrics import NodeMetrics
from backend.live.ops.source import NodeOpsSource

log = logging.getLogger(__name__)


def package_version() -> str:
    try:
        return version("backend")
    except PackageNotFoundError:
        return "unknown"


def all_secrets(config: LiveConfig) -> list[str]:
    """Every configured credential: the clients' keys, the database DSN and its password, Redis's password."""
    secrets = configured_secrets(config)
    dsn = config.database.dsn.get() if config.database.dsn is not None else ""
    if dsn:
        secrets.append(dsn)
        password = urlsplit(dsn).password
        if password:
            secrets.append(password)
    if config.cache.redis.password is not None:
        secrets.append(config.cache.redis.password.get())
    return secrets


def configure_node_logging(config: LiveConfig, verbose: bool = False) -> None:
    """The live layer's logging as the config says (``logging.format``, files, rotation), secrets masked."""
    settings = config.logging
    configure_logging(level="DEBUG" if verbose else settings.level, fmt=settings.format, trader_id=config.trader_id,
                      log_directory=settings.log_directory, file_level=settings.file_level,
                      max_file_bytes=settings.max_file_mb * 1024 * 1024, backup_count=settings.backup_count,
                      secrets=all_secrets(config))


class NodeOps:
    def __init__(self, node: Any, config: LiveConfig) -> None:
        settings = config.ops
        self.enabled = settings.enabled
        self.version = package_version()
        self.masker = SecretMasker(all_secrets(config))
        self.source = NodeOpsSource(node, self.masker, journal_grace_secs=settings.journal_grace_secs,
                                    probe_interval_secs=settings.probe_interval_secs)
        self.metrics = NodeMetrics(self.source, self.version)
        self.server = OpsServer(create_app(self.source, self.metrics, self.version), settings.host, settings.port)
        self._probe: asyncio.Task[None] | None = None
        self.url: str | None = None
        self.announce: Callable[[str], None] | None = None  # told the URL once listening (``live run`` prints it)

    def attach(self, msgbus: Any, writer: Any) -> None:
        """Observe order events on the bus and committed batches of the writer (histograms and counters)."""
        if not self.enabled:
            return
        msgbus.subscribe(topic="events.order.*", handler=self.metrics.on_order_event)
        writer.on_batch_committed = self.metrics.on_batch_committed

    async def start(self) -> str | None:
        if not self.enabled or self.url is not None:
            return self.url
        self.url = await self.server.start()
        if self.announce is not None:
            self.announce(self.url)
        await self.source.probe()
        self._probe = asyncio.get_running_loop().create_task(self.source.run(), name="ops-database-probe")
        return self.url

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
            self._probe = None
        if self.url is not None:
            await self.server.stop()
            self.url = None
