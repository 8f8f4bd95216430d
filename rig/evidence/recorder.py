"""The run directory, written as the run goes: every file atomic, every file in the manifest.

A certification body must be able to trust what it finds on disk after any
ending, a crash or ``kill -9`` included. So nothing lives only in memory: the
run's documents (``rig.evidence.documents``: start, one per case, stop) are
written as the run goes, traces as they are captured, and every write is
announced in the manifest journal before it lands. Nothing written is
rewritten to record the next thing, so the thousandth case costs what the
first did.

The order of each write makes a killed run tell the truth:

1. the new content goes to a temporary file in a staging directory *beside*
   the run directory (``.<run>.incoming``), is fsynced and hashed; a write cut
   off here leaves nothing in the run directory;
2. a line is appended to ``manifest.journal``: the file, its new hash and its
   previous one (none for a new file), and fsynced; a line cut off here is
   not a line (no newline), and its file never landed;
3. the temporary file is renamed into place.

So at every instant each file the journal lists matches its last hash,
except possibly the file of the last line (``pending``), which matches
either its new or its previous hash. ``rig verify`` accepts exactly that,
and nothing else, as a record cut off mid-write. When the run closes
properly, ``manifest.json`` (the SHA-256 of every other file, ``sealed``) is
written once and the journal removed; a record without a sealed manifest is
incomplete.

Each file is hashed once, when it is written; the manifest is built from
those remembered hashes, never by rehashing the tree, so a later write
cannot launder a file that was changed behind the writer's back. One writer
per run directory; the classes here are not thread-safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from rig.core.errors import EvidenceWriteError, RigInputError
from rig.core.results import CaseResult, InstrumentIdentity, RunInfo, RunResults, RunStatus
from rig.evidence.documents import (DOCUMENTS_DIR, AmendDocument, CaseDocument, Document, InstrumentsDocument,
                                    StartDocument, StopDocument, TraceDescriptor, describe_trace, document_json,
                                    document_relpath, has_documents, read_documents, read_run)

MANIFEST = "manifest.json"
JOURNAL = "manifest.journal"
"""The writes of a record not sealed yet, one JSON line each, appended (the manifest in the making)."""
RESULTS = "results.json"
TRACES_DIR = "traces"
HASH_ALGORITHM = "sha256"

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")

TRACE_ENCODING: dict[str, object] = {
    "compression": "zstd",
    "use_dictionary": False,
}
"""How traces are written to Parquet, every value kept as it was measured.

Waveform samples are noisy floats: a dictionary of distinct values never
pays (the writer builds one per column and throws it away), while byte
stream split (the bytes of each value regrouped by position) lets zstd find
the structure of sampled floats. Measured on the protection suite's traces:
a quarter of the time of zstd with dictionaries (44 ms against 175 ms for
34 MB of samples) and half the size (10 MB against 19 MB).
"""


def utc_now_iso() -> str:
    """Now as ISO 8601 UTC (``2025-11-24T14:18:03+00:00``), the form run records use."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (traces can be large)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, HASH_ALGORITHM).hexdigest()


def safe_file_name(text: str) -> str:
    """A file name made from a case id or trace name: keeps ``g99.ov2.trip_time`` readable.

    Anything outside letters, digits, ``.``, ``_`` and ``-`` becomes ``_``,
    and leading dots are dropped so a name can never be hidden, ``.`` or ``..``.
    """
    name = _UNSAFE_CHARS.sub("_", text).lstrip(".")
    if not name:
        raise RigInputError(f"cannot make a file name from {text!r}: use letters, digits, '.', '_' or '-'")
    return name


