"""The shared WebSocket plumbing (``core.ws``): ordered sends, registration for drops, held user events, and a peer
that vanishes mid-send."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from backend.simulator.core import ws
from backend.simulator.core.faults import FaultState
from backend.simulator.core.ws import WsSession


class EchoVenue:
    """A venue of one socket type: ``burst N`` answers N numbered messages, ``push`` sends a user event."""

    def __init__(self) -> None:
        self.faults = FaultState()
        self.sessions: list[WsSession] = []
        self.closed: list[WsSession] = []

    def on_text(self, session: WsSession, text: str) -> None:
        command, _, arg = text.partition(" ")
        if command == "burst":
            for n in range(int(arg)):
                session.send_json({"n": n})
        elif command == "push":
            ws.push_user_event(self.faults, lambda: session.send_text(f"event {arg}"))

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await ws.serve(request, self.faults, self.on_text, conn_id="c1", on_open=self.sessions.append,
                              on_close=self.closed.append)


@pytest.fixture
async def venue_url():
    venue = EchoVenue()
    app = web.Application()
    app.router.add_get("/ws", venue.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield venue, f"http://127.0.0.1:{runner.addresses[0][1]}/ws"
    await runner.cleanup()


async def test_messages_arrive_in_the_order_they_were_queued(venue_url) -> None:
    venue, url = venue_url
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        await socket.send_str("burst 500")
        received = [(await socket.receive_json(timeout=5))["n"] for _ in range(500)]
    assert received == list(range(500))
    assert venue.sessions[0].conn_id == "c1"


async def test_socket_is_registered_while_open_and_a_drop_closes_it(venue_url) -> None:
    venue, url = venue_url
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        await socket.send_str("burst 1")
        await socket.receive_json(timeout=5)
        assert venue.faults.open_sockets == 1
        assert await venue.faults.drop_sockets() == 1
        message = await socket.receive(timeout=5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert socket.close_code == 1001
    for _ in range(50):
        if venue.closed:
            break
        await asyncio.sleep(0.05)
    assert venue.closed == venue.sessions
    assert venue.faults.open_sockets == 0


async def test_user_events_are_held_while_paused_and_delivered_in_order(venue_url) -> None:
    venue, url = venue_url
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        venue.faults.pause_user_stream()
        for n in range(3):
            await socket.send_str(f"push {n}")
        with pytest.raises(asyncio.TimeoutError):
            await socket.receive(timeout=0.3)
        assert await venue.faults.resume_user_stream() == 3
        assert [await socket.receive_str(timeout=5) for _ in range(3)] == ["event 0", "event 1", "event 2"]


async def test_a_peer_that_vanishes_mid_burst_stops_the_writer_quietly(venue_url) -> None:
    """The client resets the connection while its answers are being written: the writer ends without an error,
    later sends are dropped, and the venue keeps serving other clients."""
    venue, url = venue_url
    loop = asyncio.get_running_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    async with aiohttp.ClientSession() as http:
        socket = await http.ws_connect(url)
        await socket.send_str("burst 20000")
        await socket.receive(timeout=5)
        socket._response.connection.transport.abort()  # a reset, not a close handshake
        for _ in range(100):
            if venue.closed:
                break
            await asyncio.sleep(0.05)
        session = venue.sessions[0]
        assert venue.closed == [session] and session.closed
        session.send_json({"late": True})  # dropped, no error
        async with http.ws_connect(url) as second:
            await second.send_str("burst 2")
            assert [(await second.receive_json(timeout=5))["n"] for _ in range(2)] == [0, 1]
    assert errors == []
