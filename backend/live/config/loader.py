"""Reads a live config file: JSON -> ``${VAR}`` substitution -> validated ``LiveConfig``.

Every failure is a ``ConfigError`` whose ``path`` is the dotted path of the field (``trading_node.exec_clients.
BINANCE_SPOT.api_key``) and whose text never contains a secret: msgspec's own messages are rewritten (its ``$.a[...]``
paths get their dict keys back, enum errors list the allowed values) and a value is only echoed when it was written
literally in the file, never when it came from the environment.

Substitution, in every string value (not in keys): ``${VAR}`` is the variable (an error if it is not set),
``${VAR:-default}`` the default when the variable is unset or empty, ``$${`` a literal ``${``. Numbers and booleans
may be given as strings (``"pool_max_size": "${POOL_MAX:-10}"``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from backend.live.config.schema import ConfigError, LiveConfig
from backend.live.config.secrets import dec_hook

__all__ = ["ConfigError", "LiveConfigLoader", "load_config", "read_json", "substitute_env", "validate_config"]

log = logging.getLogger(__name__)

_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MSGSPEC_ERROR = re.compile(r"(?s)(?P<message>.*) - at `(?P<path>\$[^`]*)`")
_MSGSPEC_PATH_TOKEN = re.compile(r"\.(?P<field>[^.\[]+)|\[(?P<index>\d+|\.\.\.)\]")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# -- reading -----------------------------------------------------------------------------------------------------------


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ConfigError("", f"duplicate key {key!r}: a later value would silently replace the earlier one")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ConfigError("", f"{name} is not valid JSON")


def read_json(path: Path) -> Any:
    """The file's JSON; a syntax error names the file, line and column. A missing file raises FileNotFoundError."""
    text = path.read_bytes()
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError("", f"invalid JSON in {path} at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ConfigError("", f"{path} is not UTF-8 text") from None
    except ConfigError as exc:
        raise ConfigError("", f"invalid JSON in {path}: {exc.message}") from None


# -- ${VAR} substitution -----------------------------------------------------------------------------------------------


def _substitute_string(text: str, env: Mapping[str, str], path: str) -> tuple[str, bool]:
    """``text`` with its references replaced, and whether it held any (its value then comes from outside the file)."""
    references = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal references
        if match.group(0) == "$${":
            return "${"
        body = match.group("body")
        if body is None:
            raise ConfigError(path, "unterminated ${ (write ${VAR} or ${VAR:-default}; $${ for a literal ${)")
        name, has_default, default = body.partition(":-")
        if not _VARIABLE_NAME.fullmatch(name):
            raise ConfigError(path, f"invalid variable reference: {name!r} is not a variable name")
        if "${" in default:
            raise ConfigError(path, f"nested references in the default of ${{{name}:-...}} are not supported")
        references += 1
        value = env.get(name)
        if has_default and not value:
            return default
        if value is None:
            raise ConfigError(path, f"environment variable {name} is not set")
        return value

    return _REFERENCE.sub(replace, text), references > 0


def substitute_env(data: Any, env: Mapping[str, str]) -> tuple[Any, frozenset[str]]:
    """``data`` with every string value substituted, and the dotted paths of the values that held a reference."""
    from_env: set[str] = set()

    def walk(value: Any, at: str) -> Any:
        if isinstance(value, str):
            if "${" not in value:
                return value
            substituted, referenced = _substitute_string(value, env, at)
            if referenced:
                from_env.add(at)
            return substituted
        if isinstance(value, dict):
            return {key: walk(item, _join(at, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, _join(at, index)) for index, item in enumerate(value)]
        return value

    return walk(data, ""), frozenset(from_env)


# -- validation and error rewriting ------------------------------------------------------------------------------------


def _strip_optional(tp: Any) -> Any:
    """``X | None`` -> ``X`` (keeping ``Annotated``); other types unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return tp


def _bare(tp: Any) -> Any:
    tp = _strip_optional(tp)
    while typing.get_origin(tp) is typing.Annotated:
        tp = _strip_optional(typing.get_args(tp)[0])
    return tp


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _converts(value: Any, tp: Any) -> bool:
    try:
        msgspec.convert(value, tp, dec_hook=dec_hook, strict=False)
    except (msgspec.ValidationError, ConfigError):
        return False
    return True


def _locate(msgspec_path: str, data: Any) -> tuple[str, Any]:
    """msgspec's ``$.a[...].b[0]`` -> (``a.KEY.b[0]``, the field's type): ``[...]`` is a dict key msgspec does not
    report, found again as the first entry of that dict that fails to validate."""
    path, tp = "", LiveConfig
    for token in _MSGSPEC_PATH_TOKEN.finditer(msgspec_path):
        bare = _bare(tp)
        field, index = token.group("field"), token.group("index")
        if field is not None:
            fields = {f.encode_name: f.type for f in msgspec.structs.fields(bare)} if _is_struct(bare) else {}
            tp = fields.get(field, Any)
            data = data.get(field) if isinstance(data, dict) else None
            path = _join(path, field)
        elif index == "...":
            value_type = typing.get_args(bare)[1] if typing.get_origin(bare) is dict else Any
            items = data.items() if isinstance(data, dict) else ()
            key = next((k for k, v in items if not _converts(v, value_type)), None)
            if key is None:
                return _join(path, "*"), Any
            tp, data, path = value_type, data[key], _join(path, key)
        else:
            position = int(index)
            args = typing.get_args(bare)
            tp = args[0] if args else Any
            data = data[position] if isinstance(data, list) and position < len(data) else None
            path = _join(path, position)
    return path, tp


def _meta_description(tp: Any) -> str | None:
    tp = _strip_optional(tp)
    if typing.get_origin(tp) is typing.Annotated:
        for meta in typing.get_args(tp)[1:]:
            if isinstance(meta, msgspec.Meta) and meta.description:
                return meta.description
    return None


def _explain(error: msgspec.ValidationError, data: Any, from_env: frozenset[str]) -> ConfigError:
    text = str(error)
    match = _MSGSPEC_ERROR.fullmatch(text)
    message, msgspec_path = (match.group("message"), match.group("path")) if match else (text, "$")  # root: no path
    path, tp = _locate(msgspec_path, data)
    if (field := re.fullmatch(r"Object missing required field `(.+)`", message)) is not None:
        return ConfigError(_join(path, field.group(1)), "required field is missing")
    if (field := re.fullmatch(r"Object contains unknown field `(.+)`", message)) is not None:
        bare = _bare(tp)
        known = ", ".join(f.encode_name for f in msgspec.structs.fields(bare)) if _is_struct(bare) else ""
        return ConfigError(_join(path, field.group(1)), f"unknown field (expected one of: {known})" if known
                           else "unknown field")
    if (enum := re.fullmatch(r"Invalid enum value (.+)", message)) is not None:
        bare = _bare(tp)
        choices = ", ".join(repr(arg) for arg in typing.get_args(bare)) if typing.get_origin(bare) is typing.Literal \
            else ""
        got = "" if path in from_env else f" {enum.group(1)}"
        return ConfigError(path, f"invalid value{got}; expected one of: {choices}" if choices else "invalid value")
    if message.startswith("Expected `str` matching regex") and (description := _meta_description(tp)):
        return ConfigError(path, f"expected {description}")
    return ConfigError(path, message)


def validate_config(data: Any, from_env: frozenset[str] = frozenset()) -> LiveConfig:
    """Plain JSON data (already substituted) -> ``LiveConfig``, or a ``ConfigError`` naming the field."""
    try:
        # strict=False: numbers and booleans may be strings, so that ``${VAR}`` can supply them.
        return msgspec.convert(data, LiveConfig, dec_hook=dec_hook, strict=False)
    except msgspec.ValidationError as exc:
        cause = exc.__cause__
        if isinstance(cause, ConfigError):  # a cross-field rule (LiveConfig.__post_init__): already has its path
            raise ConfigError(cause.path, cause.message) from None
        raise _explain(exc, data, from_env) from None


# -- entry points ------------------------------------------------------------------------------------------------------


class LiveConfigLoader:
    """``LiveConfigLoader(path, env=os.environ).load() -> LiveConfig``."""

    def __init__(self, path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.env = os.environ if env is None else env

    def load(self) -> LiveConfig:
        data, from_env = substitute_env(read_json(self.path), self.env)
        config = validate_config(data, from_env)
        node = config.trading_node
        log.info("Loaded %s: trader %s, data clients %s, exec clients %s, %d strategies", self.path, config.trader_id,
                 sorted(node.data_clients), sorted(node.exec_clients), len(node.strategies))
        log.debug("Config %s: %r", self.path, config)
        return config


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> LiveConfig:
    return LiveConfigLoader(path, env).load()
