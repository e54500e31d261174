"""Start-up: wait until NautilusTrader's trader is RUNNING, or say in one line per client why it is not.

``wait_until_running`` never waits longer than NautilusTrader itself: the kernel gives up on clients that did not
connect within ``timeouts.connection_secs`` but then idles instead of failing, so the clients are checked at that
moment too. And it does not wait at all once a failure is final: NautilusTrader runs each client's ``_connect`` once
(the adapters retry inside it, e.g. a refused connection), logs the exception it ends with and never tries again,
so a connect that raised (bad key, bad signature, unknown symbol, a venue still unreachable after the retries)
ends the start at once, naming that cause, while clients that are merely slow are waited for as before.
``describe_failure`` gives the cause of each client that did not connect, taken from this node's own
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
FINAL_FAILURE_GRACE_SECS = 0.3
POLL_SECS = 0.1
UNKNOWN_SYMBOL_MARKERS = ("invalid symbol", "symbol invalid", "instrument id does not exist", "not supported symbol")
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


class ConnectOutcomes:
    """The exception each client's ``_connect`` ended with, seen through the client's own ``create_task`` (both
    NautilusTrader's live data and execution clients start ``_connect`` with it and log, then drop, its error)."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        self.failures: dict[tuple[str, str], str] = {}  # (kind, name) -> cause
        self._secrets = list(secrets)

    def watch(self, states: Iterable[ClientState]) -> None:
        for state in states:
            self._watch(state)

    def _watch(self, state: ClientState) -> None:
        client = state.client
        create_task = client.create_task

        def recording_create_task(coro: Any, *args: Any, **kwargs: Any) -> Any:
            is_connect = getattr(coro, "__name__", "") == "_connect"
            task = create_task(coro, *args, **kwargs)
            if is_connect and isinstance(task, asyncio.Task):
                task.add_done_callback(lambda done: self._record(state, done))
            return task

        client.create_task = recording_create_task

    def _record(self, state: ClientState, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        self.failures[(state.kind, state.name)] = masked(f"{type(error).__name__}({error})", self._secrets)

    def describe(self, clients: Sequence[ClientState]) -> str:
        """One line per client that did not connect: its final error, or that it was still connecting."""
        lines = []
        for state in clients:
            if state.connected:
                continue
            cause = self.failures.get((state.kind, state.name))
            if cause is None:
                lines.append(f"{state.kind} client {state.name} did not connect: still connecting when the start "
                             "was abandoned (another client's failure is final)")
                continue
            unreachable = any(m in cause for m in UNREACHABLE_MARKERS)
            symbol_hint = ("; the venue does not list one of its instrument_ids (live check-config --online CONFIG "
                           "names it)" if any(m in cause.lower() for m in UNKNOWN_SYMBOL_MARKERS) else "")
            lines.append(f"{state.kind} client {state.name} did not connect"
                         + (" (could not reach the venue)" if unreachable else "") + f": {cause}{symbol_hint}")
        return "\n".join(lines)


async def wait_until_running(kernel: Any, run_task: asyncio.Task[None], clients: Sequence[ClientState],
                             timeouts: Any, timeout_secs: float | None = None,
                             checks: Iterable[StartupCheck] = (), secrets: Sequence[str] = ()) -> str | None:
    """Wait until the trader is RUNNING (returns None) or the start cannot succeed: returns the reason to stop, a
    check's cause, the final connect failures, or ``""`` when the node stopped, a timeout passed or the clients
    did not connect in time. Call it right after creating ``run_task`` (before it runs: the clients' connects are
    watched from here on)."""
    started = time.monotonic()
    connect_deadline = started + timeouts.connection_secs + GRACE_SECS
    deadline = started + (timeout_secs or timeouts.connection_secs + timeouts.reconciliation_secs
                          + timeouts.portfolio_secs + GRACE_SECS)
    checks = tuple(checks)
    outcomes = ConnectOutcomes(secrets)
    outcomes.watch(clients)
    while not kernel.trader.is_running:
        if outcomes.failures:
            await asyncio.sleep(FINAL_FAILURE_GRACE_SECS)  # failures that come together are reported together
            return outcomes.describe(clients)
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
