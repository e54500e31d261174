"""Every WebSocket of every venue dropped while orders fill, on all six account types (Binance spot + USDT-M, Bybit
spot + linear, OKX spot + swap); and private streams paused or dead reported while market data flows.

The drop: a market BUY and a resting limit BUY on each account; once they are in, the simulator closes every socket
(market data, user data / private streams, Bybit's trade socket) and, before anything reconnects, moves each market
through the resting limits, so they fill while no private stream listens; market SELLs follow while the adapters
reconnect. The periodic venue audit is off: only the audit the health monitor asks for when a private stream comes
back can find the fills of the gap. Afterwards PostgreSQL must equal the simulator (every venue trade once with its
real trade id, no trade the venue never issued, every status and position the venue's, spot holdings included) and
health must show each exec client's private stream reconnected and active.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import live_config, rows, run_live
from tests.e2e.test_venue_truth import live_node_of
from tests.e2e.venue_truth_support import (
    ACCOUNT_TYPES,
    CLIENTS,
    compare_with_simulator,
    fill_resting_orders,
    market_and_resting_actions,
    venue_truth_config,
    wait_for,
)

pytestmark = pytest.mark.timeout(300)

VENUES = ("binance", "bybit", "okx")
AFTER_DROP = [{"op": "market", "instrument_id": i, "side": "SELL", "quantity": q} for i, _, q in ACCOUNT_TYPES.values()]
ORDER_COUNT = 2 * len(ACCOUNT_TYPES) + len(AFTER_DROP)


def every_socket_dropped(tmp_path_factory, server_dsn):
    """The drop scenario (module note); yields (run, comparison with the simulator, sockets closed per venue, dsn).
    Shared with bench/faults.py."""
    with temporary_database(server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=VENUES)) as sim:
        closed: dict[str, int] = {}

        async def drop_every_socket_while_the_limits_fill(trading_node) -> None:
            resting = len(ACCOUNT_TYPES)
            await wait_for(lambda: sum(o.status_string() == "ACCEPTED" for o in trading_node.cache.orders()) == resting
                           and sum(o.is_closed for o in trading_node.cache.orders()) == resting,
                           "the market orders to fill and the limit orders to rest")
            for venue in VENUES:
                closed[venue] = sim.call(sim.server.runtimes[venue].faults.drop_sockets)
            fill_resting_orders(sim)
            live = live_node_of(trading_node)
            await wait_for(lambda: len(trading_node.cache.orders()) == ORDER_COUNT
                           and all(o.is_closed for o in trading_node.cache.orders()),
                           "every order to close in NautilusTrader's cache (the gap's fills through the audit)",
                           timeout=60)
            await wait_for(lambda: all(h.private_stream_state == "active" for h in live.health() if h.kind == "exec"),
                           "every private stream to be active again")

        config = venue_truth_config(tmp_path_factory.mktemp("cfg"), sim.env, dsn,
                                    market_and_resting_actions() + AFTER_DROP, audit_interval_secs=None)
        run = run_live(config, dsn, during=drop_every_socket_while_the_limits_fill)
        yield run, compare_with_simulator(sim, dsn), closed, dsn


@pytest.fixture(scope="module")
def dropped(tmp_path_factory, pg_server_dsn):
    yield from every_socket_dropped(tmp_path_factory, pg_server_dsn)


def test_every_websocket_of_every_venue_was_dropped(dropped):
    run, comparison, closed, dsn = dropped
    assert set(closed) == set(VENUES) and all(count >= 3 for count in closed.values()), closed


def test_the_oms_equals_the_venue_after_the_drop(dropped):
    run, comparison, closed, dsn = dropped
    assert comparison.details == []
    assert (comparison.lost, comparison.phantom, comparison.wrong_status, comparison.wrong_position) == (0, 0, 0, 0)
    assert len(rows(dsn, "SELECT trade_id FROM fills")) >= ORDER_COUNT


def test_the_gaps_fills_came_from_the_audit_the_reconnect_asked_for(dropped):
    run, comparison, closed, dsn = dropped
    found = rows(dsn, "SELECT kind, instrument_id, source, resolved FROM reconciliation_events "
                      "WHERE kind = 'missing_fill'")
    assert found and all(r["resolved"] for r in found)
    # Bybit's and OKX's adapters reconnect without asking the venue what they missed: each of their gap fills is one
    missed_by_the_stream = {i for (venue, _), (i, _, _) in ACCOUNT_TYPES.items() if venue in ("bybit", "okx")}
    assert {r["instrument_id"] for r in found} >= missed_by_the_stream
    assert {r["source"] for r in found} <= {"private stream reconnected", "private stream reconnected, settled"}


def test_health_shows_each_private_stream_reconnected_and_active(dropped):
    run, comparison, closed, dsn = dropped
    execs = {h.client: h for h in run.health if h.kind == "exec"}
    assert set(execs) == set(CLIENTS)
    for health in execs.values():
        assert (health.connected, health.private_stream_state, health.private_stream_alive) == (True, "active", True)
        assert health.private_stream_reconnects >= 1, msgspec.to_builtins(health)
        assert health.reconnects >= health.private_stream_reconnects


STALE_AFTER_SECS = 3.0
SPOT_BUY = {"op": "market", "instrument_id": "BTCUSDT.BINANCE", "side": "BUY", "quantity": "0.01000"}
BYBIT_BUY = {"op": "market", "instrument_id": "BTCUSDT-SPOT.BYBIT", "side": "BUY", "quantity": "0.010000"}


@pytest.fixture(scope="module")
def silenced(tmp_path_factory, pg_server_dsn):
    """Binance spot's user stream paused by the venue (the socket stays open, no event arrives) and Bybit's private
    socket closed for good, while the market data of both keeps flowing; then the Binance stream resumes."""
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance", "bybit"))) \
            as sim:
        seen: dict[str, dict[str, Any]] = {}
        binance_faults = sim.server.runtimes["binance"].faults

        async def silence_the_private_streams(trading_node) -> None:
            live = live_node_of(trading_node)
            orders = trading_node.cache.orders
            await wait_for(lambda: len(orders()) == 2 and all(o.is_closed for o in orders()),
                           "the Bybit order and the first spot order to fill")
            sim.call(binance_faults.pause_user_stream)
            await live.clients.of_kind("exec")["BYBIT"]._ws_private_client.close()
            await wait_for(lambda: len(orders()) == 3, "the second spot order to be sent")
            await wait_for(lambda: not health_of(live)[("exec", "BINANCE_SPOT")].private_stream_alive,
                           "health to see the paused user stream", timeout=STALE_AFTER_SECS + 10)
            seen["silenced"] = health_of(live)
            sim.call(binance_faults.resume_user_stream)
            await wait_for(lambda: all(o.is_closed for o in orders()), "the second order to fill after the resume")
            seen["resumed"] = health_of(live)

        config = live_config(tmp_path_factory.mktemp("cfg"), sim.env, dsn, ["BINANCE_SPOT", "BYBIT"],
                             [BYBIT_BUY, SPOT_BUY, SPOT_BUY])
        strategy = config.trading_node.strategies[0]
        config = msgspec.structs.replace(
            config, health=msgspec.structs.replace(config.health, stale_after_secs=STALE_AFTER_SECS),
            trading_node=msgspec.structs.replace(config.trading_node, strategies=(msgspec.structs.replace(
                strategy, config={**strategy.config, "interval_secs": 1.5}),)))
        run_live(config, dsn, during=silence_the_private_streams)
        yield seen


def health_of(live) -> dict[tuple[str, str], Any]:
    return {(h.kind, h.client): h for h in live.health()}


def test_a_paused_user_stream_is_reported_stale_while_its_market_data_is_fresh(silenced):
    spot, spot_data = silenced["silenced"][("exec", "BINANCE_SPOT")], silenced["silenced"][("data", "BINANCE_SPOT")]
    assert (spot.connected, spot.stale, spot.private_stream_alive) == (True, True, False)
    assert spot.private_stream_state == "active"  # the socket is up; the venue just sends nothing
    assert spot.awaiting_answer_secs > STALE_AFTER_SECS
    assert spot.private_stream_detail.startswith("no answer from the venue for ")
    assert (spot_data.stale, spot_data.connected) == (False, True)
    assert spot_data.last_public_age_secs < STALE_AFTER_SECS


def test_a_dead_private_stream_shows_the_client_down_while_its_market_data_is_fresh(silenced):
    bybit, bybit_data = silenced["silenced"][("exec", "BYBIT")], silenced["silenced"][("data", "BYBIT")]
    assert (bybit.connected, bybit.private_stream_state, bybit.private_stream_alive) == (False, "down", False)
    assert bybit.private_stream_detail == "the private stream is down and not being re-established"
    assert (bybit_data.connected, bybit_data.stale) == (True, False)
    assert bybit_data.last_public_age_secs < STALE_AFTER_SECS


def test_the_resumed_user_stream_is_alive_again(silenced):
    spot = silenced["resumed"][("exec", "BINANCE_SPOT")]
    assert (spot.stale, spot.private_stream_alive, spot.awaiting_answer_secs) == (False, True, None)
