"""Shared fixtures: a real PostgreSQL server and a fresh database per test that needs one.

The server is the one `LIVE_TEST_DATABASE_URL` names, else an embedded PostgreSQL (pgserver's binaries, on 127.0.0.1
and a free port, like a machine's service) started under a temporary directory for this test session (one per xdist
worker) and stopped, its directory removed, when the session ends. Each `fresh_dsn` (and `db`) is a new database on
that server, a copy of one migrated once per session (CREATE DATABASE ... TEMPLATE) so that a test does not pay for
the migrations; `empty_dsn` is a new, empty one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from backend.live.database import Database, stop_embedded_server


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_tcp_server(data_dir: str) -> str:
    """initdb + start pgserver's PostgreSQL binaries listening on 127.0.0.1 (pgserver itself only opens a Unix
    socket): tests that put a TCP proxy in front of the database (outages) work as with a machine's service. As root
    the server runs as pgserver's ``pgserver`` user, as pgserver does it."""
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    os.mkdir(data_dir)
    run_as: dict[str, object] = {}
    if os.geteuid() == 0:
        entry = ensure_user_exists("pgserver")
        ensure_prefix_permissions(Path(data_dir))
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        run_as = {"user": entry.pw_uid}
    subprocess.run([str(POSTGRES_BIN_PATH / "initdb"), "-D", data_dir, "--auth=trust", "--encoding=utf8",
                    "-U", "postgres"], check=True, capture_output=True, **run_as)
    port = _free_port()
    subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", data_dir, "-w", "-l", os.path.join(data_dir, "log"),
                    "-o", f"-h 127.0.0.1 -p {port} -k {data_dir}", "start"], check=True, capture_output=True,
                   timeout=60, **run_as)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


@contextlib.contextmanager
def embedded_test_server() -> Iterator[str]:
    """An embedded PostgreSQL (pgserver's binaries) on 127.0.0.1 for this process; yields its DSN, then stops it and
    removes its files.

    Not under pytest's temporary directory: as root, PostgreSQL runs as the ``pgserver`` user, which must enter every
    parent directory, and pytest keeps ``/tmp/pytest-of-root`` at mode 0700 (resetting it at each worker's start)."""
    base = tempfile.mkdtemp(prefix="live-test-pg-")
    data_dir = os.path.join(base, "pgdata")
    try:
        yield _start_tcp_server(data_dir)
    finally:
        stop_embedded_server(data_dir)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def default_embedded_data_dir() -> Iterator[None]:
    """``LIVE_DATA_DIR`` for this session (child processes inherit it): a test whose ``live`` command falls back to
    the default embedded database gets a throw-away one, never the user's, and the server is stopped at the end."""
    base = tempfile.mkdtemp(prefix="live-test-default-")
    data_dir = os.path.join(base, "pgdata")
    previous = os.environ.get("LIVE_DATA_DIR")
    os.environ["LIVE_DATA_DIR"] = data_dir
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("LIVE_DATA_DIR", None)
        else:
            os.environ["LIVE_DATA_DIR"] = previous
        stop_embedded_server(data_dir)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server whose default database may be used to create test databases."""
    from_env = os.environ.get("LIVE_TEST_DATABASE_URL", "").strip()
    if from_env:
        yield from_env
        return
    with embedded_test_server() as dsn:
        yield dsn


async def _admin(server_dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def temporary_database(server_dsn: str, template: str | None = None) -> Iterator[str]:
    """Create a new database on the server (empty, or a copy of ``template``); yield its DSN; drop it afterwards
    (sync: usable in any scope)."""
    name = f"live_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_dsn, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield _with_database(server_dsn, name)
    finally:
        asyncio.run(_admin(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_template(pg_server_dsn: str) -> Iterator[str]:
    """The name of a database migrated once per test session (per xdist worker); ``fresh_dsn`` copies it."""
    with temporary_database(pg_server_dsn) as dsn:
        async def migrate() -> None:
            await (await Database.connect(dsn, min_size=1, max_size=1)).close()

        asyncio.run(migrate())  # closed again: CREATE DATABASE ... TEMPLATE needs a template nobody is connected to
        yield urlsplit(dsn).path.lstrip("/")


@pytest.fixture
def fresh_dsn(pg_server_dsn: str, migrated_template: str) -> Iterator[str]:
    """A new database with every migration applied (a copy of the session's template); dropped afterwards."""
    with temporary_database(pg_server_dsn, template=migrated_template) as dsn:
        yield dsn


@pytest.fixture
def empty_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A new, empty database (no migrations) for one test; dropped afterwards."""
    with temporary_database(pg_server_dsn) as dsn:
        yield dsn


@pytest.fixture
async def db(fresh_dsn: str) -> AsyncIterator[Database]:
    """A migrated database with an open pool (on ``fresh_dsn``)."""
    database = await Database.connect(fresh_dsn, max_size=4)
    try:
        yield database
    finally:
        await database.close()
