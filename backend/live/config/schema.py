"""The live config's types: frozen msgspec Structs that reject unknown keys, plus the rules types cannot express.

Types carry what msgspec checks on its own (field names, types, enums, bounds, URL schemes, the trader id format);
``LiveConfig.__post_init__`` runs the cross-field rules (products per venue, environments per venue, credentials
of execution clients, ...) and raises ``ConfigError`` naming the dotted path of the offending field. Secrets are
``Secret`` objects (see ``secrets.py``); an empty secret string means "not set" and becomes ``None``.

``python -m backend.live.config.schema`` prints the JSON Schema generated from these types
(``docs/live/config.schema.json``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from backend.live.config.secrets import Secret, schema_hook
from backend.live.venues import ALL_PRODUCTS, VENUES, routing_venue


class ConfigError(ValueError):
    """A bad config: ``path`` is the dotted path of the field (``""`` for the whole file), never a secret value."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class ConfigProblems(ConfigError):
    """Several problems found in one pass (``problems``, each a ``ConfigError`` with its own path)."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = tuple(problems)
        super().__init__("", f"{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems))


# -- constrained scalar types (their Meta also documents the JSON Schema) -------------------------------------------

PositiveInt = Annotated[int, Meta(gt=0)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
PositiveSeconds = Annotated[float, Meta(gt=0)]
TraderIdStr = Annotated[str, Meta(
    pattern=r"^[A-Za-z0-9_]+-[0-9]+$",
    description="NAME-NNN, a name and a numeric tag joined by a hyphen (e.g. TRADER-001)",
)]
HttpUrl = Annotated[str, Meta(pattern=r"^https?://[^\s/]+\S*$", description="an http:// or https:// URL")]
WsUrl = Annotated[str, Meta(pattern=r"^wss?://[^\s/]+\S*$", description="a ws:// or wss:// URL")]
ImportPath = Annotated[str, Meta(
    pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$",
    description="module.path:ClassName",
)]
InstrumentIdStr = Annotated[str, Meta(pattern=r"^\S+\.[A-Z0-9_]+$", description="SYMBOL.VENUE, e.g. BTCUSDT.BINANCE")]

VenueName = Literal[tuple(VENUES)]  # type: ignore[valid-type]  # one VenueSpec per venue (backend/live/venues.py)
Product = Literal[ALL_PRODUCTS]  # type: ignore[valid-type]
VenueType = Literal["CEFI", "DEFI", "TRADFI", "SPORTS"]
Environment = Literal["live", "testnet", "demo"]
LogLevel = Literal["OFF", "TRACE", "DEBUG", "INFO", "WARNING", "ERROR"]
DSN_SCHEMES = ("postgresql://", "postgres://")


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config struct: immutable, and an unknown key is an error rather than silently ignored."""


def _blank_secrets_to_none(section: _Section, *fields: str) -> None:
    """``"${VAR:-}"`` yields ``""``: an empty secret means "not configured", so store ``None``."""
    for name in fields:
        value = getattr(section, name)
        if value is not None and not value.get():
            msgspec.structs.force_setattr(section, name, None)


# -- sections --------------------------------------------------------------------------------------------------------


class DatabaseSettings(_Section):
    """PostgreSQL for the unified tables. No DSN: an embedded server keeps its data in ``data_dir`` (relative to the
    config file; unset: ``$LIVE_DATA_DIR``, else the user's data directory, see ``backend/live/database.py``)."""

    dsn: Secret | None = None
    data_dir: str | None = None
    pool_min_size: NonNegativeInt = 1
    pool_max_size: PositiveInt = 10
    connect_timeout_secs: PositiveSeconds = 10
    # monthly partitions of order_events, fills, position_history, account_state_history (backend/live/partitions.py)
    partition_months_ahead: PositiveInt = 3  # created by the node at start and by `live db maintain`
    retention_months: PositiveInt | None = None  # `live db maintain` removes older months; None keeps everything
    retention_detach_only: bool = False  # detach old months (kept as tables of their own) instead of dropping them

    def __post_init__(self) -> None:
        _blank_secrets_to_none(self, "dsn")


class OmsSettings(_Section):
    """The Unified OMS writer: batch size, flush cadence and the backlog it keeps in memory (beyond it: in the journal
    only, with a warning). Every item is first appended to the write-ahead journal under ``journal_directory``
    (relative to the config file; one subdirectory per trader id), fsynced at most ``journal_fsync_delay_ms`` later,
    in segments of ``journal_segment_mb``; what PostgreSQL has not taken by the end of ``shutdown_flush_secs`` at
    shutdown waits there and is written on the next start."""

    batch_max_rows: PositiveInt = 2000
    flush_interval_ms: PositiveInt = 10
    queue_max_events: PositiveInt = 1_000_000
    shutdown_flush_secs: PositiveSeconds = 5
    journal_directory: str = ".live/journal"
    journal_fsync_delay_ms: Annotated[float, Meta(ge=0, le=100)] = 3.0
    journal_segment_mb: Annotated[int, Meta(gt=0, le=4096)] = 64


