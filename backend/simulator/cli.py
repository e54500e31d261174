"""``venuesim``: serve the offline venue simulator until SIGINT/SIGTERM.

Prints each app's URL and the API keys to use (never secrets: those are in the config file, or for the built-in demo
config in ``backend/simulator/config.py``). With ``--env-file`` it writes ``KEY=VALUE`` lines (the ``SIM_*`` URLs and the
demo API keys and secrets ``configs/local-sim.json`` refers to) once every app listens, atomically, so a parent process
can wait for the file. The file is both a dotenv file and shell syntax: ``set -a; . FILE; set +a`` exports it.
Exit status 2 on a bad config.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

import msgspec

from backend.simulator.config import KNOWN_VENUES, SimConfig, SimConfigError, load_sim_config
from backend.simulator.runtime import venue_module
from backend.simulator.server import SimulatorServer

EXIT_BAD_CONFIG = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="venuesim", description="Offline Binance / Bybit / OKX venue simulator.")
    parser.add_argument("--venues", default=None,
                        help="comma-separated venues to serve (default: every venue of the config, else "
                             f"{','.join(KNOWN_VENUES)})")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, else 42)")
    parser.add_argument("--config", type=Path, default=None, help="simulator config JSON (default: built-in demo)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-base", type=int, default=None,
                        help="first port; apps take consecutive ports (default: free ports)")
    parser.add_argument("--env-file", type=Path, default=None,
                        help="when every venue listens, write the SIM_* variables (URLs, demo API keys and secrets) "
                             "here; a shell can source it: set -a; . FILE; set +a")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> SimConfig:
    venues = None
    if args.venues is not None:
        venues = tuple(v.strip() for v in args.venues.split(",") if v.strip())
        if not venues:
            raise SimConfigError("--venues: give at least one venue")
    if args.config is None:
        return SimConfig.default(venues=venues or KNOWN_VENUES, seed=42 if args.seed is None else args.seed)
    config = load_sim_config(args.config)
    if venues is not None:
        config = config.restricted_to(venues)
    if args.seed is not None:
        config = msgspec.structs.replace(config, seed=args.seed)
    return config


def _env_value(value: str) -> str:
    """Plain when safe; else single-quoted, which a shell and dotenv readers both take literally ($, \\ and " too)."""
    if value and all(c.isalnum() or c in "-_.:/@#+=" for c in value):
        return value
    if "'" in value or "\n" in value:
        raise ValueError("an env file value cannot hold a single quote or a newline")
    return f"'{value}'"


def write_env_file(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key}={_env_value(value)}\n" for key, value in sorted(env.items()))
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def describe(server: SimulatorServer) -> str:
    lines = []
    for venue, urls in server.urls.items():
        for label, url in urls.items():
            lines.append(f"{venue:8} {label:13} {url}")
        runtime = server.runtimes[venue]
        for credential in runtime.credentials.values():
            lines.append(f"{venue:8} api key ({credential.key_type}) for account {credential.account_id}: "
                         f"{credential.api_key}")
    return "\n".join(lines)


async def serve(config: SimConfig, args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = SimulatorServer(config, host=args.host, port_base=args.port_base)
    await server.start()
    try:
        print(describe(server), flush=True)
        if args.env_file is not None:
            write_env_file(args.env_file, server.env)
            print(f"environment written to {args.env_file}", flush=True)
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = build_config(args)
        for venue in config.venues:
            try:
                venue_module(venue)
            except RuntimeError as exc:
                raise SimConfigError(f"venues.{venue}: {exc}") from None
    except SimConfigError as exc:
        print(f"venuesim: bad config: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        asyncio.run(serve(config, args))
    except OSError as exc:
        print(f"venuesim: cannot listen: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"venuesim: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
