"""``live serve`` in a real browser (Debian's chromium driven by Playwright): over a database filled by node runs the
dashboard shows the orders, fills and positions PostgreSQL holds, and a fill made after the page loaded appears
without a reload. The screenshot goes to the test's tmp dir; with LIVE_UPDATE_SCREENSHOT=1 to
docs/live/img/dashboard.png (shown in the README), so `make test` leaves the tree clean.

The browser runs in a thread of its own (Playwright's sync API); the nodes run on the main thread, as
NautilusTrader needs."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.conftest import temporary_database
from tests.e2e.live_support import live_config, rows, run_live

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
README_SCREENSHOT = PROJECT_ROOT / "docs" / "live" / "img" / "dashboard.png"
SPOT_BTC, PERP_BTC, SPOT_ETH = "BTCUSDT.BINANCE", "BTCUSDT-PERP.BINANCE_FUTURES", "ETHUSDT.BINANCE"
FIRST_RUN = [
    {"op": "market", "instrument_id": SPOT_BTC, "side": "BUY", "quantity": "0.01000"},
    {"op": "market", "instrument_id": PERP_BTC, "side": "BUY", "quantity": "0.020"},
    {"op": "market", "instrument_id": PERP_BTC, "side": "SELL", "quantity": "0.005"},
    {"op": "limit", "instrument_id": SPOT_BTC, "side": "BUY", "quantity": "0.00200", "offset_bps": -800},
]
SECOND_RUN = [{"op": "market", "instrument_id": SPOT_ETH, "side": "BUY", "quantity": "0.1000"}]
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.e2e, pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it as root)"),
]


def fill_keys(dsn: str) -> set[str]:
    return {f"{r['trader_id']}|{r['venue']}|{r['instrument_id']}|{r['trade_id']}"
            for r in rows(dsn, "SELECT trader_id, venue, instrument_id, trade_id FROM fills")}


def browse(url: str, commands: queue.Queue, results: queue.Queue, screenshot: Path) -> None:
    """The browser's side: load the page, report what it shows, then wait for a fill the main thread names."""
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1680, "height": 1150})
            page.goto(url + "/?refresh_ms=500")
            page.evaluate("window.__loadedOnce = true")
            expected_fills = commands.get(timeout=60)
            page.wait_for_function("n => document.querySelectorAll('#fills tbody tr').length === n", arg=expected_fills,
                                   timeout=TIMEOUT_MS)
            shown = {table: page.eval_on_selector_all(f"#{table} tbody tr:not(.sub)", "rows => rows.map(r => "
                                                      "[r.dataset.key, Object.fromEntries([...r.cells].map(c => "
                                                      "[c.dataset.col, c.textContent]))])")
                     for table in ("fills", "orders", "positions", "nodes", "balances")}
            shown["breakdown"] = page.eval_on_selector_all("#positions tr.sub", "rows => rows.map(r => r.dataset.key)")
            results.put(("loaded", shown))
            for new_fill in commands.get(timeout=180):
                page.wait_for_selector(f'#fills tr[data-key="{new_fill}"]', timeout=TIMEOUT_MS)
            not_reloaded = page.evaluate("window.__loadedOnce === true")
            page.screenshot(path=str(screenshot), full_page=True)
            results.put(("updated", not_reloaded))
            page.select_option("#f-trader", "WEB-001")
            page.wait_for_function("() => [...document.querySelectorAll('#fills tbody tr')].every("
                                   "r => r.dataset.key.startsWith('WEB-001|'))", timeout=TIMEOUT_MS)
            results.put(("filtered", {table: page.eval_on_selector_all(f"#{table} tbody tr:not(.sub)",
                                                                      "rows => rows.map(r => r.dataset.key)")
                                      for table in ("fills", "positions", "nodes")}))
            browser.close()
    except Exception as exc:  # reported to the test on the main thread
        results.put(("error", exc))


def _next(results: queue.Queue, expected: str, timeout: float = 120) -> Any:
    kind, value = results.get(timeout=timeout)
    if kind == "error":
        raise value
    assert kind == expected
    return value