class PositionSettings(_Section):
    """Position sync from the node's cache (also triggered by every position event)."""

    sync_interval_secs: PositiveSeconds = 5.0


class HealthSettings(_Section):
    """A client with no message for this long is reported stale."""

    stale_after_secs: PositiveSeconds = 60


class RedisSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 6379
    username: str | None = None
    password: Secret | None = None

    def __post_init__(self) -> None:
        _blank_secrets_to_none(self, "password")


class CacheSettings(_Section):
    """NautilusTrader's cache: in memory, or persisted to Redis."""

    backend: Literal["memory", "redis"] = "memory"
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)


class LoggingSettings(_Section):
    """``level`` for the console; ``file_level`` (default: ``level``) for the files under ``log_directory``.

    ``format: "json"`` writes the live layer's lines (OMS writer, journal, audit, health, ...) as one JSON object per
    line on the console and in ``live-<trader_id>.jsonl``; that file rotates at ``max_file_mb`` keeping
    ``backup_count`` old ones (NautilusTrader's own file, beside it, rotates the same way)."""

    level: LogLevel = "INFO"
    log_directory: str | None = None
    file_level: LogLevel | None = None
    format: Literal["text", "json"] = "text"
    max_file_mb: PositiveInt = 100
    backup_count: NonNegativeInt = 10


class OpsSettings(_Section):
    """The node's HTTP endpoints (``/health``, ``/health/ready``, ``/health/live``, ``/metrics``).

    ``port`` 0 picks any free port (printed at start). Any ``host`` but loopback exposes them to the network without
    authentication: it must be set here explicitly and is logged as a warning. While PostgreSQL is unreachable the
    journal absorbs the rows and the node stays ready for ``journal_grace_secs``; after that ``/health/ready`` names
    the database."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 9108
    journal_grace_secs: Annotated[float, Meta(ge=0)] = 60
    probe_interval_secs: PositiveSeconds = 2


class Timeouts(_Section):
    """TradingNode start/stop timeouts, in seconds."""

    connection_secs: PositiveSeconds = 30
    reconciliation_secs: PositiveSeconds = 10
    portfolio_secs: PositiveSeconds = 10
    disconnection_secs: PositiveSeconds = 10
    post_stop_secs: PositiveSeconds = 5


class Reconciliation(_Section):
    """The OMS against the venues: NautilusTrader's reconciliation (start-up, open orders, positions), the warm start
    from PostgreSQL and the venue audit (docs/live/CONFIG.md explains each setting)."""

    enabled: bool = True
    lookback_mins: NonNegativeInt | None = 1440
    warm_start: bool = True
    open_check_interval_secs: PositiveSeconds | None = 10
    open_check_lookback_mins: PositiveInt = 60
    position_check_interval_secs: PositiveSeconds | None = 60
    audit_interval_secs: PositiveSeconds | None = 60
    audit_lookback_mins: PositiveInt = 1440
    audit_settle_secs: Annotated[float, Meta(ge=0)] = 5


class Endpoints(_Section):
    """Base URLs overriding the adapter's defaults (the offline simulator sets them; real venues leave them out)."""

    http: HttpUrl | None = None
    ws_public: WsUrl | None = None
    ws_private: WsUrl | None = None
    ws_trade: WsUrl | None = None
    ws_user_stream: WsUrl | None = None


class VenueClient(_Section):
    """One data or execution client of a venue.

    Products: Binance takes exactly one of SPOT / USDT_FUTURES per client; Bybit a subset of SPOT, LINEAR; OKX a
    subset of SPOT, SWAP. Execution clients need api_key and api_secret (OKX also passphrase).
    """

    venue: VenueName
    products: tuple[Product, ...]
    venue_type: VenueType = "CEFI"
    environment: Environment = "live"
    api_key: Secret | None = None
    api_secret: Secret | None = None
    passphrase: Secret | None = None
    key_type: Literal["hmac", "ed25519"] = "hmac"
    endpoints: Endpoints = msgspec.field(default_factory=Endpoints)
    instrument_ids: tuple[InstrumentIdStr, ...] = ()
    load_all: bool = True
    adapter_options: dict[str, Any] = {}

    def __post_init__(self) -> None:
        _blank_secrets_to_none(self, "api_key", "api_secret", "passphrase")


class StrategySpec(_Section):
    """A strategy to import and run, with its config (NautilusTrader's ImportableStrategyConfig)."""

    strategy_path: ImportPath
    config_path: ImportPath
    config: dict[str, Any] = {}


class TradingNodeSettings(_Section):
    timeouts: Timeouts = msgspec.field(default_factory=Timeouts)
    reconciliation: Reconciliation = msgspec.field(default_factory=Reconciliation)
    data_clients: dict[str, VenueClient] = {}
    exec_clients: dict[str, VenueClient] = {}
    strategies: tuple[StrategySpec, ...] = ()


