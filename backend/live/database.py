"""PostgreSQL access for the live layer: one asyncpg pool, the embedded server, and migrations.

Where the database is comes from, in order: an explicit DSN (the config's ``database.dsn``), the
``LIVE_DATABASE_URL`` environment variable, else an embedded PostgreSQL (the ``pgserver`` package) under a data
directory, started on first use and reused while it runs (it outlives the command; ``live db stop`` stops it).

The embedded server's data directory does not depend on the working directory, so ``live run`` and ``live orders``
started anywhere see the same database: the config's ``database.data_dir`` (relative to the config file), else
``$LIVE_DATA_DIR``, else ``/var/lib/live-trading/pgdata`` for root, else ``pgdata`` under the user's data directory
(``~/.local/share/live-trading/pgdata`` on Linux). Not ``~root`` for root: pgserver runs PostgreSQL as its own
``pgserver`` user and would have to open every parent directory of the data directory to it.

Migrations are the numbered ``migrations/NNNN_name.sql`` files, applied in order, each in its own transaction,
while holding a PostgreSQL advisory lock, so two processes that migrate at once apply each file exactly once.
Each applied file is recorded with its SHA-256; a file that changed after it was applied is refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from backend.live import sql

log = logging.getLogger(__name__)


class _OneLineDuringOutages(logging.Filter):
    """asyncpg's pool logs a full traceback each time it fails to reopen its minimum connections (every second
    of a database outage); the exception's text on the same line says as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()} ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("asyncpg.pool").addFilter(_OneLineDuringOutages())

DSN_ENV_VAR = "LIVE_DATABASE_URL"
DATA_DIR_ENV_VAR = "LIVE_DATA_DIR"
ROOT_DATA_DIR = Path("/var/lib/live-trading/pgdata")
MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class DatabaseError(RuntimeError):
    """A database problem an operator must act on; the message says what and where (never a password)."""


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***``, for logs and errors."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparseable DSN>"
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def default_data_dir() -> Path:
    """Where the embedded server keeps its data when the config names no ``database.data_dir`` (see the module doc)."""
    from_env = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser().resolve()
    if os.name == "posix" and os.geteuid() == 0:
        return ROOT_DATA_DIR
    import platformdirs  # a pgserver dependency

    return platformdirs.user_data_path("live-trading") / "pgdata"


def _resolved(data_dir: str | os.PathLike[str] | None) -> Path:
    return default_data_dir() if data_dir is None else Path(data_dir).expanduser().resolve()


def start_embedded_server(data_dir: str | os.PathLike[str] | None = None, *, keep_running: bool = True) -> str:
    """Start (or reuse, when it already runs) the embedded PostgreSQL under ``data_dir``; returns its DSN.

    ``keep_running``: the server outlives this process, so the next run (or ``live orders``) reuses it; otherwise it
    stops when the last process using it exits (pgserver counts them) or at ``stop_embedded_server``."""
    import pgserver  # imported here: only the embedded path needs it

    data_dir = _resolved(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Not pgserver.get_server: it caches one handle per directory for the process's lifetime and would hand back
        # the DSN of a server stopped since (``live db stop``, a test); the constructor checks and starts it.
        server = pgserver.PostgresServer(data_dir, cleanup_mode=None if keep_running else "stop")
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        log_file = data_dir / "log"
        raise DatabaseError(f"cannot start the embedded PostgreSQL in {data_dir}: {exc}"
                            + (f" (server log: {log_file})" if log_file.exists() else "")) from None
    dsn = server.get_uri()
    log.info("Embedded PostgreSQL running: data directory %s, DSN %s", data_dir, dsn)
    return dsn


@dataclass(frozen=True)
class EmbeddedStatus:
    """What ``live db status`` reports about the embedded server under ``data_dir``."""

    data_dir: Path
    initialized: bool  # a cluster exists there (PG_VERSION)
    pid: int | None  # the running postmaster, None when stopped
    dsn: str | None  # how to connect while it runs

    @property
    def running(self) -> bool:
        return self.pid is not None


def embedded_status(data_dir: str | os.PathLike[str] | None = None) -> EmbeddedStatus:
    """The embedded server's state, read from its data directory; never starts it."""
    from pgserver.utils import PostmasterInfo

    data_dir = _resolved(data_dir)
    info = PostmasterInfo.read_from_pgdata(data_dir) if (data_dir / "postmaster.pid").is_file() else None
    running = info is not None and info.is_running()
    return EmbeddedStatus(data_dir=data_dir, initialized=(data_dir / "PG_VERSION").is_file(),
                          pid=info.pid if running else None, dsn=info.get_uri() if running else None)


def stop_embedded_server(data_dir: str | os.PathLike[str] | None = None, *, delete_data: bool = False) -> bool:
    """Stop the embedded server under ``data_dir`` (fast shutdown: open sessions are ended, committed data kept);
    returns whether one was running. ``delete_data`` then removes the data directory: every table is lost."""
    from pgserver._commands import POSTGRES_BIN_PATH

    status = embedded_status(data_dir)
    if status.running:
        run_as = {}
        if os.name == "posix" and os.geteuid() == 0:  # pgserver runs the server as its own user when root
            run_as = {"user": status.data_dir.stat().st_uid}
        try:
            subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(status.data_dir), "-m", "fast", "-w", "stop"],
                           check=True, capture_output=True, text=True, timeout=60, **run_as)
        except subprocess.CalledProcessError as exc:
            raise DatabaseError(f"cannot stop the embedded PostgreSQL in {status.data_dir}: "
                                f"{exc.stderr.strip() or exc}") from None
        log.info("Embedded PostgreSQL in %s stopped", status.data_dir)
    if delete_data and status.data_dir.exists():
        shutil.rmtree(status.data_dir)
        log.info("Embedded PostgreSQL data directory %s removed", status.data_dir)
    return status.running


