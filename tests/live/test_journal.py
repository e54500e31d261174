"""The OMS write-ahead journal on its own: round trip, group commit, torn tails, rotation, committed position."""

from __future__ import annotations

import logging
import os
import random
from decimal import Decimal
from pathlib import Path

import pytest

from backend.live.models import AccountRow
from backend.live.oms.convert import ConvertedEvent, convert_order_event
from backend.live.oms.journal import MAGIC, Journal, JournalError
from tests.live.order_scripts import REF, limit_order_lifecycle

ACCOUNT = AccountRow(trader_id="T-1", account_id="BINANCE-001", venue="BINANCE", account_type="SPOT",
                     venue_type="CEFI", client_name="BINANCE_SPOT", margin_model="CASH", base_currency=None)


def events(orders: int = 5) -> list[ConvertedEvent]:
    return [convert_order_event(p, REF) for n in range(orders)
            for p in limit_order_lifecycle(n, [("0.500000", "60000.00"), ("0.500000", "60001.50")])]


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.wal"))


CRASHING_WRITER = """
import os, sys
from pathlib import Path
from backend.live.oms.journal import Journal
from tests.live.test_journal import ACCOUNT, events
journal = Journal(Path(sys.argv[1]), fsync_delay_ms=50)
journal.open()
items = events()
for item in [*items, ACCOUNT]:
    journal.append(item)
print(" ".join(e.event.event_id for e in items), flush=True)
os.kill(os.getpid(), 9)  # killed before any fsync or close
"""


def test_items_come_back_exactly_after_the_process_is_killed(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(tmp_path)], cwd=Path(__file__).parents[2],
                          capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    event_ids = done.stdout.split()
    journal = Journal(tmp_path)
    recovered = journal.open()
    assert [r.seq for r in recovered] == list(range(1, len(event_ids) + 2))
    assert [r.item.event.event_id for r in recovered[:-1]] == event_ids
    assert recovered[-1].item == ACCOUNT
    fill = recovered[3].item.fill
    assert fill is not None and fill.price == Decimal("60000.00") and isinstance(fill.quantity, Decimal)
    journal.close()


def test_only_records_after_the_committed_position_are_returned_and_seqs_continue(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    for item in events(2):
        journal.append(item)
    journal.mark_committed(6)
    journal.close()
    reopened = Journal(tmp_path)
    assert [r.seq for r in reopened.open()] == [7, 8, 9, 10]
    assert reopened.append(ACCOUNT) == 11
    assert reopened.pending == 5
    reopened.close()


def test_one_fsync_covers_many_appends(tmp_path: Path) -> None:
    journal = Journal(tmp_path, fsync_delay_ms=5)
    journal.open()
    items = events(100)
    for item in items:
        journal.append(item)
    assert journal.wait_durable(timeout=5)
    assert journal.durable_seq == len(items)
    assert 1 <= journal.fsyncs < 10  # 700 appends within a few ms: one or two fsyncs, not 700
    journal.close()


@pytest.mark.parametrize("seed", range(6))
def test_a_torn_tail_is_cut_and_every_record_before_it_is_kept(tmp_path: Path, seed: int,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal(tmp_path)
    journal.open()
    items = events(3)
    ends = []
    for item in items:
        journal.append(item)
        ends.append(segments(tmp_path)[0].stat().st_size)
    journal.close()
    (path,) = segments(tmp_path)
    size = path.stat().st_size
    cut_at = random.Random(seed).randrange(len(MAGIC) + 1, size)  # anywhere, mid-record mostly
    os.truncate(path, cut_at)
    whole = sum(end <= cut_at for end in ends)
    with caplog.at_level(logging.ERROR, logger="backend.live.oms.journal"):
        reopened = Journal(tmp_path)
        recovered = reopened.open()
    assert [r.item for r in recovered] == items[:whole]
    valid_end = ends[whole - 1] if whole else len(MAGIC)
    if cut_at > valid_end:
        assert f"cut {cut_at - valid_end} bytes" in caplog.text and path.name in caplog.text
        assert reopened.bytes_cut == cut_at - valid_end
    # the next records follow the last whole one, and a further restart finds the journal clean
    assert reopened.append(ACCOUNT) == whole + 1
    reopened.close()
    again = Journal(tmp_path)
    assert [r.item for r in again.open()] == [*items[:whole], ACCOUNT]
    assert again.bytes_cut == 0
    again.close()


def test_a_flipped_byte_is_caught_by_the_checksum(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal(tmp_path)
    journal.open()
    items = events(1)
    for item in items:
        journal.append(item)
    journal.close()
    (path,) = segments(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # inside the last record's payload
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="backend.live.oms.journal"):
        reopened = Journal(tmp_path)
        recovered = reopened.open()
    assert [r.item for r in recovered] == items[:-1]
    assert "checksum mismatch" in caplog.text
    reopened.close()


def test_segments_rotate_and_are_deleted_once_committed(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_max_bytes=4096)
    journal.open()
    items = events(20)
    for item in items:
        journal.append(item)
    assert len(segments(tmp_path)) > 3
    assert all(p.stat().st_size <= 4096 for p in segments(tmp_path))
    assert [r.item for r in journal.read_from(50, 10)] == items[49:59]
    journal.mark_committed(len(items) - 1)
    assert len(segments(tmp_path)) == 1  # only the segment holding the last record is left
    journal.mark_committed(len(items))
    journal.close()
    reopened = Journal(tmp_path)
    assert reopened.open() == []
    reopened.close()
    assert len(segments(tmp_path)) == 1  # the new run's (empty) active segment; the old one is gone


def test_a_damaged_committed_position_means_everything_is_written_again(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    for item in events(1):
        journal.append(item)
    journal.mark_committed(2)
    journal.close()
    (tmp_path / "committed").write_bytes(b"\x00garbage")
    reopened = Journal(tmp_path)
    assert len(reopened.open()) == 5
    reopened.close()


def test_a_file_that_is_not_a_journal_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / f"{1:020d}.wal").write_bytes(b"something else entirely")
    with pytest.raises(JournalError, match=r"00000000000000000001\.wal does not start with"):
        Journal(tmp_path).open()


def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(JournalError, match="OMS journal .*file/journal"):
        Journal(blocker / "journal").open()


def test_a_second_process_cannot_open_the_same_journal(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    first.open()
    with pytest.raises(JournalError, match=rf"in use by another process \(pid {os.getpid()}\)"):
        Journal(tmp_path).open()
    first.close()
    second = Journal(tmp_path)
    second.open()
    second.close()
