"""``/ws/v5/business``: ``login``; channels ``orders-algo`` and ``algo-advance`` (acknowledged; the simulator
places no OKX algo orders, so nothing is pushed on them)."""

from __future__ import annotations

from backend.simulator.venues.okx.ws_session import Endpoint

CHANNELS = frozenset(("orders-algo", "algo-advance"))


def endpoint() -> Endpoint:
    return Endpoint(name="business", channels=CHANNELS, login_required=True)
