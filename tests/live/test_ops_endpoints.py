"""The node endpoints over a fake node: readiness names each failing part, /metrics parses, the bind is loopback."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.live.ops.http import OpsServer, create_app, is_loopback
from backend.live.ops.metrics import NodeMetrics, reason_class
from backend.live.ops.status import ClientStatus, DatabaseStatus


class FakeNode:
    trader_id = "OPS-001"

    def __init__(self) -> None:
        self.state = "RUNNING"
        self.client_list = [
            ClientStatus("BINANCE_SPOT", "data", "BINANCE", True, False, 0, 0.2, last_public_age_secs=0.2),
            ClientStatus("BINANCE_SPOT", "exec", "BINANCE", True, False, 1, 1.5, last_private_age_secs=1.5,
                         private_stream_alive=True, awaiting_answer_secs=0.4),
        ]
        self.db = DatabaseStatus(writable=True)

    def trader_state(self) -> str:
        return self.state

    def clients(self) -> list[ClientStatus]:
        return self.client_list

    async def database(self) -> DatabaseStatus:
        return self.db

    def queue_depth(self) -> int:
        return 3

    def journal_depth(self) -> int:
        return 0

    def fills_written(self) -> int:
        return 7

    def dead_letters(self) -> int:
        return 1

    def open_orders_by_venue(self) -> dict[str, int]:
        return {"BINANCE": 2}

    def reconciliation_differences(self) -> dict[str, int]:
        return {"BINANCE": 4}


@pytest.fixture
async def served():
    node = FakeNode()
    metrics = NodeMetrics(node, version="9.9.9")
    server = OpsServer(create_app(node, metrics, "9.9.9"), "127.0.0.1", 0)
    url = await server.start()
    async with aiohttp.ClientSession() as session:
        yield node, metrics, server, url, session
    await server.stop()


async def _get(session, url):
    async with session.get(url) as response:
        return response.status, await response.text(), response.headers.get("Content-Type", "")


async def test_ready_is_200_when_all_is_well_and_503_naming_each_failing_part(served):
    node, _, server, url, session = served
    assert server.port != 0 and url == f"http://127.0.0.1:{server.port}"
    status, _, _ = await _get(session, url + "/health/ready")
    assert status == 200
    node.state = "STOPPING"
    node.client_list = [node.client_list[0], ClientStatus(
        "BINANCE_SPOT", "exec", "BINANCE", True, False, 1, 40.0, private_stream_alive=False,
        private_stream_detail="no private message for 40 s")]
    node.db = DatabaseStatus(writable=False, error="ConnectionRefusedError: [Errno 111] Connect call failed")
    async with session.get(url + "/health/ready") as response:
        assert response.status == 503
        body = await response.json()
    assert body["ready"] is False
    assert body["failing"] == {
        "trader": "trader is STOPPING, not RUNNING",
        "exec_client:BINANCE_SPOT": "BINANCE private stream not alive: no private message for 40 s",
        "database": "PostgreSQL not writable: ConnectionRefusedError: [Errno 111] Connect call failed",
    }


async def test_a_journal_absorbing_the_rows_keeps_the_node_ready_while_postgresql_is_down(served):
    node, _, _, url, session = served
    node.db = DatabaseStatus(writable=False, error="down", journal_enabled=True, journal_absorbing=True, journal_depth=9)
    status, _, _ = await _get(session, url + "/health/ready")
    assert status == 200


async def test_health_shows_every_client_in_full(served):
    node, _, _, url, session = served
    node.client_list[1] = ClientStatus("BINANCE_SPOT", "exec", "BINANCE", False, False, 2, None)
    async with session.get(url + "/health") as response:
        assert response.status == 503
        body = await response.json()
    assert body["failing"] == {"exec_client:BINANCE_SPOT": "BINANCE exec client disconnected"}
    assert [c["kind"] for c in body["clients"]] == ["data", "exec"]
    assert body["clients"][0]["last_public_age_secs"] == 0.2
    assert body["clients"][1]["reconnects"] == 2
    assert body["database"]["writable"] is True and body["version"] == "9.9.9"
    status, text, _ = await _get(session, url + "/health/live")
    assert status == 200 and "OPS-001" in text


async def test_metrics_parse_with_prometheus_client_and_carry_the_node_figures(served):
    node, metrics, _, url, session = served
    event = SimpleNamespace(instrument_id=SimpleNamespace(venue=SimpleNamespace(value="BINANCE")),
                            client_order_id=SimpleNamespace(value="O-1"), ts_init=1_000_000_000)
    metrics.on_order_event(type("OrderSubmitted", (), dict(vars(event)))())
    metrics.on_order_event(type("OrderAccepted", (), {**vars(event), "ts_init": 1_250_000_000})())
    metrics.on_order_event(type("OrderRejected", (), {**vars(event), "reason": "Account has insufficient balance"})())
    metrics.on_batch_committed(0.004, [])
    status, text, content_type = await _get(session, url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("live_fills_total", ())] == 7
    assert samples[("live_dead_letters_total", ())] == 1
    assert samples[("live_reconciliation_differences_total", (("venue", "BINANCE"),))] == 4
    assert samples[("live_writer_queue_depth", ())] == 3
    assert samples[("live_open_orders", (("venue", "BINANCE"),))] == 2
    assert samples[("live_order_events_total", (("type", "OrderSubmitted"), ("venue", "BINANCE")))] == 1
    assert samples[("live_order_rejects_total", (("reason_class", "insufficient_funds"), ("venue", "BINANCE")))] == 1
    assert samples[("live_venue_order_round_trip_seconds_sum", (("venue", "BINANCE"),))] == pytest.approx(0.25)
    assert samples[("live_oms_batch_write_seconds_count", ())] == 1
    exec_key = (("client", "BINANCE_SPOT"), ("kind", "exec"), ("venue", "BINANCE"))
    assert samples[("live_client_connected", exec_key)] == 1
    assert samples[("live_client_private_stream_alive", exec_key)] == 1
    assert samples[("live_client_awaiting_answer_seconds", exec_key)] == 0.4
    assert ("live_client_private_stream_alive", (("client", "BINANCE_SPOT"), ("kind", "data"), ("venue", "BINANCE"))) \
        not in samples  # data clients have no private stream
    assert samples[("live_client_last_message_age_seconds", (*exec_key[:2], ("stream", "private"), exec_key[2]))] == 1.5
    assert samples[("live_node_info", (("trader_id", "OPS-001"), ("version", "9.9.9")))] == 1


def test_reject_reasons_fall_into_bounded_classes():
    assert reason_class("Too many requests; current limit is 1200 request weight per minute") == "rate_limit"
    assert reason_class("Signature for this request is not valid.") == "auth"
    assert reason_class("Order would immediately match and take.") == "post_only"
    assert reason_class("Filter failure: LOT_SIZE") == "invalid_order"
    assert reason_class("something new") == "other"
    assert reason_class("anything", denied=True) == "denied"


async def test_the_bind_is_loopback_and_a_port_in_use_is_a_clear_error(served, caplog):
    _, metrics, server, _, _ = served
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    taken = OpsServer(create_app(FakeNode(), metrics, "1"), "127.0.0.1", server.port)
    with pytest.raises(OSError, match=f"node endpoints cannot listen on 127.0.0.1:{server.port}"):
        await taken.start()
    caplog.set_level(logging.WARNING)
    anywhere = OpsServer(create_app(FakeNode(), metrics, "1"), "0.0.0.0", 0)
    await anywhere.start()
    try:
        assert "not loopback" in caplog.text
    finally:
        await anywhere.stop()
