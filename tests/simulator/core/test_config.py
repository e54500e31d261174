"""SimConfig: demo content, JSON round trip, errors naming the field, the demo Ed25519 key."""

from __future__ import annotations

import base64
import json
from decimal import Decimal as D

import pytest
from nacl.signing import VerifyKey

from backend.simulator.config import SimConfig, SimConfigError, dump_sim_config, ed25519_public_key_bytes, load_sim_config
from backend.simulator.runtime import build_runtime
from backend.simulator.venues.binance.defaults import DEMO_BINANCE_ED25519_KEY, DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM


def test_default_content() -> None:
    config = SimConfig.default()
    assert config.seed == 42
    assert {v: list(c.markets) for v, c in config.venues.items()} == {
        "binance": ["spot", "usdt_futures"], "bybit": ["spot", "linear"], "okx": ["spot", "swap"]}
    swap = {i.symbol: i for i in config.venues["okx"].markets["swap"].instruments}
    assert (swap["BTC-USDT-SWAP"].contract_size, swap["ETH-USDT-SWAP"].contract_size) == (D("0.01"), D("0.1"))
    binance = build_runtime("binance", config)
    assert binance.exchanges["spot"].account("demo").balances["BTC"].total == D("2")
    assert binance.exchanges["usdt_futures"].account("demo").balances["USDT"].total == D("100000")
    assert binance.exchanges["usdt_futures"].markets["ETHUSDT"].last_price == D("3000")
    okx = build_runtime("okx", config)
    okx.exchanges["spot"].place_order("demo", "BTC-USDT", "SELL", "MARKET", D("1"))
    assert okx.exchanges["swap"].account("demo").balances["BTC"].total == D("1")  # one unified wallet


def test_json_round_trip_and_file_loading(tmp_path) -> None:
    config = SimConfig.default(venues=("okx",), seed=7, tick_interval_ms=250)
    path = tmp_path / "sim.json"
    path.write_bytes(dump_sim_config(config))
    assert load_sim_config(path) == config
    assert load_sim_config(path.read_bytes()) == config


def mutated(change) -> bytes:
    data = json.loads(dump_sim_config(SimConfig.default()))
    change(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["venues"]["okx"]["accounts"][0]["balances"].update(spot={"USDT": "1"}),
         "venues.okx.accounts[0].balances.spot: unknown wallet (use unified)"),
        (lambda d: d["venues"]["binance"]["accounts"][0]["balances"]["spot"].update(BTC="-1"),
         "venues.binance.accounts[0].balances.spot.BTC: must not be negative"),
        (lambda d: d["venues"]["bybit"]["accounts"][0]["keys"][0].update(api_secret=""),
         "venues.bybit.accounts[0].keys[0].api_secret: required for an hmac key"),
        (lambda d: d["venues"]["binance"]["accounts"][0]["keys"][1].update(api_secret="x"),
         "venues.binance.accounts[0].keys[1].api_secret: an ed25519 key keeps only its public_key"),
        (lambda d: d["venues"]["binance"]["accounts"][0]["keys"][1].update(public_key="AAAA"),
         "venues.binance.accounts[0].keys[1].public_key: not an Ed25519 public key"),
        (lambda d: d["venues"]["okx"]["accounts"][0]["keys"][0].update(api_key=d["venues"]["bybit"]["accounts"][0]
                                                                        ["keys"][0]["api_key"]),
         "venues.okx.accounts[0].keys[0].api_key: used twice"),
        (lambda d: d["venues"]["binance"]["markets"]["spot"]["instruments"][0].update(tick_sz="1"),
         "unknown field `tick_sz`"),
        (lambda d: d["venues"]["binance"]["markets"]["spot"]["instruments"][0].update(lot_size="0"),
         "instrument BTCUSDT: lot_size must be positive"),
        (lambda d: d["venues"]["binance"]["markets"]["spot"]["instruments"][0].update(start_price="x"),
         "Invalid decimal string"),
        (lambda d: d.update(tick_interval_ms=-1), "tick_interval_ms: must not be negative"),
        (lambda d: d["venues"]["binance"]["markets"]["spot"]["instruments"].append(
            d["venues"]["binance"]["markets"]["usdt_futures"]["instruments"][0]),
         "venues.binance.markets.spot.instruments: mixes spot and perpetual instruments"),
    ],
)
def test_bad_config_names_the_field(change, message: str) -> None:
    with pytest.raises(SimConfigError) as exc:
        load_sim_config(mutated(change))
    assert message in str(exc.value)
    assert "Secret" not in str(exc.value)


def test_unreadable_and_invalid_json(tmp_path) -> None:
    with pytest.raises(SimConfigError, match="config file .*missing.json"):
        load_sim_config(tmp_path / "missing.json")
    with pytest.raises(SimConfigError, match="not valid JSON"):
        load_sim_config(b"{nope")
    with pytest.raises(SimConfigError, match="venues: unknown venue"):
        SimConfig.default(venues=("kraken",))


def test_demo_ed25519_private_key_is_what_nautilus_signs_with() -> None:
    from nautilus_trader.adapters.binance.common.credentials import (
        extract_ed25519_private_key,
        is_ed25519_private_key,
    )
    from nautilus_trader.core.nautilus_pyo3 import ed25519_signature

    assert is_ed25519_private_key(DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM)
    signature = ed25519_signature(extract_ed25519_private_key(DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM), "a=1&b=2")
    keys = SimConfig.default().venues["binance"].accounts[0].keys
    (key,) = [k for k in keys if k.api_key == DEMO_BINANCE_ED25519_KEY]
    VerifyKey(ed25519_public_key_bytes(key.public_key)).verify(b"a=1&b=2", base64.b64decode(signature))
