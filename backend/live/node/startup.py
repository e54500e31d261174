"""Start-up: wait until NautilusTrader's trader is RUNNING, or say in one line per client why it is not.

``wait_until_running`` never waits longer than NautilusTrader itself: the kernel gives up on clients that did not
connect within ``timeouts.connection_secs`` but then idles instead of failing, so the clients are checked at that
moment too. ``describe_failure`` gives the cause of each client that did not connect, taken from this node's own
NautilusTrader log file (the adapters log a failed connect and swallow the exception), with configured secrets
masked and URL query strings (timestamps, signatures) dropped.

Adding a start-up check: a function of the ``StartupProbe`` that returns a cause (or None) can be passed in
``checks``; the first cause found ends the wait with ``StartupError``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nautilus_trader.common.component import flush_logger

from backend.live.config.schema import LiveConfig
from backend.live.node.health import ClientState

GRACE_SECS = 1.0  # the kernel's own timers fire first
POLL_SECS = 0.1
UNREACHABLE_MARKERS = ("Connection refused", "tcp connect error", "dns error", "Cannot connect", "Connect call failed")


class StartupError(RuntimeError):
    """The node did not reach RUNNING; the message names the clients that failed and why."""


@dataclass(frozen=True)
class StartupProbe:
    """What a start-up check may look at on each poll."""

    kernel: Any  # NautilusTrader's NautilusKernel
    clients: Sequence[ClientState]
    run_task: asyncio.Task[None]
    elapsed_secs: float


StartupCheck = Callable[[StartupProbe], str | None]


async def wait_until_running(kernel: Any, run_task: asyncio.Task[None], clients: Sequence[ClientState],
                             timeouts: Any, timeout_secs: float | None = None,
                             checks: Iterable[StartupCheck] = ()) -> str | None:
    """Wait until the trader is RUNNING (returns None) or the start cannot succeed: returns the reason to stop, a
    check's cause or ``""`` when the node stopped, a timeout passed or the clients did not connect in time."""
    started = time.monotonic()
    connect_deadline = started + timeouts.connection_secs + GRACE_SECS
    deadline = started + (timeout_secs or timeouts.connection_secs + timeouts.reconciliation_secs
                          + timeouts.portfolio_secs + GRACE_SECS)
    checks = tuple(checks)
    while not kernel.trader.is_running:
        now = time.monotonic()
        connected = kernel.data_engine.check_connected() and kernel.exec_engine.check_connected()
        if run_task.done() or now > deadline or (now > connect_deadline and not connected):
            return ""
        probe = StartupProbe(kernel=kernel, clients=clients, run_task=run_task, elapsed_secs=now - started)
        for check in checks:
            cause = check(probe)
            if cause:
                return cause
        await asyncio.sleep(POLL_SECS)
    return None


def configured_secrets(config: LiveConfig) -> list[str]:
    node = config.trading_node
    return [s.get() for c in (*node.data_clients.values(), *node.exec_clients.values())
            for s in (c.api_key, c.api_secret, c.passphrase) if s is not None]


async def describe_failure(config: LiveConfig, instance_id: str, clients: Sequence[ClientState],
                           run_task: asyncio.Task[None] | None) -> str:
    """One line per client that did not connect, with the cause its adapter logged, e.g.
    ``exec client BINANCE_SPOT did not connect: BinanceClientError({'code': -1022, 'msg': 'Signature ...'})``."""
    secrets = configured_secrets(config)
    timeouts = config.trading_node.timeouts
    errors = await recent_log_errors(config.logging.log_directory, instance_id, secrets)
    no_log = ("cause not available: this node writes no log file (set logging.log_directory; in one process "
              "only the first node's logging settings apply)")
    lines = []
    for state in clients:
        if state.connected:
            continue
        component = f"{'DataClient' if state.kind == 'data' else 'ExecClient'}-{state.name}"
        causes = [text for name, text in errors or () if name == component]
        silent = f"no error logged within timeouts.connection_secs ({timeouts.connection_secs:g} s)"
        cause = causes[-1] if causes else no_log if errors is None else silent
        unreachable = any(m in cause for m in UNREACHABLE_MARKERS)
        lines.append(f"{state.kind} client {state.name} did not connect"
                     + (" (could not reach the venue)" if unreachable else "") + f": {cause}")
    if run_task is not None and run_task.done() and not run_task.cancelled() and run_task.exception() is not None:
        lines.append(f"the node stopped: {masked(repr(run_task.exception()), secrets)}")
    if not lines:
        lines.append("the trader did not reach RUNNING (reconciliation or portfolio initialisation timed out)")
        lines += [f"{name}: {text}" for name, text in (errors or [])[-5:]]
    return "\n".join(lines)


async def recent_log_errors(log_directory: str | None, instance_id: str, secrets: list[str],
                            limit: int = 20) -> list[tuple[str, str]] | None:
    """``(component, text)`` of the last ERROR records in this kernel's NautilusTrader log file (its name holds the
    kernel's instance id, so an older run's file is never read); None when this kernel writes no file. ``text`` is
    the record's last line: for a logged exception that is the exception itself, e.g. ``HttpError(... refused ...)``.
    """
    if not log_directory or not instance_id:
        return None
    flush_logger()  # the log thread writes through a buffer: wait (at most 0.5 s) until the files stop growing
    files: list[Path] = []
    size = -1
    for _ in range(10):
        files = sorted(Path(log_directory).glob(f"*{instance_id}*.log*"))
        current = sum(f.stat().st_size for f in files)
        if current == size:
            break
        size = current
        await asyncio.sleep(0.05)
    if not files:
        return None
    return parse_log_errors((line for path in files for line in path.read_text(errors="replace").splitlines()),
                            secrets)[-limit:]


_HEADER = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \[(\w+)\] [^.\s]+\.(\S+): (.*)$")


def parse_log_errors(lines: Iterable[str], secrets: list[str]) -> list[tuple[str, str]]:
    """``(component, last line)`` of each ERROR record in NautilusTrader log lines, secrets masked."""
    records: list[tuple[str, list[str]]] = []
    for line in lines:
        match = _HEADER.match(line)
        if match:
            records.append((match[2], [match[3]]) if match[1] == "ERROR" else ("", []))
        elif records and records[-1][0] and line.strip():
            records[-1][1].append(line.strip())
    return [(component, masked(text[-1], secrets)) for component, text in records if component]


def masked(text: str, secrets: list[str]) -> str:
    """``text`` with configured secrets replaced by ``***`` and URL query strings (signatures) dropped."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return re.sub(r"(https?://[^\s?()]+)\?[^\s()]*", r"\1", text)
