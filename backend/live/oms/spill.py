"""The writer's last resort: rows PostgreSQL could not take before shutdown, kept in a local file until the next start.

One JSON line per item, ``[kind, row]``, written to a temporary name and renamed, so a spill file is complete or
absent. Replaying a spill file is safe because every write of the OMS is idempotent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

import msgspec

from backend.live.models import AccountRow, AccountStateRow
from backend.live.oms.convert import ConvertedEvent

WriteItem = ConvertedEvent | AccountStateRow | AccountRow
_KINDS: dict[str, type] = {"order_event": ConvertedEvent, "account_state": AccountStateRow, "account": AccountRow}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
SPILL_GLOB = "oms-spill-*.jsonl"


def write_spill(directory: Path, items: Iterable[WriteItem]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"oms-spill-{time.time_ns()}.jsonl"
    temporary = path.with_suffix(".tmp")
    encoder = msgspec.json.Encoder()
    with temporary.open("wb") as handle:
        for item in items:
            handle.write(encoder.encode([_KIND_OF[type(item)], item]) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    temporary.rename(path)
    return path


def read_spill(path: Path) -> list[WriteItem]:
    items: list[WriteItem] = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            kind, raw = msgspec.json.decode(line, type=tuple[str, msgspec.Raw])
            items.append(msgspec.json.decode(raw, type=_KINDS[kind]))
        except (msgspec.DecodeError, msgspec.ValidationError, KeyError) as exc:
            raise ValueError(f"{path}:{number}: not a spilled OMS row ({exc})") from None
    return items


def spill_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(SPILL_GLOB)) if directory.is_dir() else []