@dataclass(frozen=True)
class Pending:
    """The one file whose rename may not have landed when the writer stopped."""

    path: str
    previous: str | None
    """Its hash before this write, or None when the write created it."""


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says: the hash of every file, the pending write, whether the record was sealed."""

    files: dict[str, str]
    pending: Pending | None = None
    sealed: bool = False

    def to_json(self) -> dict[str, object]:
        pending = None if self.pending is None else {"path": self.pending.path, "previous": self.pending.previous}
        return {"algorithm": HASH_ALGORITHM, "sealed": self.sealed, "pending": pending,
                "files": dict(sorted(self.files.items()))}


def read_manifest(run_dir: Path) -> Manifest:
    """What a run's manifest says: manifest.json, and the journal of writes since (or instead, for a record
    its writer never sealed).

    A sealed manifest.json beside a journal whose every line it already
    holds is a sealed record (its writer stopped between writing the one and
    removing the other); a journal line it does not hold makes the record one
    being added to, not sealed. Raises ``RigInputError`` naming the problem
    when there is neither, or either is unreadable or not of its shape.
    """
    base = _read_manifest_file(run_dir) if (run_dir / MANIFEST).exists() else None
    entries = _read_journal(run_dir / JOURNAL) if (run_dir / JOURNAL).exists() else []
    if base is None and not entries:
        raise RigInputError(
            f"{run_dir / MANIFEST}: no manifest.json; this is not a run directory, or its manifest was removed")
    if base is not None and (not entries or (base.sealed and all(base.files.get(e.path) == e.new for e in entries))):
        return base
    files = dict(base.files) if base is not None else {}
    for entry in entries:
        files[entry.path] = entry.new
    last = entries[-1]
    return Manifest(files, Pending(last.path, last.previous), sealed=False)


@dataclass(frozen=True)
class _JournalEntry:
    path: str
    new: str
    previous: str | None


def _read_journal(path: Path) -> list[_JournalEntry]:
    """The journal's complete lines; a last line without its newline was cut off before its file was moved in."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as error:
        raise RigInputError(f"{path}: unreadable: {error}") from error
    entries = []
    for number, line in enumerate(lines[:-1], start=1):  # the last piece: empty, or a line cut off
        try:
            item = json.loads(line)
            entry = _JournalEntry(item["path"], item["sha256"], item["previous"])
        except (ValueError, KeyError, TypeError):
            raise RigInputError(f"{path}:{number}: not a journal line (path, sha256, previous)") from None
        if not (isinstance(entry.path, str) and isinstance(entry.new, str)
                and (entry.previous is None or isinstance(entry.previous, str))):
            raise RigInputError(f"{path}:{number}: not a journal line (path, sha256, previous)")
        entries.append(entry)
    return entries


def _read_manifest_file(run_dir: Path) -> Manifest:
    path = run_dir / MANIFEST
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RigInputError(
            f"{path}: no manifest.json; this is not a run directory, or its manifest was removed"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RigInputError(f"{path}: manifest.json is unreadable: {error}") from error
    if not isinstance(document, dict) or document.get("algorithm") != HASH_ALGORITHM:
        raise RigInputError(f'{path}: manifest.json must say "algorithm": "{HASH_ALGORITHM}"')
    files = document.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) for name, digest in files.items()
    ):
        raise RigInputError(f'{path}: manifest.json "files" must map relative paths to hex digests')
    pending = document.get("pending")
    if pending is not None:
        if not (isinstance(pending, dict) and isinstance(pending.get("path"), str) and pending["path"] in files
                and (pending.get("previous") is None or isinstance(pending.get("previous"), str))):
            raise RigInputError(f'{path}: manifest.json "pending" must name a listed file and its previous digest')
        pending = Pending(pending["path"], pending.get("previous"))
    sealed = document.get("sealed", False)
    if not isinstance(sealed, bool):
        raise RigInputError(f'{path}: manifest.json "sealed" must be true or false')
    return Manifest(dict(files), pending, sealed)


