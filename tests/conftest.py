"""Shared fixtures: a real PostgreSQL server and a fresh database per test that needs one.

The server is the one `LIVE_TEST_DATABASE_URL` names, else an embedded PostgreSQL (pgserver) started under a
temporary directory for this test session. Each `fresh_dsn` is a new, empty database on that server.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from backend.live.database import Database, start_embedded_server


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def pg_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """DSN of a PostgreSQL server whose default database may be used to create test databases."""
    from_env = os.environ.get("LIVE_TEST_DATABASE_URL", "").strip()
    if from_env:
        return from_env
    return start_embedded_server(tmp_path_factory.mktemp("pgdata"))


@contextlib.contextmanager
def temporary_database(server_dsn: str) -> Iterator[str]:
    """Create a new, empty database on the server; yield its DSN; drop it afterwards (sync: usable in any scope)."""
    import asyncio

    name = f"live_test_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(server_dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(server_dsn, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    with temporary_database(pg_server_dsn) as dsn:
        yield dsn


@pytest.fixture
async def db(fresh_dsn: str) -> AsyncIterator[Database]:
    """A migrated database with an open pool."""
    database = await Database.connect(fresh_dsn, max_size=4)
    try:
        yield database
    finally:
        await database.close()
