"""The deploy files agree with the code: every metric an alert or a dashboard panel uses is one a node exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from backend.live.ops.metrics import NodeMetrics
from tests.live.test_ops_endpoints import FakeNode

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\blive_[a-z_]+")


def _exposed() -> set[str]:
    metrics = NodeMetrics(FakeNode(), "1")
    for family in (metrics.order_events, metrics.rejects, metrics.order_round_trip):
        family.labels(*(["X"] * len(family._labelnames)))  # a sample so the family renders
    names = set()
    for family in text_string_to_metric_families(metrics.render().decode()):
        names |= {s.name for s in family.samples}
    return names


def test_every_metric_in_the_alerts_and_the_dashboard_exists():
    exposed = _exposed()
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    dashboard = json.loads((DEPLOY / "grafana" / "live-dashboard.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set(METRIC.findall(alerts)) | {m for e in expressions for m in METRIC.findall(e)}
    assert used and not used - exposed, f"not exposed by a node: {sorted(used - exposed)}"
    for name in ("live_fills_total", "live_dead_letters_total", "live_reconciliation_differences_total",
                 "live_journal_depth", "live_client_stale", "live_client_private_stream_alive"):
        assert name in used, f"{name} is neither alerted on nor charted"


def test_the_alert_rules_cover_the_failure_modes():
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    names = re.findall(r"- alert: (\w+)", alerts)
    assert {"LiveClientStale", "LivePrivateStreamDead", "LiveJournalGrowing", "LiveReconciliationDifferences",
            "LiveDeadLetters"} <= set(names)
    assert len(names) == len(set(names))
