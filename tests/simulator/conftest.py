"""Simulator test fixtures shared by the core and venue test packages."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def fake_venue(monkeypatch: pytest.MonkeyPatch):
    """Install the test-only venue plug-in as ``backend.simulator.venues.fakevenue``; return its module."""
    from tests.simulator.core import fake_venue as module

    monkeypatch.setitem(sys.modules, module.MODULE_NAME, module)
    return module
