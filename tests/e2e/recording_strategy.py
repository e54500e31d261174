"""The scripted strategy, plus the node's own record of what it published: each order event id it receives is
appended to ``record_path`` and fsynced before the handler returns (the durability tests' ground truth)."""

from __future__ import annotations

import os

from nautilus_trader.model.events import OrderEvent

from backend.live.strategies.scripted import ScriptedStrategy, ScriptedStrategyConfig


class RecordingStrategyConfig(ScriptedStrategyConfig, frozen=True):
    record_path: str = ""


class RecordingStrategy(ScriptedStrategy):
    def __init__(self, config: RecordingStrategyConfig) -> None:
        super().__init__(config)
        self._record_fd = os.open(config.record_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def on_order_event(self, event: OrderEvent) -> None:
        os.write(self._record_fd, f"{event.id} {type(event).__name__} {event.client_order_id}\n".encode())
        os.fsync(self._record_fd)
