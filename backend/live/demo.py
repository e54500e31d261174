"""``live demo``: embedded PostgreSQL + the offline venue simulator + a node that trades on every venue, then the tables.

The simulator runs as its own process (``python -m backend.simulator.cli``): ``backend.live`` never imports it. It
writes the URLs and demo credentials of every venue it serves to an env file once all of them listen; the demo
loads ``configs/local-sim.json`` with those variables, runs the scripted demo strategy for ``duration_secs``, stops
the node gracefully (every queued event is written) and prints orders, fills, positions and balances.

Each demo starts over: the simulator starts with fresh accounts, so the rows an earlier demo left under the demo's
trader id (orders still "open" at a simulator that is gone, fills of positions the new simulator never had) are
removed first, and the tables printed at the end agree with each other after any number of runs.

The config ships inside the package (``backend/live/configs/local-sim.json``, a link to the repository's
``configs/local-sim.json`` that a wheel stores as a file), so an installed ``live demo`` finds it from any directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from importlib.resources import as_file, files
from pathlib import Path

import msgspec
from rich.console import Console

from backend.live import report
from backend.live.config.loader import LiveConfigLoader
from backend.live.config.schema import LiveConfig
from backend.live.database import Database, delete_trader
from backend.live.node_lock import lock_key
from backend.live.trading_node import LiveTradingNode

DEMO_CONFIG = files("backend.live") / "configs" / "local-sim.json"
DEMO_VENUES = ("binance", "bybit", "okx")
SIMULATOR_START_TIMEOUT_SECS = 30.0


class DemoError(RuntimeError):
    """The demo could not start one of its parts; the message says which and why."""


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines as ``venuesim --env-file`` writes them: a value is plain or single-quoted (shell style)."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            value = value.strip()
            quoted = len(value) >= 2 and value[0] == value[-1] == "'"
            env[key.strip()] = value[1:-1] if quoted else value
    return env


def _terminate_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM when the demo process dies, even by SIGKILL, so no simulator
    is left behind holding its ports."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.asynccontextmanager
async def simulator_process(work_dir: Path, venues: tuple[str, ...] = DEMO_VENUES,
                            seed: int = 42) -> AsyncIterator[dict[str, str]]:
    """Start ``venuesim`` in a child process; yields the env variables it wrote (URLs and demo keys)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    env_file = work_dir / "sim.env"
    env_file.unlink(missing_ok=True)
    log_path = work_dir / "simulator.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.simulator.cli", "--venues", ",".join(venues), "--seed", str(seed),
             "--env-file", str(env_file)],
            stdout=log_file, stderr=subprocess.STDOUT, preexec_fn=_terminate_with_parent,
        )
        try:
            deadline = time.monotonic() + SIMULATOR_START_TIMEOUT_SECS
            while not env_file.exists():
                if process.poll() is not None:
                    raise DemoError(f"the simulator exited with code {process.returncode}; see {log_path}")
                if time.monotonic() > deadline:
                    raise DemoError(f"the simulator did not start within {SIMULATOR_START_TIMEOUT_SECS:.0f} s; "
                                    f"see {log_path}")
                await asyncio.sleep(0.1)
            yield read_env_file(env_file)
        finally:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()


async def run_demo(console: Console, duration_secs: float = 20.0, work_dir: Path = Path(".live")) -> int:
    database = await Database.connect(os.environ.get("LIVE_DATABASE_URL") or None)
    try:
        tables = await report.table_names(database)
        console.print(f"PostgreSQL ready ({len(tables)} tables: {', '.join(tables)})")
        async with simulator_process(work_dir) as sim_env:
            console.print(f"Simulator running: {', '.join(sorted(k for k in sim_env if k.endswith('_HTTP')))}")
            env = {**os.environ, **sim_env, "LIVE_DATABASE_URL": ""}
            config = demo_config(env, work_dir)
            await start_over(database, config, console)
            console.print(f"Trading for {duration_secs:.0f} s on {', '.join(config.trading_node.exec_clients)} ...")
            if not await report.run_and_report(console, LiveTradingNode(config, database), duration_secs):
                return 1
        console.print(f"Tables of trader {config.trader_id}: this demo run (the next one starts over; "
                      "`live db status` shows where the database is).")
        await report.print_tables(database, config.trader_id, console, report.TABLES)
    except DemoError as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        return 1
    finally:
        await database.close()
    return 0


async def start_over(database: Database, config: LiveConfig, console: Console) -> None:
    """Forget what earlier demos stored under the demo's trader id, and their unwritten journal: the fresh
    simulator has none of those orders, fills or positions."""
    removed = await delete_trader(database.pool, config.trader_id, lock_key(config.trader_id))
    shutil.rmtree(Path(config.oms.journal_directory) / config.trader_id, ignore_errors=True)
    if removed:
        console.print(f"Starting over: removed {removed} rows of trader {config.trader_id} from an earlier demo "
                      "(its simulator session is gone)")


def demo_config(env: dict[str, str], work_dir: Path) -> LiveConfig:
    """The shipped simulator config with ``env``; the OMS journal under ``work_dir`` (not next to the config file,
    which may sit inside an installed package)."""
    with as_file(DEMO_CONFIG) as path:
        config = LiveConfigLoader(path, env=env).load()
    oms = msgspec.structs.replace(config.oms, journal_directory=str((work_dir / "journal").resolve()))
    return msgspec.structs.replace(config, oms=oms)


def main() -> None:  # pragma: no cover - convenience for `python -m backend.live.demo`
    sys.exit(asyncio.run(run_demo(Console())))


if __name__ == "__main__":
    main()
