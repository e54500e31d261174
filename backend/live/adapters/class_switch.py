"""The one way our factories specialise a client NautilusTrader's stock factory built.

The stock factories construct their clients with many adapter internals (HTTP clients, providers, configs); copying
that code into our factories would tie us to far more of NautilusTrader than the one method a shim overrides. So a
factory of ours lets the stock one build the client and, when it is exactly the stock class, switches the instance
to our subclass, which only overrides methods (no ``__init__``, no slots: the instance layout is the same).
The guard tests in ``tests/live/test_adapter_shims.py`` and ``test_bybit_exec_shim.py`` fail if the stock factory
starts returning another class.
"""

from __future__ import annotations

from typing import Any, TypeVar

Client = TypeVar("Client")


def switch_class(client: Any, stock: type, replacement: type[Client]) -> Any:
    """``client`` as a ``replacement`` when it is exactly a ``stock`` instance; any other client unchanged."""
    if not issubclass(replacement, stock):
        raise TypeError(f"{replacement.__name__} must subclass {stock.__name__}")
    if type(client) is stock:
        client.__class__ = replacement
    return client
