"""Binance request authentication: API key, signature (HMAC-SHA256 hex or Ed25519 base64), timestamp window.

Binance signs ``totalParams``: the query string exactly as sent immediately followed by the form body, without the
``signature`` parameter. HMAC keys sign with the secret (hex digest); Ed25519 keys sign with the private key and the
venue verifies with the registered public key (base64 signature). The WebSocket API signs its ``params`` sorted by
name and joined as ``key=value&...``. The timestamp must not be more than 1000 ms ahead of the venue clock nor older
than ``recvWindow`` (default 5000, at most 60000).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from backend.simulator.venues.binance import errors

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
MAX_CLOCK_AHEAD_MS = 1_000


def split_signature(query_string: str, body: str) -> tuple[str, str | None]:
    """``(signed payload, signature)``: Binance's ``totalParams`` is the query string followed directly by the form
    body (no ``&`` between them), each as sent, with the ``signature`` parameter taken out."""
    if not body:
        payload, separator, last = query_string.rpartition("&signature=")
        if separator and "&" not in last:  # the usual layout: signature appended last to the query string
            return payload, unquote_plus(last)
    signature: str | None = None
    payload = ""
    for source in (query_string, body):
        kept = []
        for part in source.split("&") if source else ():
            if part.startswith("signature="):
                signature = unquote_plus(part[len("signature="):])
            else:
                kept.append(part)
        payload += "&".join(kept)
    return payload, signature


def ws_api_payload(params: Mapping[str, object]) -> str:
    """The WebSocket API's signed text: every param but ``signature``, sorted by name, ``key=value`` joined by ``&``."""
    return "&".join(f"{key}={_ws_value(params[key])}" for key in sorted(params) if key != "signature")


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ed25519_public_key(encoded: str) -> VerifyKey:
    """An Ed25519 public key from base64 (raw 32 bytes or DER SubjectPublicKeyInfo, PEM headers allowed)."""
    data = "".join(line for line in encoded.strip().splitlines() if not line.startswith("-----"))
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ValueError("ed25519 public key: not base64") from None
    if len(raw) < 32:
        raise ValueError("ed25519 public key: fewer than 32 bytes")
    return VerifyKey(raw[-32:])


def hmac_signature_valid(secret: str, payload: str, signature: str) -> bool:
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


def ed25519_signature_valid(public_key: VerifyKey, payload: str, signature: str) -> bool:
    try:
        public_key.verify(payload.encode(), base64.b64decode(signature, validate=True))
    except (BadSignatureError, binascii.Error, ValueError):
        return False
    return True


def check_timestamp(params: Mapping[str, str], now_ms: int) -> None:
    """Raise Binance's -1102 / -1131 / -1021 unless ``timestamp`` lies within ``recvWindow`` of ``now_ms``."""
    raw_timestamp = params.get("timestamp")
    if raw_timestamp is None or raw_timestamp == "":
        raise errors.missing_parameter("timestamp")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise errors.missing_parameter("timestamp") from None
    recv_window = DEFAULT_RECV_WINDOW_MS
    raw_window = params.get("recvWindow")
    if raw_window not in (None, ""):
        try:
            recv_window = int(str(raw_window))
        except ValueError:
            raise errors.missing_parameter("recvWindow") from None
        if recv_window > MAX_RECV_WINDOW_MS:
            raise errors.recv_window_too_large()
    if timestamp - now_ms > MAX_CLOCK_AHEAD_MS:
        raise errors.timestamp_ahead()
    if now_ms - timestamp > recv_window:
        raise errors.timestamp_outside_recv_window()


class Authenticator:
    """Checks requests against the venue's registered keys and clock (see the module docstring for the rules)."""

    def __init__(self, credentials: Mapping[str, Any], now_ms: Callable[[], int]) -> None:
        self._credentials = credentials
        self._now_ms = now_ms
        self._verify_keys: dict[str, VerifyKey] = {}

    def credential(self, api_key: str | None) -> Any:
        """The registered credential for ``api_key``: -2014 when absent or malformed, -2015 when unknown."""
        if not api_key or not api_key.isprintable() or " " in api_key:
            raise errors.api_key_format_invalid()
        credential = self._credentials.get(api_key)
        if credential is None:
            raise errors.invalid_api_key()
        return credential

    def verify(self, credential: Any, params: Mapping[str, str], payload: str, signature: str | None) -> None:
        """Timestamp window first (-1021), then the signature (-1102 when missing, -1022 when wrong)."""
        if signature is None or signature == "":
            raise errors.missing_parameter("signature")
        check_timestamp(params, self._now_ms())
        if not self.signature_valid(credential, payload, signature):
            raise errors.bad_signature()

    def signature_valid(self, credential: Any, payload: str, signature: str) -> bool:
        public_key = getattr(credential, "ed25519_public_key", None)
        if public_key:
            verify_key = self._verify_keys.get(public_key)
            if verify_key is None:
                verify_key = self._verify_keys[public_key] = ed25519_public_key(public_key)
            return ed25519_signature_valid(verify_key, payload, signature)
        return hmac_signature_valid(credential.secret, payload, signature)

    def is_ed25519(self, credential: Any) -> bool:
        return bool(getattr(credential, "ed25519_public_key", None))
