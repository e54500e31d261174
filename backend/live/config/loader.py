"""Reads a live config file: JSON -> ``${VAR}`` substitution -> validated ``LiveConfig``.

Every failure is a ``ConfigError`` whose ``path`` is the dotted path of the field (``trading_node.exec_clients.
BINANCE_SPOT.api_key``) and whose text never contains a secret: msgspec's own messages are rewritten (its ``$.a[...]``
paths get their dict keys back, enum errors list the allowed values) and a value is only echoed when it was written
literally in the file, never when it came from the environment. A file with several problems raises one
``ConfigProblems`` listing all of them (every unset variable, every bad field, every broken cross-field rule), so a
user fixes a config in one round.

Each strategy's ``config`` is checked against the strategy's own config class (``config_path``) the way
NautilusTrader will decode it, except that an unknown key is an error (NautilusTrader would silently ignore a typo):
``trading_node.strategies[0].config.interval_sec: unknown field (expected one of: ...)``.

Substitution, in every string value (not in keys): ``${VAR}`` is the variable (an error if it is not set),
``${VAR:-default}`` the default when the variable is unset or empty, ``$${`` a literal ``${``. Numbers and booleans
may be given as strings (``"pool_max_size": "${POOL_MAX:-10}"``).
"""

from __future__ import annotations

import importlib
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

from backend.live.config.schema import ConfigError, ConfigProblems, LiveConfig
from backend.live.config.secrets import dec_hook

__all__ = ["ConfigError", "ConfigProblems", "LiveConfigLoader", "load_config", "read_json", "substitute_env",
           "validate_config"]

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