def test_the_dashboard_shows_what_postgresql_holds_and_updates_without_a_reload(tmp_path, pg_server_dsn):
    screenshot = README_SCREENSHOT if os.environ.get("LIVE_UPDATE_SCREENSHOT") == "1" else tmp_path / "dashboard.png"
    with temporary_database(pg_server_dsn) as dsn, SimulatorThread(SimConfig.default(venues=("binance",))) as sim:
        clients = ["BINANCE_SPOT", "BINANCE_FUTURES"]
        (tmp_path / "one").mkdir()
        (tmp_path / "two").mkdir()
        first = live_config(tmp_path / "one", sim.env, dsn, clients, FIRST_RUN, trader_id="WEB-001")
        run_live(first, dsn, settled=lambda node: sum(o.is_closed for o in node.cache.orders()) == 3
                 and sum(o.is_open for o in node.cache.orders()) == 1)
        serve = subprocess.Popen([sys.executable, "-m", "backend.live.cli", "serve", "--port", "0"],
                                 env={**os.environ, "LIVE_DATABASE_URL": dsn}, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, cwd=PROJECT_ROOT)
        try:
            banner = serve.stdout.readline()
            assert "live serve: dashboard http://127.0.0.1:" in banner, banner
            url = banner.split("dashboard ", 1)[1].split()[0].rstrip("/")
            commands: queue.Queue = queue.Queue()
            results: queue.Queue = queue.Queue()
            browser = threading.Thread(target=browse, args=(url, commands, results, screenshot), daemon=True)
            browser.start()
            before = fill_keys(dsn)
            commands.put(len(before))
            shown = _next(results, "loaded")

            assert {key for key, _ in shown["fills"]} == before
            open_orders = rows(dsn, "SELECT trader_id, client_order_id, quantity, price FROM unified_orders "
                                    "WHERE lifecycle_rank < 100")
            assert len(open_orders) == 1
            assert {key: cells["quantity"] for key, cells in shown["orders"]} == {
                f"{o['trader_id']}|{o['client_order_id']}": format(o["quantity"], "f") for o in open_orders}
            positions = rows(dsn, "SELECT trader_id, canonical_id, net_quantity FROM unified_positions")
            assert {key: cells["net_quantity"] for key, cells in shown["positions"]} == {
                f"{p['trader_id']}|{p['canonical_id']}": format(p["net_quantity"], "f") for p in positions}
            breakdown = rows(dsn, "SELECT p.trader_id, p.canonical_id, e.key AS account_id FROM unified_positions p, "
                                  "jsonb_each(p.venue_positions) e")
            assert sorted(shown["breakdown"]) == sorted(f"{b['trader_id']}|{b['canonical_id']}|{b['account_id']}"
                                                        for b in breakdown)
            assert len(breakdown) == 2  # spot and futures accounts of BTC, each on its own unified position
            assert [cells["health"] for _, cells in shown["nodes"]] == ["stopped"]
            assert shown["balances"], "no balance shown"

            # Another node writes the same database after the page loaded: its fill appears by itself.
            second = live_config(tmp_path / "two", sim.env, dsn, clients, SECOND_RUN, trader_id="WEB-002")
            # (the same simulator account: reconciliation also brings the first run's resting limit order along)
            run_live(second, dsn, settled=lambda node: any(o.instrument_id.value == SPOT_ETH and o.is_closed
                                                           for o in node.cache.orders()))
            new = fill_keys(dsn) - before
            made = [key for key in new if key.startswith("WEB-002|BINANCE|ETHUSDT.BINANCE|")]
            assert len(made) == 1, new  # plus the first run's fills, which the venue reports to this node too
            commands.put(sorted(new))
            assert _next(results, "updated") is True, "the page was reloaded"
            filtered = _next(results, "filtered")
            assert set(filtered["fills"]) == {key for key in fill_keys(dsn) if key.startswith("WEB-001|")}
            assert filtered["nodes"] == ["WEB-001"]
            assert filtered["positions"] and all(key.startswith("WEB-001|") for key in filtered["positions"])
            browser.join(30)
        finally:
            serve.terminate()
            serve.wait(10)
    assert screenshot.stat().st_size > 10_000