def read_results(run_dir: Path) -> RunResults:
    """The run's results: rebuilt from its documents (any run, a killed one included); from results.json for a
    run recorded before documents existed. Validated against the contract in ``rig.core.results``."""
    if has_documents(run_dir):
        return read_run(run_dir)
    path = run_dir / RESULTS
    try:
        return RunResults.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise RigInputError(f"{path}: no results.json; this is not a run directory") from None
    except (OSError, ValidationError) as error:
        raise RigInputError(f"{path}: results.json is unreadable: {error}") from error


def _check_relpath(relpath: str) -> str:
    """A path inside the run directory, in POSIX form; refuses absolute paths and ``..``."""
    path = PurePosixPath(relpath.replace("\\", "/"))
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise RigInputError(f"evidence path {relpath!r} must be relative and stay inside the run directory")
    if path.as_posix() in (MANIFEST, JOURNAL, RESULTS) or path.parts[0] == DOCUMENTS_DIR:
        raise RigInputError(f"{path} is written by the run recorder only")
    return path.as_posix()


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: on POSIX the directory entry needs its own fsync."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def staging_dir(run_dir: Path) -> Path:
    """Where a run's files are written before they are renamed into it: beside it, never inside."""
    return run_dir.parent / f".{run_dir.name}.incoming"


def _stage(staging: Path, name: str, write: Callable[[BinaryIO], object], *, durable: bool = True) -> tuple[Path, str]:
    """Write through ``write`` into a new file in ``staging`` (fsynced when ``durable``); returns it and its
    SHA-256."""
    tmp = staging / f"{name}.{secrets.token_hex(4)}.tmp"
    # os.open, not mkstemp: evidence files get the umask's usual permissions, not 0600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            if durable:
                os.fsync(file.fileno())
        return tmp, sha256_file(tmp)
    except BaseException:  # includes Ctrl-C: never leave a temp file behind
        tmp.unlink(missing_ok=True)
        raise


def _move_into_place(tmp: Path, target: Path, *, durable: bool = True) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    if durable:
        _fsync_dir(target.parent)


