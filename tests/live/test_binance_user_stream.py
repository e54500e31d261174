"""The recovering Binance user-data stream (backend/live/adapters/binance_user_stream.py): NautilusTrader's client
gives up after one failed recovery attempt, ours retries until the stream is back; a request that outlives its
socket fails at once; the reconcile hook asks for orders before fills. Plus the guard: the NautilusTrader code the
shim relies on is still what it was written against."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json

import pytest
from nautilus_trader.adapters.binance.execution import BinanceCommonExecutionClient
from nautilus_trader.adapters.binance.websocket.user import BinanceUserDataWebSocketClient
from nautilus_trader.common.component import LiveClock
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.identifiers import AccountId, ClientId, Venue

from backend.live.adapters import binance_user_stream
from backend.live.adapters.binance_user_stream import RecoveringUserDataWebSocketClient, reconcile_in_order

# sha256 (first 16 hex digits) of the source of each NautilusTrader 1.231.0 method the shim overrides, calls or
# re-implements. A change means NautilusTrader changed how the user-data stream recovers: re-read the method and
# re-check backend/live/adapters/binance_user_stream.py (maybe the shim is no longer needed) before updating a hash.
RELIED_ON = {
    (BinanceUserDataWebSocketClient, "_handle_reconnect"): "640dd5af71c1171c",
    (BinanceUserDataWebSocketClient, "_reauth_and_resubscribe"): "c811ba9daa7434d4",
    (BinanceUserDataWebSocketClient, "_resubscribe"): "19fd02c0aa09f681",
    (BinanceUserDataWebSocketClient, "_resubscribe_locked"): "f360d0eaeb86d49c",
    (BinanceUserDataWebSocketClient, "_ws_api_reconnecting"): "548172f2e6a81e2f",
    (BinanceUserDataWebSocketClient, "_handle_stream_reconnect"): "de02ce2cff146be8",
    (BinanceUserDataWebSocketClient, "_send_request"): "9c1d6e8555c20e35",
    (BinanceUserDataWebSocketClient, "subscribe_user_data_stream"): "b628dedfabdf5081",
    (BinanceUserDataWebSocketClient, "connect"): "d637fd3136531221",
    (BinanceUserDataWebSocketClient, "disconnect"): "8500e8863b0926ba",
    (BinanceUserDataWebSocketClient, "_handle_message"): "300f1ee2d45eeee7",
    (BinanceUserDataWebSocketClient, "_handle_stream_message"): "ea06065da45699c6",
    (BinanceUserDataWebSocketClient, "session_logon"): "245da44d12b5abba",
    (BinanceCommonExecutionClient, "_reconcile_after_resubscribe"): "e633c64cc004ae5e",
    (BinanceCommonExecutionClient, "__init__"): "dfa4437a567534ab",  # builds _ws_client with on_resubscribe
    (LiveExecutionClient, "generate_mass_status"): "6624ee4446805fbb",  # the concurrent gather
}


@pytest.mark.parametrize(("owner", "name"), list(RELIED_ON), ids=[f"{o.__name__}.{n}" for o, n in RELIED_ON])
def test_nautilus_code_the_shim_relies_on_is_unchanged(owner, name):
    digest = hashlib.sha256(inspect.getsource(getattr(owner, name)).encode()).hexdigest()[:16]
    assert digest == RELIED_ON[(owner, name)], (
        f"NautilusTrader changed {owner.__name__}.{name}: re-check backend/live/adapters/binance_user_stream.py "
        "against the new code before updating RELIED_ON")


class FakeWsApi:
    """Stands in for the Rust ``WebSocketClient`` of the WebSocket API: answers like Binance, on the next loop turn;
    ``fail_logons`` logons are answered with an error, ``silent`` requests get no answer at all."""

    def __init__(self, ws: BinanceUserDataWebSocketClient, fail_logons: int = 0, silent: int = 0) -> None:
        self.ws = ws
        self.fail_logons = fail_logons
        self.silent = silent
        self.methods: list[str] = []
        self.subscriptions = 0

    async def send_text(self, data: bytes) -> None:
        request = json.loads(data)
        self.methods.append(request["method"])
        if self.silent:
            self.silent -= 1
            return
        if request["method"] == "session.logon" and self.fail_logons:
            self.fail_logons -= 1
            answer = {"id": request["id"], "status": 400, "error": {"code": -1021, "msg": "Timestamp outside window"}}
        elif request["method"] == "userDataStream.subscribe":
            self.subscriptions += 1
            answer = {"id": request["id"], "status": 200, "result": {"subscriptionId": self.subscriptions}}
        else:
            answer = {"id": request["id"], "status": 200, "result": {}}
        asyncio.get_running_loop().call_soon(self.ws._handle_message, json.dumps(answer).encode())

    def is_closed(self) -> bool:
        return False

    def is_reconnecting(self) -> bool:
        return False

    def is_disconnecting(self) -> bool:
        return False

    async def disconnect(self) -> None:
        pass


def connected_spot_stream(recovering: bool, **fake: int) -> tuple[BinanceUserDataWebSocketClient, FakeWsApi, list]:
    """A spot user-data client as after a successful start: socket open, logged on, subscribed."""
    hook_calls: list[str] = []

    async def on_resubscribe() -> None:
        hook_calls.append("reconcile")

    ws = BinanceUserDataWebSocketClient(clock=LiveClock(), base_url="ws://127.0.0.1:9", handler=lambda raw: None,
                                        api_key="key", api_secret="s" * 64, loop=asyncio.get_running_loop(),
                                        on_resubscribe=on_resubscribe)
    if recovering:
        ws = RecoveringUserDataWebSocketClient.adopt(ws)
        ws.stream_health.closed = False
    api = FakeWsApi(ws, **fake)
    ws._client = api
    ws._is_authenticated = True
    ws._subscription_id = "0"
    return ws, api, hook_calls


async def test_nautilus_gives_the_stream_up_after_one_failed_logon():
    """The defect the shim exists for (NautilusTrader 1.231.0 unmodified)."""
    ws, api, hooks = connected_spot_stream(recovering=False, fail_logons=1)
    ws._handle_reconnect()
    await ws._reconnect_task
    assert ws._is_recovery_failed and ws._client is None and ws._subscription_id is None
    assert hooks == []


async def test_our_stream_retries_until_it_is_subscribed_again():
    ws, api, hooks = connected_spot_stream(recovering=True, fail_logons=2)
    ws._handle_reconnect()
    assert ws.stream_state == "reconnecting"
    await asyncio.wait_for(ws._reconnect_task, timeout=5)
    assert (ws.stream_state, ws._subscription_id, ws._is_recovery_failed) == ("active", "1", False)
    assert api.methods == ["session.logon", "session.logon", "session.logon", "userDataStream.subscribe"]
    health = ws.stream_health
    assert (health.reconnects, health.recoveries, health.failed_attempts, health.last_error) == (1, 1, 2, None)
    assert hooks == ["reconcile"]  # reconciled once, after the stream was back


async def test_a_request_that_outlives_its_socket_fails_at_once_and_the_newer_reconnect_recovers():
    ws, api, hooks = connected_spot_stream(recovering=True, silent=1)
    ws._handle_reconnect()  # first recovery: its logon is sent on a socket that dies unanswered
    await asyncio.sleep(0.05)
    first = ws._reconnect_task
    ws._handle_reconnect()  # the socket reconnects again: the unanswered logon fails now, not after 10 s
    await asyncio.wait_for(asyncio.gather(first, ws._reconnect_task), timeout=3)
    assert ws.stream_state == "active"
    assert ws.stream_health.reconnects == 2
    assert api.methods.count("userDataStream.subscribe") >= 1


async def test_disconnect_by_the_client_stops_recovery_and_shows_the_stream_down():
    ws, api, hooks = connected_spot_stream(recovering=True, fail_logons=100)
    ws._handle_reconnect()
    await asyncio.sleep(0.1)
    await ws.disconnect()
    await asyncio.wait_for(ws._reconnect_task, timeout=binance_user_stream.RETRY_DELAYS_SECS[-1] + 1)
    assert ws.stream_state == "down"


class FakeExecClient:
    """The parts of a Binance execution client ``reconcile_in_order`` uses; records when each query runs."""

    def __init__(self) -> None:
        self.id, self.account_id, self.venue = ClientId("BINANCE"), AccountId("BINANCE-SPOT-master"), Venue("BINANCE")
        self._clock = LiveClock()
        self.calls: list[str] = []
        self.sent: list = []
        self.reconciliation_active = False

    async def _query(self, name: str) -> list:
        self.calls.append(f"{name} start")
        await asyncio.sleep(0.01)
        self.calls.append(f"{name} end")
        return []

    async def generate_order_status_reports(self, command) -> list:
        assert command.open_only is False and command.start is None  # every order, no lookback cap
        return await self._query("orders")

    async def generate_fill_reports(self, command) -> list:
        return await self._query("fills")

    async def generate_position_status_reports(self, command) -> list:
        return await self._query("positions")

    def _send_mass_status_report(self, report) -> None:
        self.sent.append(report)


async def test_reconcile_hook_asks_for_fills_only_after_orders():
    client = FakeExecClient()
    await reconcile_in_order(client)  # type: ignore[arg-type]
    assert client.calls == ["orders start", "orders end", "fills start", "fills end", "positions start",
                            "positions end"]
    (mass_status,) = client.sent
    assert (mass_status.client_id, mass_status.venue) == (client.id, client.venue)
    assert client.reconciliation_active is False


async def test_a_socket_closed_for_good_without_a_reconnect_is_reopened():
    ws, api, hooks = connected_spot_stream(recovering=True)
    opened = []

    async def connect_fresh(self) -> None:  # NautilusTrader's connect, which would open a Rust socket
        opened.append(self)
        self._client = api

    api.is_closed = lambda: not opened  # the Rust client gave up: closed, and no reconnect callback came
    assert ws.stream_state == "reconnecting"
    original = BinanceUserDataWebSocketClient.connect
    BinanceUserDataWebSocketClient.connect = connect_fresh
    try:
        ws.ensure_recovering()
        await asyncio.wait_for(ws._reconnect_task, timeout=3)
    finally:
        BinanceUserDataWebSocketClient.connect = original
    assert opened == [ws] and ws.stream_state == "active" and ws.stream_health.recoveries == 1
    assert hooks == ["reconcile"]
