"""Migrations and schema constraints on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import psutil
import pytest

from backend.live.database import (
    Database,
    DatabaseError,
    EmbeddedStatus,
    default_data_dir,
    embedded_status,
    load_migrations,
    migrate,
    redact_dsn,
    start_embedded_server,
    stop_embedded_server,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


async def test_migrations_apply_once_and_rerun_as_noop(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        first = await migrate(conn)
        second = await migrate(conn)
        recorded = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    finally:
        await conn.close()
    expected = [m.version for m in load_migrations()]
    assert first == expected
    assert second == []
    assert [r["version"] for r in recorded] == expected
    assert {"accounts", "instruments", "unified_orders", "order_events", "fills", "unified_positions",
            "position_history", "account_balances", "account_margins", "account_state_history"} <= tables


async def test_two_concurrent_migrators_apply_each_file_once(empty_dsn: str) -> None:
    conns = [await asyncpg.connect(empty_dsn) for _ in range(2)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        count = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
    finally:
        for c in conns:
            await c.close()
    applied = sorted(v for result in results for v in result)
    assert applied == [m.version for m in load_migrations()]
    assert count == len(load_migrations())


async def test_changed_applied_migration_is_refused(empty_dsn: str, tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE t1 (id int);")
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn, load_migrations(tmp_path))
        (tmp_path / "0001_first.sql").write_text("CREATE TABLE t1 (id bigint);")
        with pytest.raises(DatabaseError, match=r"0001_first\.sql changed after it was applied"):
            await migrate(conn, load_migrations(tmp_path))
    finally:
        await conn.close()


async def test_failed_migration_rolls_back_and_names_the_file(empty_dsn: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE half (id int); SELECT * FROM no_such_table;")
    conn = await asyncpg.connect(empty_dsn)
    try:
        with pytest.raises(DatabaseError, match=r"0002_broken\.sql failed"):
            await migrate(conn, load_migrations(tmp_path))
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 1
    finally:
        await conn.close()


def test_misnamed_migration_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "1_bad name.sql").write_text("SELECT 1;")
    with pytest.raises(DatabaseError, match="is not named NNNN_lowercase_name.sql"):
        load_migrations(tmp_path)


async def _insert_event(conn: asyncpg.Connection, event_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO order_events (trader_id, event_id, client_order_id, event_type, ts_event, ts_event_ns,"
        " ts_init_ns, payload) VALUES ('T-1', $1, 'O-1', 'OrderSubmitted', '2026-01-02 03:04:05+00', 1, 1, '{}')",
        event_id,
    )


async def test_replayed_event_id_is_rejected(db: Database) -> None:
    event_id = uuid.uuid4()
    async with db.pool.acquire() as conn:
        await _insert_event(conn, event_id)
        with pytest.raises(asyncpg.UniqueViolationError):
            await _insert_event(conn, event_id)


async def test_duplicate_trade_id_is_not_stored_twice(db: Database) -> None:
    insert = (
        "INSERT INTO fills (trader_id, venue, account_id, instrument_id, trade_id, client_order_id, canonical_id,"
        " side, quantity, base_quantity, price, commission, commission_currency, liquidity_side, event_id, ts_event,"
        " ts_event_ns) VALUES ('T-1', 'BINANCE', 'BINANCE-1', 'BTCUSDT.BINANCE', '77', 'O-1', 'BTC/USDT', 'BUY',"
        " 1, 1, 60000, 0, 'USDT', 'TAKER', $1, now(), 1)"
    )
    async with db.pool.acquire() as conn:  # a trade is stored once (fill_keys, migration 0007): the second is skipped
        assert await conn.execute(insert, uuid.uuid4()) == "INSERT 0 1"
        assert await conn.execute(insert, uuid.uuid4()) == "INSERT 0 0"
        assert await conn.fetchval("SELECT count(*) FROM fills WHERE trade_id = '77'") == 1


async def test_bad_venue_type_is_rejected(db: Database) -> None:
    async with db.pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="venue_type"):
            await conn.execute(
                "INSERT INTO accounts (trader_id, account_id, venue, account_type, venue_type)"
                " VALUES ('T-1', 'A-1', 'BINANCE', 'SPOT', 'CASINO')"
            )


async def test_numeric_round_trips_exact_decimals(db: Database) -> None:
    values = [Decimal("0.00000001"), Decimal("60123.45678901234567890"), Decimal("-12345678901234.000000001")]
    async with db.pool.acquire() as conn:
        for value in values:
            assert await conn.fetchval("SELECT $1::numeric", value) == value
        await conn.execute(
            "INSERT INTO account_balances VALUES ('T-1', 'A-1', 'BTC', $1, $1, 0, now(), 1)", values[1]
        )
        stored = await conn.fetchval("SELECT total FROM account_balances WHERE account_id = 'A-1'")
    assert stored == values[1]
    assert isinstance(stored, Decimal)


def test_redact_dsn_hides_the_password() -> None:
    assert redact_dsn("postgresql://bob:s3cr3t-pw@db:5432/live") == "postgresql://bob:***@db:5432/live"
    assert "s3cr3t" not in redact_dsn("postgresql://bob:s3cr3t@db/live")


async def test_unreachable_server_error_names_dsn_without_password() -> None:
    with pytest.raises(DatabaseError) as err:
        await Database.connect("postgresql://bob:hunter2@127.0.0.1:1/live", timeout=2)
    assert "127.0.0.1:1" in str(err.value)
    assert "hunter2" not in str(err.value)


# -- the embedded server -----------------------------------------------------------------------------------------------


@pytest.fixture
def embedded_dir() -> Iterator[Path]:
    """A data directory outside pytest's 0700 temporary tree (as root, PostgreSQL runs as the ``pgserver`` user);
    whatever server a test leaves there is stopped."""
    base = Path(tempfile.mkdtemp(prefix="live-test-embedded-"))
    try:
        yield base / "pgdata"
    finally:
        stop_embedded_server(base / "pgdata")
        shutil.rmtree(base, ignore_errors=True)


def _postgres_processes_of(marker: Path | str) -> list[int]:
    """The processes whose command line holds ``marker`` (a data directory, ``-p PORT``)."""
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] and str(marker) in " ".join(p.info["cmdline"]) + " "]


async def test_embedded_server_starts_reports_its_status_and_stops(embedded_dir: Path) -> None:
    assert embedded_status(embedded_dir) == EmbeddedStatus(embedded_dir, initialized=False, pid=None, dsn=None)
    dsn = start_embedded_server(embedded_dir)
    status = embedded_status(embedded_dir)
    assert status.running and status.initialized and status.dsn == dsn
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)")
    finally:
        await conn.close()

    assert stop_embedded_server(embedded_dir) is True
    assert not embedded_status(embedded_dir).running
    assert _postgres_processes_of(embedded_dir) == []
    assert stop_embedded_server(embedded_dir) is False  # already stopped: nothing to do

    conn = await asyncpg.connect(start_embedded_server(embedded_dir))  # the data survived the stop
    try:
        assert await conn.fetchval("SELECT id FROM kept") == 7
    finally:
        await conn.close()
    stop_embedded_server(embedded_dir, delete_data=True)
    assert not embedded_dir.exists()


def test_default_data_dir_does_not_depend_on_the_working_directory(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("LIVE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.chdir(tmp_path)
    first = default_data_dir()
    monkeypatch.chdir("/")
    assert default_data_dir() == first == tmp_path / "xdg" / "live-trading" / "pgdata"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_data_dir() == Path("/var/lib/live-trading/pgdata")
    monkeypatch.setenv("LIVE_DATA_DIR", "relative/pg")
    assert default_data_dir() == Path("/relative/pg")  # resolved once, against the directory it was set in


async def test_test_session_without_a_server_stops_its_embedded_server(tmp_path: Path) -> None:
    """What ``make test`` does on a machine without PostgreSQL: the session's embedded server is gone afterwards."""
    record = tmp_path / "dsn.txt"
    (tmp_path / "test_inner.py").write_text(
        "def test_uses_a_database(fresh_dsn):\n"
        f"    open({str(record)!r}, 'w').write(fresh_dsn)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LIVE_TEST_DATABASE_URL", "LIVE_DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", "-n", "2",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_inner.py")],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    port = urlsplit(record.read_text()).port
    assert port is not None and port != 5432  # its own server, not the machine's
    assert _postgres_processes_of(f"-p {port} ") == []
    with pytest.raises(OSError):
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", timeout=5)


def _live(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.live.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


async def test_live_commands_from_any_directory_use_the_same_embedded_database(embedded_dir: Path,
                                                                               tmp_path: Path) -> None:
    """No DSN anywhere: ``live db migrate`` in one directory, ``live orders`` in another see one database (the
    trader stored between them), ``live db status`` finds the running server, ``live db stop`` stops it."""
    env = {k: v for k, v in os.environ.items() if k not in ("LIVE_DATABASE_URL",)}
    env["LIVE_DATA_DIR"] = str(embedded_dir)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    migrated = _live("db", "migrate", cwd=first, env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    conn = await asyncpg.connect(embedded_status(embedded_dir).dsn)
    try:
        await conn.execute("INSERT INTO accounts (trader_id, account_id, venue, account_type, venue_type)"
                           " VALUES ('ELSEWHERE-001', 'BINANCE-1', 'BINANCE', 'SPOT', 'CEFI')")
    finally:
        await conn.close()
    listed = _live("orders", cwd=second, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr  # not "the database has no trader yet"
    assert "Orders (0)" in listed.stdout
    status = _live("db", "status", cwd=tmp_path, env=env)
    assert f"running (pid {embedded_status(embedded_dir).pid})" in status.stdout
    assert str(embedded_dir) in status.stdout.replace("\n", "")
    stopped = _live("db", "stop", cwd=first, env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not embedded_status(embedded_dir).running
    assert list(embedded_dir.parent.iterdir()) == [embedded_dir]  # nothing created in the working directories
    assert list(first.iterdir()) == list(second.iterdir()) == []


def test_config_relative_data_dir_from_another_directory(embedded_dir: Path, tmp_path: Path) -> None:
    """``database.data_dir`` is relative to the config file: ``--config`` given from two directories is one
    database."""
    config = embedded_dir.parent / "live.json"
    config.write_text(json.dumps({"trader_id": "REL-001", "database": {"data_dir": "pgdata"}}))
    env = {k: v for k, v in os.environ.items() if k not in ("LIVE_DATABASE_URL", "LIVE_DATA_DIR")}
    assert _live("db", "migrate", "--config", str(config), cwd=tmp_path, env=env).returncode == 0
    status = _live("db", "status", "--config", os.path.relpath(config, "/"), cwd=Path("/"), env=env)
    assert f"Data directory: {embedded_dir}" in status.stdout and "running" in status.stdout, status.stdout
    assert not (tmp_path / "pgdata").exists()