def resolve_dsn(configured_dsn: str | None, data_dir: Path | None = None) -> str:
    """The DSN to connect to: the configured one, else ``$LIVE_DATABASE_URL``, else the embedded server's."""
    if configured_dsn:
        return configured_dsn
    from_env = os.environ.get(DSN_ENV_VAR, "").strip()
    if from_env:
        return from_env
    return start_embedded_server(data_dir)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0) -> asyncpg.Pool:
    """An asyncpg pool; connection failures become a DatabaseError naming the (redacted) DSN and the cause."""
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, timeout=timeout)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL at {redact_dsn(dsn)}: {exc}") from None
    assert pool is not None
    return pool


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """The migration files in version order; a misnamed file or a duplicate version is an error."""
    if directory is None:
        files = [(p.name, p.read_text()) for p in resources.files("backend.live").joinpath("migrations").iterdir()]
    else:
        files = [(p.name, p.read_text()) for p in Path(directory).iterdir()]
    migrations: dict[int, Migration] = {}
    for filename, text in files:
        if not filename.endswith(".sql"):
            continue
        match = MIGRATION_FILE.match(filename)
        if match is None:
            raise DatabaseError(f"migration file {filename!r} is not named NNNN_lowercase_name.sql")
        version = int(match["version"])
        if version in migrations:
            raise DatabaseError(f"two migration files have version {version:04d}")
        migrations[version] = Migration(version, match["name"], text)
    return [migrations[v] for v in sorted(migrations)]


async def migrate(pool_or_conn: asyncpg.Pool | asyncpg.Connection, migrations: Sequence[Migration] | None = None) -> list[int]:
    """Apply the pending migrations; returns the versions applied now (empty when up to date)."""
    migrations = load_migrations() if migrations is None else migrations
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            return await _migrate(conn, migrations)
    return await _migrate(pool_or_conn, migrations)


async def _migrate(conn: asyncpg.Connection, migrations: Sequence[Migration]) -> list[int]:
    applied_now: list[int] = []
    await conn.execute(sql.ADVISORY_LOCK, sql.MIGRATION_LOCK_KEY)
    try:
        await conn.execute(sql.CREATE_MIGRATIONS_TABLE)
        applied = {r["version"]: r for r in await conn.fetch(sql.SELECT_APPLIED_MIGRATIONS)}
        for migration in migrations:
            record = applied.get(migration.version)
            if record is not None:
                if record["checksum"] != migration.checksum:
                    raise DatabaseError(
                        f"migration {migration.version:04d}_{migration.name}.sql changed after it was applied "
                        f"(recorded sha256 {record['checksum'][:12]}..., file sha256 {migration.checksum[:12]}...); "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                try:
                    await conn.execute(migration.sql)
                except asyncpg.PostgresError as exc:
                    raise DatabaseError(
                        f"migration {migration.version:04d}_{migration.name}.sql failed: {exc}"
                    ) from exc
                await conn.execute(sql.INSERT_MIGRATION, migration.version, migration.name, migration.checksum)
            log.info("Applied migration %04d_%s", migration.version, migration.name)
            applied_now.append(migration.version)
    finally:
        await conn.execute(sql.ADVISORY_UNLOCK, sql.MIGRATION_LOCK_KEY)
    return applied_now


async def delete_trader(pool: asyncpg.Pool, trader_id: str, node_lock_key: int) -> int:
    """Remove every row of ``trader_id`` from every table (the ones with a ``trader_id`` column), in one
    transaction; returns how many. Refused while a node trading as ``trader_id`` holds its lock
    (``node_lock_key``, see ``node_lock.py``)."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(sql.TRY_NODE_LOCK_XACT, node_lock_key):
            raise DatabaseError(f"a node trading as {trader_id} is running; stop it first")
        removed = 0
        for record in await conn.fetch(sql.TRADER_TABLES):
            table = '"' + record["table_name"].replace('"', '""') + '"'
            status = await conn.execute(sql.DELETE_TRADER_ROWS.format(table=table), trader_id)
            removed += int(status.rsplit(" ", 1)[1])
    return removed


class Database:
    """The live layer's connection pool, created from the config's database section."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self.pool = pool
        self.dsn = dsn

    @classmethod
    async def connect(
        cls,
        dsn: str | None = None,
        *,
        data_dir: Path | None = None,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        run_migrations: bool = True,
    ) -> Database:
        resolved = resolve_dsn(dsn, data_dir)
        pool = await create_pool(resolved, min_size=min_size, max_size=max_size, timeout=timeout)
        if run_migrations:
            try:
                await migrate(pool)
            except BaseException:
                await pool.close()
                raise
        log.info("Connected to PostgreSQL at %s", redact_dsn(resolved))
        return cls(pool, resolved)

    async def close(self) -> None:
        await self.pool.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
