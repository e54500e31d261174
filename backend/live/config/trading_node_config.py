"""Builds NautilusTrader's ``TradingNodeConfig`` from the validated live config (plan task 2).

The per-venue client configs come from each venue's ``VenueSpec`` (``backend/live/venues.py``, the only place that
knows the adapters' field names); this module adds the engines, cache, logging, strategies and timeouts.
"""

from __future__ import annotations

from nautilus_trader.cache.config import CacheConfig
from nautilus_trader.common.config import DatabaseConfig, LoggingConfig
from nautilus_trader.config import (
    ImportableStrategyConfig,
    LiveDataEngineConfig,
    LiveExecEngineConfig,
    LiveRiskEngineConfig,
    TradingNodeConfig,
)
from nautilus_trader.model.identifiers import InstrumentId

from backend.live.config.schema import LiveConfig
from backend.live.venues import VENUES


def _cache(config: LiveConfig) -> CacheConfig | None:
    if config.cache.backend != "redis":
        return None  # in memory
    redis = config.cache.redis
    return CacheConfig(
        database=DatabaseConfig(
            type="redis", host=redis.host, port=redis.port, username=redis.username,
            password=None if redis.password is None else redis.password.get(),
        ),
        flush_on_start=False,
    )


def _exec_engine(config: LiveConfig) -> LiveExecEngineConfig:
    """Reconciliation for live use (docs/live/CONFIG.md, ``reconciliation``): every configured execution
    instrument is reconciled at start-up, open orders and positions are checked against the venue periodically."""
    settings = config.trading_node.reconciliation
    instrument_ids = sorted({i for c in config.trading_node.exec_clients.values() for i in c.instrument_ids})
    return LiveExecEngineConfig(
        reconciliation=settings.enabled,
        reconciliation_lookback_mins=settings.lookback_mins,
        reconciliation_instrument_ids=[InstrumentId.from_str(i) for i in instrument_ids] or None,
        open_check_interval_secs=settings.open_check_interval_secs,
        open_check_lookback_mins=settings.open_check_lookback_mins,
        open_check_open_only=True,
        position_check_interval_secs=settings.position_check_interval_secs,
    )


def build_trading_node_config(config: LiveConfig) -> TradingNodeConfig:
    """Raises ``venues.NodeConfigError`` naming the client and field when an adapter refuses a client's settings."""
    node = config.trading_node
    strategies = [
        ImportableStrategyConfig(strategy_path=s.strategy_path, config_path=s.config_path, config=dict(s.config))
        for s in node.strategies
    ]
    return TradingNodeConfig(
        trader_id=config.trader_id,
        logging=LoggingConfig(
            # json: the console carries only the live layer's JSON lines (ops/logs.py); NautilusTrader's go to its file
            log_level="OFF" if config.logging.format == "json" else config.logging.level,
            log_directory=config.logging.log_directory,
            log_level_file=(config.logging.file_level or config.logging.level) if config.logging.log_directory else None,
            log_file_max_size=config.logging.max_file_mb * 1024 * 1024,
            log_file_max_backup_count=config.logging.backup_count,
            log_colors=False,
        ),
        cache=_cache(config),
        data_engine=LiveDataEngineConfig(),
        risk_engine=LiveRiskEngineConfig(),
        exec_engine=_exec_engine(config),
        data_clients={name: VENUES[c.venue].data_config(name, c) for name, c in node.data_clients.items()},
        exec_clients={name: VENUES[c.venue].exec_config(name, c) for name, c in node.exec_clients.items()},
        strategies=strategies,
        timeout_connection=node.timeouts.connection_secs,
        timeout_reconciliation=node.timeouts.reconciliation_secs,
        timeout_portfolio=node.timeouts.portfolio_secs,
        timeout_disconnection=node.timeouts.disconnection_secs,
        timeout_post_stop=node.timeouts.post_stop_secs,
    )
