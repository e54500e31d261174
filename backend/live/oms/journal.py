"""The OMS write-ahead journal: every item the pipeline accepts is on local disk before PostgreSQL sees it.

``append`` (called on the event loop by the bus handlers) encodes the item and ``write``s it to the open segment at
once, so a process killed a microsecond later (``kill -9``, an OOM kill, a crash) has it in the kernel's page cache
and thus in the file. A separate thread makes it durable against power loss too: it ``fsync``s the segment at most
``fsync_delay_ms`` after the first unsynced append, one fsync covering everything written meanwhile (group commit),
so the event loop never waits on the disk.

The database writer reads items back in sequence order and calls ``mark_committed(seq)`` once a batch is in
PostgreSQL; ``open`` returns everything after the last committed position (the writes are idempotent, so an item
written again after a crash changes nothing). Segments are bounded (``segment_max_bytes``): the active one is closed
and a new one begun when it is full, and a closed segment whose every record is committed is deleted.

Format (documented in docs/live/ARCHITECTURE.md, "The OMS journal"): a directory of segment files
``<first seq, 20 digits>.wal``, each an 8-byte magic ``OMSJRNL1`` followed by records
``<u32 payload length><u32 CRC-32 of (seq + payload)><u64 seq><payload>`` (little endian); the payload is msgpack
``[kind, item]``. The committed position is the file ``committed``: ``<u64 seq><u32 CRC-32 of seq>``, replaced
atomically (rename) and not fsynced: a stale one after a power loss only means more is written again.
A record cut short or failing its checksum ends the valid part of its segment: the rest is cut off (truncated) and
the log says how many bytes, at which offset.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import msgspec

from backend.live.models import AccountRow, AccountStateRow
from backend.live.oms.convert import ConvertedEvent

log = logging.getLogger(__name__)

WriteItem = ConvertedEvent | AccountStateRow | AccountRow

MAGIC = b"OMSJRNL1"
_HEADER = struct.Struct("<IIQ")  # payload length, crc32(seq + payload), seq
_SEQ = struct.Struct("<Q")
_COMMITTED = struct.Struct("<QI")  # seq, crc32(seq)
MAX_RECORD_BYTES = 64 * 1024 * 1024  # a length above this is damage, not a record
SEGMENT_SUFFIX = ".wal"
COMMITTED_FILE = "committed"
LOCK_FILE = "lock"

_KINDS: tuple[type, ...] = (ConvertedEvent, AccountStateRow, AccountRow)
_KIND_OF = {cls: number for number, cls in enumerate(_KINDS)}
_DECODERS = [msgspec.msgpack.Decoder(cls) for cls in _KINDS]
_ENVELOPE = msgspec.msgpack.Decoder(tuple[int, msgspec.Raw])


class JournalError(RuntimeError):
    """The journal cannot be used (e.g. its directory is not writable); the message names the path."""


@dataclass(frozen=True)
class Record:
    seq: int
    item: WriteItem


class Journal:
    def __init__(self, directory: Path, *, fsync_delay_ms: float = 3.0, segment_max_bytes: int = 64 * 1024 * 1024,
                 fsync: bool = True) -> None:
        self.directory = Path(directory)
        self._fsync_delay = fsync_delay_ms / 1000
        self._segment_max = segment_max_bytes
        self._fsync_enabled = fsync
        self._encoder = msgspec.msgpack.Encoder()
        self._fd: int | None = None
        self._segment_size = 0
        self._segments: list[tuple[int, Path]] = []  # (first seq, path), oldest first; the last is the active one
        self._next_seq = 1
        self._committed = 0
        self._written_seq = 0  # highest seq written to the page cache
        self._durable_seq = 0  # highest seq fsynced (read by anyone, set by the sync thread)
        self._cond = threading.Condition()
        # NautilusTrader 1.231.0 runs clock-timer callbacks (a strategy's submit_order, hence OrderInitialized) on a
        # Rust thread, so appends can come from two threads at once: one at a time keeps records whole.
        self._append_lock = threading.Lock()
        self._sync_waiting = False  # the sync thread sleeps until an append notifies it
        self._record = bytearray()  # reused for every record (header, then the payload encoded in place)
        self._to_close: list[int] = []  # full segments' fds: the sync thread fsyncs and closes them
        self._new_dir_entry = False  # a segment was created: the directory needs an fsync too
        self._sync_thread: threading.Thread | None = None
        self._closing = False
        self._lock_fd: int | None = None
        self.fsyncs = 0
        self.bytes_cut = 0

    # -- opening: recovery -----------------------------------------------------------------------------------------

    def open(self) -> list[Record]:
        """Check every segment (cutting a torn tail), start a new active segment, and return the records after the
        last committed position, in order."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._take_directory_lock()
            self._committed = self._read_committed()
            pending: list[Record] = []
            last_seq = self._committed
            for first_seq, path in self._existing_segments():
                records = self._read_segment(path)
                if records:
                    last_seq = max(last_seq, records[-1].seq)
                    pending.extend(r for r in records if r.seq > self._committed)
                    self._segments.append((first_seq, path))
                else:
                    path.unlink()
            self._next_seq = last_seq + 1
            self._written_seq = self._durable_seq = last_seq
            self._begin_segment()
            self._drop_committed_segments()
        except OSError as exc:
            raise JournalError(f"OMS journal {self.directory}: {exc}") from exc
        self._sync_thread = threading.Thread(target=self._sync_loop, name="oms-journal-fsync", daemon=True)
        self._sync_thread.start()
        if pending:
            log.warning("OMS journal %s: %d items not yet in PostgreSQL from an earlier run (after position %d); "
                        "writing them again", self.directory, len(pending), self._committed)
        return pending

    def _take_directory_lock(self) -> None:
        """One process per journal: a second one (a second node with this trader id on this host) is refused."""
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise JournalError(f"OMS journal {self.directory} is in use by another process (pid {holder})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _existing_segments(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.glob(f"*{SEGMENT_SUFFIX}"):
            try:
                found.append((int(path.stem), path))
            except ValueError:
                log.warning("OMS journal %s: ignoring %s (not a segment name)", self.directory, path.name)
        return sorted(found)

    def _read_segment(self, path: Path) -> list[Record]:
        data = path.read_bytes()
        if data[:len(MAGIC)] != MAGIC and not (len(data) < len(MAGIC) and MAGIC.startswith(data)):
            raise JournalError(f"OMS journal segment {path} does not start with {MAGIC!r}: not a journal file")
        records, valid_end, damage = _parse(data)
        if damage is not None:
            cut = len(data) - valid_end
            log.error("OMS journal segment %s: %s at offset %d; cut %d bytes (a write torn by a crash; every record "
                      "before it is kept)", path.name, damage, valid_end, cut)
            os.truncate(path, valid_end)
            self.bytes_cut += cut
        return records

    def _read_committed(self) -> int:
        path = self.directory / COMMITTED_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return 0
        if len(data) == _COMMITTED.size:
            seq, crc = _COMMITTED.unpack(data)
            if zlib.crc32(_SEQ.pack(seq)) == crc:
                return seq
        log.error("OMS journal %s: damaged committed position; every record in the journal is written again",
                  path)
        return 0

    # -- appending (event loop) ------------------------------------------------------------------------------------

    def append(self, item: WriteItem) -> int:
        """Write ``item`` to the journal (page cache now, fsync within ``fsync_delay_ms``); returns its seq.

        Safe from any thread (see ``_append_lock``)."""
        with self._append_lock:
            return self._append(item)

    def _append(self, item: WriteItem) -> int:
        if self._fd is None:
            raise JournalError("OMS journal is not open")
        seq = self._next_seq
        record = self._record
        del record[_HEADER.size:]
        self._encoder.encode_into((_KIND_OF[type(item)], item), record, _HEADER.size)
        size = len(record)
        _HEADER.pack_into(record, 0, size - _HEADER.size,
                          zlib.crc32(memoryview(record)[_HEADER.size:], zlib.crc32(_SEQ.pack(seq))), seq)
        if self._segment_size + size > self._segment_max and self._segment_size > len(MAGIC):
            self._rotate(seq)
        written = os.write(self._fd, record)
        while written < size:  # a short write (rare: a signal, a full disk) continues where it stopped
            written += os.write(self._fd, memoryview(record)[written:])
        self._segment_size += size
        self._next_seq = seq + 1
        self._written_seq = seq
        if not self._fsync_enabled:
            self._durable_seq = seq
        elif self._sync_waiting:  # wake the sync thread only when it sleeps (a lock per append costs)
            with self._cond:
                self._cond.notify()
        return seq

    def _begin_segment(self) -> None:
        path = self.directory / f"{self._next_seq:020d}{SEGMENT_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        os.write(fd, MAGIC)
        self._fd = fd
        self._segment_size = len(MAGIC)
        self._segments.append((self._next_seq, path))
        with self._cond:
            self._new_dir_entry = True

    def _rotate(self, next_seq: int) -> None:
        assert self._fd is not None
        with self._cond:
            self._to_close.append(self._fd)
        self._fd = None
        self._begin_segment()
        self._drop_committed_segments()

    # -- the database side -----------------------------------------------------------------------------------------

    def mark_committed(self, seq: int) -> None:
        """Every record up to ``seq`` is in PostgreSQL: remember it and delete the segments that hold nothing else."""
        if seq <= self._committed:
            return
        self._committed = seq
        path = self.directory / COMMITTED_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(_COMMITTED.pack(seq, zlib.crc32(_SEQ.pack(seq))))
        os.replace(temporary, path)
        self._drop_committed_segments()

    def _drop_committed_segments(self) -> None:
        # A segment is done when the next one starts at or before committed + 1; the active (last) one never is.
        while len(self._segments) > 1 and self._segments[1][0] <= self._committed + 1:
            _, path = self._segments.pop(0)
            path.unlink(missing_ok=True)

    @property
    def committed_seq(self) -> int:
        return self._committed

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    @property
    def pending(self) -> int:
        """Items in the journal that PostgreSQL does not have yet."""
        return self._next_seq - 1 - self._committed

    @property
    def durable_seq(self) -> int:
        return self._durable_seq

    def read_from(self, seq: int, limit: int) -> list[Record]:
        """Up to ``limit`` records with seq >= ``seq`` (for a writer that keeps only part of its backlog in memory)."""
        result: list[Record] = []
        for index, (_, path) in enumerate(self._segments):
            if index + 1 < len(self._segments) and self._segments[index + 1][0] <= seq:
                continue  # every record of this segment is older
            for record in _records_in(path):
                if record.seq >= seq:
                    result.append(record)
                    if len(result) >= limit:
                        return result
        return result

    # -- durability ------------------------------------------------------------------------------------------------

    def _sync_loop(self) -> None:
        while True:
            with self._cond:
                # waiting is set before the check: an append that saw it unset wrote its seq before the check
                self._sync_waiting = True
                while self._written_seq == self._durable_seq and not self._to_close and not self._closing:
                    self._cond.wait()
                self._sync_waiting = False
                if self._closing and self._written_seq == self._durable_seq and not self._to_close:
                    return
            time.sleep(self._fsync_delay)  # let more appends join this fsync
            self._sync_once()

    def _sync_once(self) -> None:
        with self._cond:
            target = self._written_seq
            to_close, self._to_close = self._to_close, []
            new_dir_entry, self._new_dir_entry = self._new_dir_entry, False
            fd = self._fd
        try:
            for old in to_close:
                os.fsync(old)
                os.close(old)
            if fd is not None:
                os.fsync(fd)
            if new_dir_entry:
                dir_fd = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except OSError as exc:  # the fd was closed under us at shutdown, or the disk failed: said, then retried
            if not self._closing:
                log.error("OMS journal fsync failed: %s", exc)
            return
        self.fsyncs += 1
        self._durable_seq = max(self._durable_seq, target)

    def wait_durable(self, seq: int | None = None, timeout: float = 5.0) -> bool:
        """Block (a test or shutdown helper, never the event loop) until ``seq`` (default: the last) is fsynced."""
        target = self.last_seq if seq is None else seq
        deadline = time.monotonic() + timeout
        while self._durable_seq < target:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)
        return True

    def close(self) -> None:
        """Fsync what is written, stop the sync thread and close the segment."""
        if self._sync_thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify()
            self._sync_thread.join()
            self._sync_thread = None
        if self._fd is not None:
            if self._fsync_enabled:
                os.fsync(self._fd)
                self._durable_seq = self._written_seq
            os.close(self._fd)
            self._fd = None
        for fd in self._to_close:
            os.close(fd)
        self._to_close = []
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None


def _records_in(path: Path) -> list[Record]:
    """The complete records of a segment (up to the first incomplete one: a segment being appended to)."""
    try:
        return _parse(path.read_bytes())[0]
    except FileNotFoundError:
        return []


def _parse(data: bytes) -> tuple[list[Record], int, str | None]:
    """The valid records of a segment's bytes, where the valid part ends, and why it ends there (None: at the end)."""
    if len(data) < len(MAGIC):
        return [], 0, "torn segment header"
    records: list[Record] = []
    offset = len(MAGIC)
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            return records, offset, "torn record header"
        length, crc, seq = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if length > MAX_RECORD_BYTES or end > len(data):
            return records, offset, "record cut short"
        payload = data[offset + _HEADER.size:end]
        if zlib.crc32(payload, zlib.crc32(_SEQ.pack(seq))) != crc:
            return records, offset, "checksum mismatch"
        try:
            kind, raw = _ENVELOPE.decode(payload)
            records.append(Record(seq, _DECODERS[kind].decode(raw)))
        except (msgspec.DecodeError, msgspec.ValidationError, IndexError) as exc:
            return records, offset, f"undecodable record ({exc})"
        offset = end
    return records, offset, None