class EvidenceDir:
    """Atomic writes into a run directory, each one announced in manifest.json before it lands."""

    durable = True
    """Each write fsynced (file and directory) before the next: a record survives a power cut. A verdicts-only
    run (the rig's own tests, ``RunRequest.evidence``) leaves it to the OS: what it judges is the verdicts."""

    def __init__(self, run_dir: Path, manifest: Manifest) -> None:
        self.run_dir = run_dir
        self._hashes = dict(manifest.files)
        self._was_sealed = manifest.sealed
        self._staging = staging_dir(run_dir)

    @classmethod
    def open(cls, run_dir: Path) -> EvidenceDir:
        """Add files to an existing run (e.g. a rebuilt report), keeping its manifest's hashes.

        The hashes come from manifest.json, not from the files on disk, so a
        file altered since it was written stays detectable after the new writes.
        Call ``close`` when done: a run that was sealed is sealed again.
        """
        return cls(run_dir, read_manifest(run_dir))

    @property
    def hashes(self) -> dict[str, str]:
        """A copy of the manifest's files map as this writer knows it."""
        return dict(self._hashes)

    def write_stream(self, relpath: str, write: Callable[[BinaryIO], object]) -> str:
        """Write a file by handing a binary file object to ``write``; returns its relative path."""
        return self._commit(_check_relpath(relpath), write)

    def write_bytes(self, relpath: str, data: bytes) -> str:
        return self.write_stream(relpath, lambda file: file.write(data))

    def write_text(self, relpath: str, text: str) -> str:
        """Write UTF-8 text (a copy of a plan, bench or DUT file, a log)."""
        return self.write_bytes(relpath, text.encode("utf-8"))

    def write_json(self, relpath: str, obj: object) -> str:
        """Write a JSON document, indented so a reviewer can read and diff it."""
        return self.write_bytes(relpath, _json_bytes(obj))

    def seal(self) -> None:
        """The record is closed: manifest.json lists every file, sealed, and the journal goes."""
        self._write_manifest(Manifest(self._hashes, None, sealed=True))
        self._was_sealed = True
        journal = self.run_dir / JOURNAL
        try:
            journal.unlink(missing_ok=True)
            if self.durable:
                _fsync_dir(self.run_dir)
        except OSError as error:
            raise EvidenceWriteError(journal, error) from None
        self._remove_staging()

    def close(self) -> None:
        """Done adding files: a run that was sealed when opened is sealed again."""
        if self._was_sealed:
            self.seal()
        else:
            self._remove_staging()

    def _commit(self, relpath: str, write: Callable[[BinaryIO], object]) -> str:
        target = self.run_dir / relpath
        try:
            self._staging.mkdir(parents=True, exist_ok=True)
            tmp, digest = _stage(self._staging, target.name, write, durable=self.durable)
            previous = self._hashes.get(relpath)
            self._append_journal(relpath, digest, previous)
            self._hashes[relpath] = digest
            _move_into_place(tmp, target, durable=self.durable)
        except OSError as error:
            raise EvidenceWriteError(target, error) from None
        return relpath

    def _append_journal(self, relpath: str, digest: str, previous: str | None) -> None:
        """Announce a write: one line appended (and fsynced) to the journal, whatever the record's size."""
        line = json.dumps({"path": relpath, "sha256": digest, "previous": previous}, ensure_ascii=False) + "\n"
        path = self.run_dir / JOURNAL
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
        try:
            data = memoryview(line.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if created and self.durable:
            _fsync_dir(self.run_dir)

    def _write_manifest(self, manifest: Manifest) -> None:
        data = _json_bytes(manifest.to_json())
        target = self.run_dir / MANIFEST
        try:
            self._staging.mkdir(parents=True, exist_ok=True)
            tmp, _ = _stage(self._staging, MANIFEST, lambda file: file.write(data), durable=self.durable)
            _move_into_place(tmp, target, durable=self.durable)
        except OSError as error:
            raise EvidenceWriteError(target, error) from None

    def _remove_staging(self) -> None:
        """The staging directory goes once nothing is in flight (left alone if a crash left files in it)."""
        try:
            self._staging.rmdir()
        except OSError:
            pass


class RunRecorder(EvidenceDir):
    """The run's records (its documents, traces, and results.json as their view) on top of the evidence directory.

    Each record is a document written once (``rig.evidence.documents``); ``results.json`` holds
    ``RunResults.model_dump(mode="json")`` of them all, written when the run is finished (and amended).
    """

    def __init__(self, run_dir: Path, results: RunResults, written: int = 0) -> None:
        super().__init__(run_dir, Manifest({}))
        self._results = results
        self._written = written
        """Documents written so far (the next one's number is one more)."""
        self._descriptors: dict[str, list[TraceDescriptor]] = {}
        """Each case's traces as written, described, until its case document takes them."""

    @classmethod
    def create(cls, out_dir: Path, run: RunInfo, *, durable: bool = True) -> RunRecorder:
        """Start a run in ``out_dir`` (the run directory itself), which must be new or empty."""
        if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
            raise RigInputError(
                f"{out_dir}: run directory already exists and is not empty; "
                "choose a new output directory so no earlier evidence is overwritten"
            )
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise EvidenceWriteError(out_dir, error) from None
        recorder = cls(out_dir, RunResults(run=run.model_copy(update={"status": "incomplete"})))
        recorder.durable = durable
        recorder._write_document(StartDocument(run=recorder._results.run))
        return recorder

    @property
    def results(self) -> RunResults:
        """A copy of what the documents so far say (what results.json will hold)."""
        return self._results.model_copy(deep=True)

    def trace_path(self, case_id: str, name: str, suffix: str = ".parquet") -> Path:
        """Where a case's trace goes: ``traces/<case id>/<name><suffix>``, names made safe."""
        return self.run_dir / TRACES_DIR / safe_file_name(case_id) / f"{safe_file_name(name)}{suffix}"

    def write_trace(
        self, case_id: str, name: str, frame: pd.DataFrame, metadata: dict[str, str] | None = None,
        role: str | None = None,
    ) -> str:
        """Write a trace as Parquet, ``metadata`` in the schema; returns its path relative to the run.

        ``role``: the bench role whose instrument recorded it (None: the rig derived it); the case's document
        describes the trace (``rig.evidence.documents.TraceDescriptor``)."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if metadata:
            extra = {key.encode("utf-8"): value.encode("utf-8") for key, value in metadata.items()}
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        relpath = self.trace_path(case_id, name).relative_to(self.run_dir).as_posix()
        # Byte stream split only applies to (and only helps) float columns; text and integers keep plain encoding.
        floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
        written = self.write_stream(relpath, lambda file: pq.write_table(
            table, file, use_byte_stream_split=floats or False, **TRACE_ENCODING))
        identity = next((i.idn for i in self._results.run.instruments if i.role == role), None)
        self._descriptors.setdefault(case_id, []).append(describe_trace(written, name, frame, role, identity))
        return written

    def record_instruments(self, instruments: list[InstrumentIdentity]) -> None:
        """Record who measured (role, driver, address, *IDN?), once the bench has accepted them."""
        self._results.run = self._results.run.model_copy(update={"instruments": list(instruments)})
        self._write_document(InstrumentsDocument(instruments=list(instruments)))

    @classmethod
    def reopen(cls, run_dir: Path) -> RunRecorder:
        """Continue a closed run's record (to amend its status), keeping its manifest's hashes."""
        written = len(read_documents(run_dir)) if has_documents(run_dir) else 0
        recorder = cls(run_dir, read_results(run_dir), written)
        EvidenceDir.__init__(recorder, run_dir, read_manifest(run_dir))
        return recorder

    def record_case(self, result: CaseResult) -> None:
        """Append a finished case: its document, with the descriptors of the traces it wrote."""
        if any(case.id == result.id for case in self._results.cases):
            raise ValueError(f"case {result.id!r} is already recorded in {self.run_dir / DOCUMENTS_DIR}")
        self._write_document(CaseDocument(case=result, descriptors=self._descriptors.pop(result.id, [])))
        self._results.cases.append(result)

    def finish(self, status: RunStatus, reason: str | None, sim_seconds: float, wall_seconds: float) -> None:
        """Close the run record: the stop document (finished time, status, reason, durations and speedup), and
        results.json, the view of every document."""
        stop = StopDocument(status=status, reason=reason, finished=utc_now_iso(), sim_seconds=sim_seconds,
                            wall_seconds=wall_seconds,
                            speedup=sim_seconds / wall_seconds if wall_seconds > 0 else None)
        self._write_document(stop)
        self._results.run = RunInfo.model_validate(
            {**self._results.run.model_dump(), **stop.model_dump(exclude={"kind"})})
        self._write_results()

    def amend_status(self, status: RunStatus, reason: str) -> None:
        """Change a closed run's status and reason, keeping its times (a stop that came while it closed)."""
        self._write_document(AmendDocument(status=status, reason=reason))
        self._results.run = self._results.run.model_copy(update={"status": status, "reason": reason})
        self._write_results()

    def write_results_view(self) -> None:
        """results.json as the documents so far say (``rig report`` gives a killed run its view)."""
        self._write_results()

    def _write_document(self, document: Document) -> None:
        data = _json_bytes(document_json(document))
        self._commit(document_relpath(self._written + 1, document), lambda file: file.write(data))
        self._written += 1

    def _write_results(self) -> None:
        data = _json_bytes(self._results.model_dump(mode="json"))
        self._commit(RESULTS, lambda file: file.write(data))


def _json_text(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)


def _json_bytes(obj: object) -> bytes:
    """Strict JSON: a non-finite number (which JSON cannot hold) is a bug to surface, not to write."""
    return (_json_text(obj) + "\n").encode("utf-8")