def _raise_all(errors: list[ConfigError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigProblems(errors)


def _substitute_collecting(data: Any, env: Mapping[str, str]) -> tuple[Any, frozenset[str], list[ConfigError]]:
    """Like ``substitute_env``, but every bad reference is collected (its value is left as written) instead of
    raised."""
    from_env: set[str] = set()
    errors: list[ConfigError] = []

    def walk(value: Any, at: str) -> Any:
        if isinstance(value, str):
            if "${" not in value:
                return value
            try:
                substituted, referenced = _substitute_string(value, env, at)
            except ConfigError as exc:
                errors.append(exc)
                return value
            if referenced:
                from_env.add(at)
            return substituted
        if isinstance(value, dict):
            return {key: walk(item, _join(at, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, _join(at, index)) for index, item in enumerate(value)]
        return value

    return walk(data, ""), frozenset(from_env), errors


def substitute_env(data: Any, env: Mapping[str, str]) -> tuple[Any, frozenset[str]]:
    """``data`` with every string value substituted, and the dotted paths of the values that held a reference;
    every unset variable and malformed reference is reported at once."""
    substituted, from_env, errors = _substitute_collecting(data, env)
    _raise_all(errors)
    return substituted, from_env


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


def _locate(msgspec_path: str, data: Any, root: Any = LiveConfig, base: str = "") -> tuple[str, Any]:
    """msgspec's ``$.a[...].b[0]`` -> (``a.KEY.b[0]``, the field's type): ``[...]`` is a dict key msgspec does not
    report, found again as the first entry of that dict that fails to validate. ``root`` is the type ``data`` was
    converted to, ``base`` the dotted path of ``data`` in the file."""
    path, tp = base, root
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


def _explain(error: msgspec.ValidationError, data: Any, from_env: frozenset[str], root: Any = LiveConfig,
             base: str = "") -> ConfigError:
    text = str(error)
    match = _MSGSPEC_ERROR.fullmatch(text)
    message, msgspec_path = (match.group("message"), match.group("path")) if match else (text, "$")  # root: no path
    path, tp = _locate(msgspec_path, data, root, base)
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


def _unknown_field(path: str, known: Any) -> ConfigError:
    names = ", ".join(f.encode_name for f in msgspec.structs.fields(known))
    return ConfigError(path, f"unknown field (expected one of: {names})")


def _problems(data: Any, tp: Any, path: str, from_env: frozenset[str], *, strict: bool = False,
              forbid_unknown: bool = False) -> list[ConfigError]:
    """Every problem of ``data`` as type ``tp``: a struct's unknown and missing fields and each field's own problems
    (msgspec alone stops at the first); when its parts are fine, the whole is converted, which runs the cross-field
    rules of ``__post_init__``. ``forbid_unknown`` treats every struct as ``forbid_unknown_fields``."""
    bare = _bare(tp)
    parts: list[ConfigError] = []
    if _is_struct(bare) and isinstance(data, dict):
        fields = {f.encode_name: f for f in msgspec.structs.fields(bare)}
        forbid = forbid_unknown or bare.__struct_config__.forbid_unknown_fields
        for key, value in data.items():
            if key in fields:
                parts += _problems(value, fields[key].type, _join(path, key), from_env, strict=strict,
                                   forbid_unknown=forbid_unknown)
            elif forbid:
                parts.append(_unknown_field(_join(path, key), bare))
        parts += [ConfigError(_join(path, name), "required field is missing")
                  for name, f in fields.items() if f.required and name not in data]
    elif typing.get_origin(bare) is dict and isinstance(data, dict):
        value_type = typing.get_args(bare)[1] if typing.get_args(bare) else Any
        for key, value in data.items():
            parts += _problems(value, value_type, _join(path, key), from_env, strict=strict,
                               forbid_unknown=forbid_unknown)
    elif typing.get_origin(bare) in (list, tuple) and isinstance(data, list):
        args = typing.get_args(bare)
        if args and (typing.get_origin(bare) is list or (len(args) == 2 and args[1] is Ellipsis)):
            for index, value in enumerate(data):
                parts += _problems(value, args[0], _join(path, index), from_env, strict=strict,
                                   forbid_unknown=forbid_unknown)
    if parts:
        return parts
    try:
        msgspec.convert(data, tp, dec_hook=dec_hook, strict=strict)
    except msgspec.ValidationError as exc:
        cause = exc.__cause__
        if isinstance(cause, ConfigProblems):  # cross-field rules (LiveConfig.__post_init__): already have paths
            return list(cause.problems)
        if isinstance(cause, ConfigError):
            return [ConfigError(cause.path, cause.message)]
        return [_explain(exc, data, from_env, tp, path)]
    return []


def _import(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _strategy_problems(data: Any, from_env: frozenset[str]) -> list[ConfigError]:
    """Each strategy's ``config`` checked against its own config class, as NautilusTrader decodes it (strict JSON
    types), plus unknown keys; an import that fails names the path."""
    node = data.get("trading_node") if isinstance(data, dict) else None
    strategies = node.get("strategies") if isinstance(node, dict) else None
    if not isinstance(strategies, list):
        return []
    problems: list[ConfigError] = []
    for index, spec in enumerate(strategies):
        if not isinstance(spec, dict):
            continue
        at = f"trading_node.strategies[{index}]"
        config_class = None
        for field in ("strategy_path", "config_path"):
            target = spec.get(field)
            if not isinstance(target, str) or ":" not in target:
                continue  # the schema reports it
            try:
                imported = _import(target)
            except Exception as exc:  # noqa: BLE001 - any import failure is the user's to see
                problems.append(ConfigError(f"{at}.{field}", f"cannot import {target}: {type(exc).__name__}: {exc}"))
                continue
            if field == "config_path":
                if not _is_struct(imported):
                    problems.append(ConfigError(f"{at}.{field}", f"{target} is not a NautilusTrader config class"))
                else:
                    config_class = imported
        settings = spec.get("config", {})
        if config_class is not None and isinstance(settings, dict):
            problems += _strategy_config_problems(settings, config_class, f"{at}.config", from_env)
    return problems


def _strategy_config_problems(settings: dict[str, Any], config_class: Any, at: str,
                              from_env: frozenset[str]) -> list[ConfigError]:
    from nautilus_trader.common.config import msgspec_decoding_hook

    problems = _problems(settings, config_class, at, from_env, strict=True, forbid_unknown=True)
    if problems:
        return problems
    try:
        msgspec.convert(settings, config_class, dec_hook=msgspec_decoding_hook)
    except (msgspec.ValidationError, ValueError, TypeError) as exc:
        if isinstance(exc, msgspec.ValidationError):
            return [_explain(exc, settings, from_env, config_class, at)]
        return [ConfigError(at, f"{config_class.__name__}: {exc}")]
    return []


def _drop_under(problems: list[ConfigError], paths: set[str]) -> list[ConfigError]:
    """The problems not caused by an already reported one at ``paths`` (a value still holding its ``${VAR}``)."""
    return [p for p in problems
            if not any(p.path == at or p.path.startswith((f"{at}.", f"{at}[")) for at in paths)]


def validate_config(data: Any, from_env: frozenset[str] = frozenset()) -> LiveConfig:
    """Plain JSON data (already substituted) -> ``LiveConfig``, or a ``ConfigError`` naming the field
    (``ConfigProblems`` naming each, when there are several)."""
    _raise_all(_problems(data, LiveConfig, "", from_env) + _strategy_problems(data, from_env))
    # strict=False: numbers and booleans may be strings, so that ``${VAR}`` can supply them.
    return msgspec.convert(data, LiveConfig, dec_hook=dec_hook, strict=False)


def _resolve_data_dir(config: LiveConfig, config_dir: Path) -> LiveConfig:
    """A relative ``database.data_dir`` or ``oms.journal_directory`` is relative to the config file, not to the
    working directory."""
    journal = Path(config.oms.journal_directory).expanduser()
    if not journal.is_absolute():
        oms = msgspec.structs.replace(config.oms, journal_directory=str((config_dir / journal).resolve()))
        config = msgspec.structs.replace(config, oms=oms)
    data_dir = config.database.data_dir
    if data_dir is None or Path(data_dir).expanduser().is_absolute():
        return config
    database = msgspec.structs.replace(config.database, data_dir=str((config_dir / data_dir).resolve()))
    return msgspec.structs.replace(config, database=database)


# -- entry points ------------------------------------------------------------------------------------------------------


class LiveConfigLoader:
    """``LiveConfigLoader(path, env=os.environ).load() -> LiveConfig``."""

    def __init__(self, path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.env = os.environ if env is None else env

    def load(self) -> LiveConfig:
        data, from_env, errors = _substitute_collecting(read_json(self.path), self.env)
        if errors:  # report the other problems too, except those of the values that still hold a ${VAR}
            problems = _problems(data, LiveConfig, "", from_env) + _strategy_problems(data, from_env)
            _raise_all(errors + _drop_under(problems, {e.path for e in errors}))
        config = _resolve_data_dir(validate_config(data, from_env), self.path.resolve().parent)
        node = config.trading_node
        log.info("Loaded %s: trader %s, data clients %s, exec clients %s, %d strategies", self.path, config.trader_id,
                 sorted(node.data_clients), sorted(node.exec_clients), len(node.strategies))
        log.debug("Config %s: %r", self.path, config)
        return config


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> LiveConfig:
    return LiveConfigLoader(path, env).load()
