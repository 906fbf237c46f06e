"""Files to indexed chunks: discover, parse, chunk, diff against the store, embed what changed, write."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from filelock import Timeout as LockTimeout

from ingest.chunker import chunk_record
from ingest.parser import parse_file
from rag.errors import ConflictError, IrchatError, LockError, ParseError
from rag.index import Index, SearchRepair
from rag.types import Chunk, Record

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf")
# Changed chunks are embedded this many at a time across records: big enough for length-sorted batches,
# small enough that a long ingest writes as it goes.
EMBED_GROUP = 256


@dataclass
class FileError:
    """A file that could not be ingested (or a warning about one), with what is wrong."""

    file: str
    error: str


@dataclass
class IngestReport:
    """Counts of one ingest run; ``errors`` lists the files that were skipped."""

    files: int = 0
    records: int = 0
    pairs: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0
    chunks_truncated: int = 0
    """Chunks the embedding model cut short at its token limit (the chunker splits them, so normally 0)."""
    chunks_relinked: int = 0
    """Chunks a search with their own vector no longer found after this run's writes, added again (normally 0)."""
    errors: list[FileError] = field(default_factory=list)
    warnings: list[FileError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``irchat ingest --json`` shape."""
        return asdict(self)


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileError]]:
    """Record files under ``paths`` (folders recursively, hidden entries skipped), each once, in order.

    Symlinked folders are followed, each real folder walked once, so a link back to a parent (a loop)
    ends the walk there instead of going round forever. Unreadable entries are reported, not skipped."""
    found: list[Path] = []
    errors: list[FileError] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        try:
            real = p.resolve(strict=True)
        except RuntimeError:  # Python < 3.13 reports a symlink loop this way
            errors.append(FileError(str(p), "cannot be read: symlink loop (the link leads back to itself)"))
            return
        except OSError as e:
            errors.append(FileError(str(p), _os_reason(e)))
            return
        if real not in seen:
            seen.add(real)
            found.append(p)

    def walk_error(e: OSError) -> None:
        errors.append(FileError(str(e.filename or "?"), f"cannot read folder: {e.strerror or e}"))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            walked: set[Path] = set()
            for root, dirs, files in os.walk(path, onerror=walk_error, followlinks=True):
                real_root = Path(root).resolve()
                if real_root in walked:  # reached again through a symlink: a loop or a second route
                    dirs[:] = []
                    continue
                walked.add(real_root)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and name.lower().endswith(SUPPORTED_SUFFIXES):
                        add(Path(root) / name)
        elif path.exists() or path.is_symlink():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                add(path)
            else:
                errors.append(
                    FileError(str(path), f"unsupported file type {path.suffix!r}: expected .txt, .docx or .pdf")
                )
        else:
            errors.append(FileError(str(path), "no such file or folder"))
    return found, errors


def embedded_texts(chunks: Sequence[Chunk]) -> list[str]:
    """What the ingest embeds for ``chunks``, vectors in this order: their texts, then each distinct answer by itself
    (``Chunk.answer_alone``) and sentence of what was said (``Chunk.said``), which the answer model compares with a
    question apart (rag/answering/features.py): embedded in the same call, those vectors are in the embedding cache
    before anyone asks."""
    texts = [c.text for c in chunks]
    whole = set(texts)  # a record's one-line metadata chunk is its own one sentence
    apart = [a for c in chunks if (a := c.answer_alone)] + [s for c in chunks for s in c.said]
    return texts + [t for t in dict.fromkeys(apart) if t not in whole]


def _os_reason(e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "cannot be read: symlink loop (too many levels of symbolic links)"
    return f"cannot be read: {e.strerror or e}"


@dataclass(frozen=True)
class _Holder:
    """What a record identity is already held by: a record of this batch or one in the store."""

    source: str
    source_hash: str
    fingerprint: str
    first_date: str

    @classmethod
    def of(cls, record: Record) -> _Holder:
        first = record.dates[0].isoformat() if record.dates else ""
        return cls(record.source, record.source_hash, record.fingerprint, first)


@dataclass
class _Diff:
    to_write: list[Chunk]
    stale: list[str]
    added: int
    updated: int
    unchanged: int


class Ingestor:
    """Indexes record files into the store and keeps the lexical index in step; safe to re-run."""

    def __init__(self, index: Index):
        self.index = index
        self.settings = index.settings

    def ingest(
        self,
        paths: Sequence[str | Path],
        company: str | None = None,
        on_file: Callable[[Path], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; a failing file is reported and the batch goes on."""
        files, errors = discover(paths)
        report = IngestReport(files=len(files), errors=list(errors))
        with self._locked():
            self.index.store.recover()
            interrupted = self._stale_marker.exists()  # a run killed after writing: it may have deleted
            if files:
                self.index.check_embedder()
            parsed: list[Record] = []
            for path in files:
                try:
                    parsed.append(self._parse(path, company))
                except IrchatError as e:
                    report.errors.append(FileError(str(path), _reason(e)))
            self._adopt_company_names(parsed, company)
            parsed = self._identify(parsed, report)
            pending: list[tuple[Record, _Diff]] = []
            for record in parsed:
                path = Path(record.source)
                if on_file:
                    on_file(path)
                try:
                    pending.append((record, self._prepare_record(record, report)))
                except IrchatError as e:
                    report.errors.append(FileError(str(path), _reason(e)))
                    continue
                if sum(len(d.to_write) for _, d in pending) >= EMBED_GROUP:
                    self._flush(pending, report)
                    pending = []
            self._flush(pending, report)
            rewrote = bool(report.chunks_updated or report.chunks_removed or interrupted)
            repair = self._finish(bool(report.chunks_added) or rewrote, rewrote=rewrote)
            self._report_repair(repair, report)
        return report

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the ingest lock: one writer of the store and the lexical index at a time."""
        lock_path = self.settings.data_dir / "ingest.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(lock_path, timeout=self.settings.lock_timeout)
        try:
            lock.acquire()
        except LockTimeout as e:
            raise LockError(
                f"another ingest holds {lock_path} (waited {self.settings.lock_timeout:g} s); "
                "wait for it to finish, or raise IRCHAT_LOCK_TIMEOUT"
            ) from e
        try:
            yield
        finally:
            lock.release()

    @property
    def _stale_marker(self) -> Path:
        return self.index.stale_marker

    def _mark_lexical_stale(self) -> None:
        """Note on disk that the store is about to change: a run killed before the lexical index is
        rebuilt leaves the note, and the next run rebuilds it. (Only ids are compared otherwise, so an
        updated chunk's old text would stay in the lexical index.)"""
        marker = self._stale_marker
        if not marker.exists():
            marker.write_bytes(b"")

    def _report_repair(self, repair: SearchRepair, report: IngestReport) -> None:
        report.chunks_relinked = repair.relinked
        where = self.index.store.location
        if repair.relinked:
            report.warnings.append(
                FileError(
                    where,
                    f"{repair.relinked} chunk(s) could not be found by dense search after this run's writes (Chroma's "
                    "search graph can lose entries, chroma-core/chroma#7758); they were added again"
                    + (", and the collection rebuilt" if repair.rebuilt else ""),
                )
            )
        if repair.unreachable:
            done = "being added again" + (" and the collection rebuilt" if repair.rebuilt else "")
            report.warnings.append(
                FileError(
                    where,
                    f"{repair.unreachable} chunk(s) are not reached by dense search even after {done} "
                    "(keyword search still finds them)",
                )
            )

    def _finish(self, changed: bool, *, rewrote: bool = True) -> SearchRepair:
        """After writes: the chunks findable again by dense search, and the lexical index in step. ``rewrote``:
        the store saw updates or deletes (only those break its search graph in a way a rebuild mends)."""
        if changed or self._stale_marker.exists():
            # before the marker goes: a run killed here checks again next time
            repair = self.index.repair_search(rebuild=rewrote)
            self.index.sync_lexical()
            self._stale_marker.unlink(missing_ok=True)
            return repair
        self.index.ensure_lexical()
        return SearchRepair()

    def _parse(self, path: Path, company: str | None) -> Record:
        try:
            info = path.stat()
        except OSError as e:  # gone or unreadable since it was found
            raise ParseError(path, _os_reason(e)) from e
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or device named like a record would block the read or never end.
            raise ParseError(path, "not a regular file (a pipe, socket or device): expected a record file")
        limit = self.settings.max_file_mb * 1024 * 1024
        size = info.st_size
        if size > limit:
            raise ParseError(
                path,
                f"file is {size:,} bytes ({size / 1048576:.1f} MiB), over the {self.settings.max_file_mb:g} MiB "
                "limit (IRCHAT_MAX_FILE_MB)",
            )
        return parse_file(path, company=company)

    def _adopt_company_names(self, records: list[Record], company: str | None) -> None:
        """A record that prints no company name takes the name its company's other records print."""
        if company:
            return
        known = {r.stock_code: r for r in records if r.stock_code and not _name_from_folder(r)}
        for record in records:
            if not record.stock_code or not _name_from_folder(record):
                continue
            donor = known.get(record.stock_code)
            if donor is None:
                stored = self.index.store.get(where={"kind": "record", "stock_code": record.stock_code})
                donor_chunk = next((c for c in stored if c.company != record.company), None)
                if donor_chunk is None:
                    continue
                record.company, record.short_name = donor_chunk.company, donor_chunk.short_name
            else:
                record.company, record.short_name = donor.company, donor.short_name

    def _prepare_record(self, record: Record, report: IngestReport) -> _Diff:
        path = Path(record.source)
        for warning in record.warnings:
            report.warnings.append(FileError(str(path), warning))
        chunks = chunk_record(record, self.index.embedder.count_tokens, self.index.embedder.max_tokens)
        return self._diff(record, chunks)

    def _flush(self, pending: list[tuple[Record, _Diff]], report: IngestReport) -> None:
        """Embed the changed chunks of several records in one call (the embedder sorts by length across
        them, which per-record calls cannot), then write record by record."""
        chunks = [c for _, diff in pending for c in diff.to_write]
        embedder = self.index.embedder
        truncated = getattr(embedder, "truncated", 0)
        try:
            vectors = embedder.embed_passages(embedded_texts(chunks))[: len(chunks)] if chunks else None
        except IrchatError as e:
            report.errors += [FileError(r.source, _reason(e)) for r, _ in pending]
            return
        truncated = getattr(embedder, "truncated", 0) - truncated
        if truncated:
            report.chunks_truncated += truncated
            report.warnings.append(
                FileError(
                    ", ".join(r.source for r, _ in pending),
                    f"{truncated} chunk(s) over the embedding model's {embedder.max_tokens} tokens were truncated: "
                    "dense search does not see their ends",
                )
            )
        offset = 0
        for record, diff in pending:
            n = len(diff.to_write)
            mine = vectors[offset : offset + n] if n else None
            offset += n
            try:
                if n or diff.stale:
                    self._mark_lexical_stale()
                if n:
                    self.index.store.upsert(diff.to_write, mine)
                # Stale parts go only after the new ones are in: a crash in between leaves extra, never
                # missing, chunks.
                if diff.stale:
                    self.index.store.delete(diff.stale)
            except IrchatError as e:
                report.errors.append(FileError(record.source, _reason(e)))
                continue
            report.records += 1
            report.pairs += len(record.pairs)
            report.chunks_added += diff.added
            report.chunks_updated += diff.updated
            report.chunks_unchanged += diff.unchanged
            report.chunks_removed += len(diff.stale)

    def _identify(self, records: list[Record], report: IngestReport) -> list[Record]:
        """Give every record an identity no other meeting has, and keep each record once.

        A number the company printed on two meetings stays with the earlier one; the later is told apart by its
        date (``2021-012 (2021-11-02)``). The same record in two files (same text, or the same bytes) is indexed
        once; two different texts of one meeting under one number are a conflict."""
        taken: dict[str, _Holder] = {}
        kept: set[int] = set()
        order = {id(r): i for i, r in enumerate(records)}
        for record in sorted(records, key=lambda r: (r.dates[:1], order[id(r)])):
            try:
                if self._place(record, taken, report):
                    kept.add(id(record))
            except IrchatError as e:
                report.errors.append(FileError(record.source, _reason(e)))
        return [r for r in records if id(r) in kept]

    def _place(self, record: Record, taken: dict[str, _Holder], report: IngestReport) -> bool:
        """Settle ``record``'s identity against the batch so far and the store; False for a duplicate."""
        while True:
            in_batch = record.key in taken
            holder = taken.get(record.key) or self._stored_holder(record)
            if holder is None or (holder.source == record.source and not in_batch):
                taken[record.key] = _Holder.of(record)
                return True
            if holder.source == record.source or holder.source_hash == record.source_hash:
                return False  # the same file reached twice
            if holder.fingerprint == record.fingerprint:
                report.warnings.append(
                    FileError(
                        record.source, f"the same record as {holder.source} (same meeting, same text): indexed once"
                    )
                )
                return False
            day = record.dates[0].isoformat() if record.dates else ""
            if not day or day == holder.first_date or record.record.endswith(f"({day})"):
                name = record.short_name or record.company
                where = "is also in" if in_batch else "is already indexed from"
                quoted = f"'{record.record}'" if " " in record.record else record.record
                remove = f" (remove it first with `irchat remove {record.company_key} {quoted}`)"
                raise ConflictError(
                    f"record {record.record} of {name} {where} {holder.source}: the same company and record number "
                    f"in two different files, with different text for the same meeting{'' if in_batch else remove}"
                )
            printed = record.number or record.record
            record.warnings.append(
                f"record number {printed} is also printed on the meeting of {holder.first_date} ({holder.source}): "
                f"this meeting is identified as '{printed} ({day})'"
            )
            record.record = f"{printed} ({day})"

    def _stored_holder(self, record: Record) -> _Holder | None:
        found = self.index.store.get(ids=[f"{record.company_key}:{record.record}:meta"])
        return _Holder(found[0].source, found[0].source_hash, found[0].fingerprint, found[0].date) if found else None

    def _diff(self, record: Record, chunks: list[Chunk]) -> _Diff:
        old = self.index.store.hashes(where={"record_key": record.key})
        to_write: list[Chunk] = []
        added = updated = unchanged = 0
        for chunk in chunks:
            previous = old.get(chunk.id)
            if previous is None:
                added += 1
                to_write.append(chunk)
            elif previous != chunk.content_hash:
                updated += 1
                to_write.append(chunk)
            else:
                unchanged += 1
        new_ids = {c.id for c in chunks}
        stale = sorted(i for i in old if i not in new_ids)
        return _Diff(to_write, stale, added, updated, unchanged)

    def remove(self, company_key: str, record: str) -> int:
        """Delete every chunk of one record; returns how many were removed."""
        with self._locked():
            self.index.store.recover()
            ids = list(self.index.store.hashes(where={"record_key": f"{company_key}/{record}"}))
            if ids:
                self._mark_lexical_stale()
                self.index.store.delete(ids)
            if ids or self._stale_marker.exists():
                self._finish(bool(ids))
        return len(ids)


def _name_from_folder(record: Record) -> bool:
    """True when the parser fell back to the folder's slug (e.g. ``haitian`` of ``haitian-688787/``)."""
    folder = Path(record.source).parent.name
    return bool(record.stock_code) and folder.lower() == f"{record.company}-{record.stock_code}".lower()


def _reason(error: IrchatError) -> str:
    if isinstance(error, ParseError):
        where = f"page {error.page}: " if error.page else f"line {error.line}: " if error.line else ""
        return where + error.reason
    return str(error)
