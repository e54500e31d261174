"""``Secret``: a credential that can be passed around but never printed.

API keys, API secrets, passphrases, the database DSN and the Redis password are held as ``Secret``. Only ``.get()``
returns the value; ``repr``/``str``/format show ``Secret('***')``, so a config can be logged or shown in an error
without leaking. msgspec handles it through the hooks below: decoding takes a JSON string (no other type, and the
error never contains the value), encoding writes ``"***"`` (configs are never written back with their secrets), and
the JSON Schema describes it as a write-only string.
"""

from __future__ import annotations

from typing import Any

MASK = "Secret('***')"


class Secret:
    """A string that only ``get()`` reveals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:  # pickling keeps the value (multiprocessing); printing never does
        return (Secret, (self._value,))


def dec_hook(type_: type, obj: Any) -> Any:
    """msgspec decode hook: JSON string -> ``Secret``. The error text never includes the offending value."""
    if type_ is Secret:
        if isinstance(obj, Secret):
            return obj
        if not isinstance(obj, str):
            raise TypeError(f"Expected a string secret, got `{type(obj).__name__}`")
        return Secret(obj)
    raise NotImplementedError(f"cannot decode {type_!r}")


def enc_hook(obj: Any) -> Any:
    """msgspec encode hook: a ``Secret`` encodes as ``"***"``, never as its value."""
    if isinstance(obj, Secret):
        return "***"
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def schema_hook(type_: type) -> dict[str, Any]:
    """msgspec JSON Schema hook: a ``Secret`` is a write-only string (tools should not display it)."""
    if type_ is Secret:
        return {"type": "string", "writeOnly": True, "description": "secret; use ${ENV_VAR} instead of a literal"}
    raise NotImplementedError(f"no schema for {type_!r}")
