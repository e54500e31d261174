"""What a node reports about itself to its HTTP endpoints, and the readiness rule over it (pure, no I/O).

The endpoints and the metrics collector read a node only through ``OpsSource`` (``source.py`` adapts a
``LiveTradingNode``), so they are tested alone with a fake source and do not care how the node is put together.
"""

from __future__ import annotations

from typing import Protocol

import msgspec


class ClientStatus(msgspec.Struct, frozen=True):
    """One data or execution client as the health endpoints show it (ages in seconds, None = nothing heard yet)."""

    client: str
    kind: str  # data / exec
    venue: str
    connected: bool
    stale: bool
    reconnects: int
    last_message_age_secs: float | None
    last_public_age_secs: float | None = None
    last_private_age_secs: float | None = None
    private_stream_alive: bool | None = None  # exec clients: the venue's private (user data) stream; None: n/a
    private_stream_detail: str | None = None  # why it is not alive, when the node knows
    private_stream_state: str | None = None  # active / reconnecting / down / unknown
    private_stream_reconnects: int | None = None  # reconnects of the private WebSockets inside the adapter
    awaiting_answer_secs: float | None = None  # the oldest order command the venue has not answered yet


class DatabaseStatus(msgspec.Struct, frozen=True):
    """Whether the node's rows reach PostgreSQL now, and what holds them while they do not."""

    writable: bool
    error: str | None = None  # why not writable (secrets masked)
    journal_enabled: bool = False
    journal_absorbing: bool = False  # the journal takes the rows while PostgreSQL does not
    queue_depth: int = 0
    journal_depth: int = 0


class NodeStatus(msgspec.Struct, frozen=True):
    trader_id: str
    version: str
    trader_state: str  # NautilusTrader's trader state: PRE_INITIALIZED ... RUNNING ... STOPPED
    clients: list[ClientStatus]
    database: DatabaseStatus


class OpsSource(Protocol):
    """The read-only view of a node the endpoints and the metrics need."""

    trader_id: str

    def trader_state(self) -> str: ...

    def clients(self) -> list[ClientStatus]: ...

    async def database(self) -> DatabaseStatus: ...

    def queue_depth(self) -> int: ...

    def journal_depth(self) -> int: ...

    def fills_written(self) -> int: ...

    def dead_letters(self) -> int: ...

    def open_orders_by_venue(self) -> dict[str, int]: ...

    def reconciliation_differences(self) -> dict[str, int]: ...


def client_key(client: ClientStatus) -> str:
    return f"{client.kind}_client:{client.client}"


def readiness_failures(status: NodeStatus) -> dict[str, str]:
    """Each part that keeps the node from being ready, with the reason; empty = ready.

    Ready means: the trader is RUNNING, every client is connected and each execution client's private stream is
    alive, and PostgreSQL takes the rows (or the journal absorbs them while it does not).
    """
    failing: dict[str, str] = {}
    if status.trader_state != "RUNNING":
        failing["trader"] = f"trader is {status.trader_state}, not RUNNING"
    for client in status.clients:
        if not client.connected:
            failing[client_key(client)] = f"{client.venue} {client.kind} client disconnected"
        elif client.private_stream_alive is False:
            failing[client_key(client)] = f"{client.venue} private stream not alive" + \
                (f": {client.private_stream_detail}" if client.private_stream_detail else "")
    database = status.database
    if not database.writable and not database.journal_absorbing:
        reason = f"PostgreSQL not writable: {database.error or 'no answer'}"
        if database.journal_enabled:
            reason += "; the journal does not absorb the rows either"
        failing["database"] = reason
    return failing