class LiveConfig(_Section):
    """The whole live trading config (``configs/*.json``)."""

    trader_id: TraderIdStr
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    oms: OmsSettings = msgspec.field(default_factory=OmsSettings)
    positions: PositionSettings = msgspec.field(default_factory=PositionSettings)
    health: HealthSettings = msgspec.field(default_factory=HealthSettings)
    cache: CacheSettings = msgspec.field(default_factory=CacheSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    ops: OpsSettings = msgspec.field(default_factory=OpsSettings)
    trading_node: TradingNodeSettings = msgspec.field(default_factory=TradingNodeSettings)

    def __post_init__(self) -> None:
        check_rules(self)


# -- cross-field rules -------------------------------------------------------------------------------------------------


def _check_client(path: str, client: VenueClient, is_exec: bool) -> None:
    venue = client.venue
    spec = VENUES[venue]
    allowed = spec.products
    if not client.products:
        raise ConfigError(f"{path}.products", f"at least one product is required ({venue}: {', '.join(allowed)})")
    for product in client.products:
        if product not in allowed:
            raise ConfigError(f"{path}.products", f"{venue} does not offer {product}; expected {', '.join(allowed)}")
    if len(set(client.products)) != len(client.products):
        raise ConfigError(f"{path}.products", "a product is listed twice")
    if spec.single_product and len(client.products) != 1:
        raise ConfigError(f"{path}.products",
                          f"{venue} takes exactly one of {', '.join(allowed)} per client (configure two clients)")
    if client.environment not in spec.environments:
        raise ConfigError(f"{path}.environment", f"{venue} has no {client.environment!r} environment; "
                                                 f"expected one of {', '.join(spec.environments)}")
    if client.key_type not in spec.key_types:
        supporting = ", ".join(name for name, s in VENUES.items() if client.key_type in s.key_types)
        raise ConfigError(f"{path}.key_type", f"{client.key_type} keys are only supported for {supporting}, not {venue}")
    if is_exec:
        for field in ("api_key", "api_secret"):
            if getattr(client, field) is None:
                raise ConfigError(f"{path}.{field}", "required for an execution client")
        if spec.needs_passphrase and client.passphrase is None:
            raise ConfigError(f"{path}.passphrase", f"required for {venue} execution clients")
    expected_venue = spec.routing_venue(client.products)
    for index, instrument_id in enumerate(client.instrument_ids):
        if instrument_id.rpartition(".")[2] != expected_venue:
            raise ConfigError(f"{path}.instrument_ids[{index}]",
                              f"{instrument_id!r} is not a {expected_venue} instrument id (SYMBOL.{expected_venue})")
    if not client.load_all and not client.instrument_ids:
        raise ConfigError(f"{path}.instrument_ids", "empty while load_all is false: the client would load nothing")


def _check_database(database: DatabaseSettings) -> None:
    if database.pool_min_size > database.pool_max_size:
        raise ConfigError("database.pool_min_size", f"{database.pool_min_size} is larger than pool_max_size "
                                                    f"{database.pool_max_size}")
    if database.dsn is not None and not database.dsn.get().startswith(DSN_SCHEMES):
        raise ConfigError("database.dsn", "expected a postgresql:// URL (or empty for the embedded server)")


def _check_routing(node: TradingNodeSettings) -> None:
    routed: dict[str, str] = {}  # NautilusTrader's execution engine routes orders by venue: one exec client each
    for name, client in node.exec_clients.items():
        venue = routing_venue(client)
        if venue in routed:
            raise ConfigError(f"trading_node.exec_clients.{name}",
                              f"trades venue {venue} like exec client {routed[venue]}; one execution client per venue")
        routed[venue] = name


def rule_errors(config: LiveConfig) -> list[ConfigError]:
    """Every violation of the rules that span fields (the first one of each client), each naming its path."""
    errors: list[ConfigError] = []

    def collect(check: Any, *args: Any) -> None:
        try:
            check(*args)
        except ConfigError as exc:
            errors.append(exc)

    collect(_check_database, config.database)
    node = config.trading_node
    for kind, clients in (("data_clients", node.data_clients), ("exec_clients", node.exec_clients)):
        for name, client in clients.items():
            if not name.strip():
                errors.append(ConfigError(f"trading_node.{kind}", "a client name is empty"))
                continue
            collect(_check_client, f"trading_node.{kind}.{name}", client, kind == "exec_clients")
    collect(_check_routing, node)
    return errors


def check_rules(config: LiveConfig) -> None:
    """Raises ``ConfigError`` (``ConfigProblems`` when there are several) for the rules ``rule_errors`` checks."""
    errors = rule_errors(config)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigProblems(errors)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``LiveConfig``, generated from the types above."""
    return msgspec.json.schema(LiveConfig, schema_hook=schema_hook)


if __name__ == "__main__":
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(json_schema()), indent=2).decode() + "\n")
