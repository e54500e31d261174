"""The parts ``LiveTradingNode`` (``backend/live/trading_node.py``) coordinates, one job each: the event pipeline
(``pipeline.py``), client health (``health.py``), start-up diagnostics (``startup.py``) and the instrument store
(``instruments.py``). See docs/live/ARCHITECTURE.md."""
