"""The run directory, written as the run goes: every file atomic, every file in the manifest.

A certification body must be able to trust what it finds on disk after any
ending, including a crash. So nothing lives only in memory: ``results.json``
is rewritten (status "incomplete") after every case, traces are written as
they are captured, and ``manifest.json`` (the SHA-256 of every other file) is
rewritten after every write.

Each file is written to a temporary file in its own directory, fsynced and
renamed over its target, so a reader sees the old file or the new one, never
half of one. Each file is hashed once, when it is written; the manifest is
built from those remembered hashes, never by rehashing the tree, so a later
write cannot launder a file that was changed behind the writer's back.

One residual window is unavoidable with two files and no journal: a crash
between renaming a file into place and rewriting the manifest leaves that
one file unlisted or changed, which ``rig verify`` then names.

One writer per run directory; the classes here are not thread-safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from rig.errors import RigInputError
from rig.results import CaseResult, RunInfo, RunResults, RunStatus

MANIFEST = "manifest.json"
RESULTS = "results.json"
TRACES_DIR = "traces"
HASH_ALGORITHM = "sha256"

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


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


def read_manifest(run_dir: Path) -> dict[str, str]:
    """The ``files`` map of a run's manifest.json: relative POSIX path -> hex SHA-256.

    Raises ``RigInputError`` naming the problem when the manifest is missing,
    is not JSON, or does not have the ``{"algorithm": "sha256", "files": {...}}`` shape.
    """
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
    return dict(files)


def read_results(run_dir: Path) -> RunResults:
    """The run's results.json, validated against the contract in ``rig.results``."""
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
    if path.as_posix() in (MANIFEST, RESULTS):
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


def _replace_atomically(target: Path, write: Callable[[BinaryIO], object]) -> str:
    """Write ``target`` through ``write`` via temp file + fsync + rename; returns the new SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # os.open, not mkstemp: evidence files get the umask's usual permissions, not 0600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        digest = sha256_file(tmp)
        os.replace(tmp, target)
    except BaseException:  # includes Ctrl-C: never leave a temp file behind
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return digest


class EvidenceDir:
    """Atomic writes into a run directory, each one followed by a rewritten manifest.json."""

    def __init__(self, run_dir: Path, hashes: dict[str, str]) -> None:
        self.run_dir = run_dir
        self._hashes = hashes

    @classmethod
    def open(cls, run_dir: Path) -> EvidenceDir:
        """Add files to an existing run (e.g. a rebuilt report), keeping its manifest's hashes.

        The hashes come from manifest.json, not from the files on disk, so a
        file altered since it was written stays detectable after the new writes.
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

    def _commit(self, relpath: str, write: Callable[[BinaryIO], object]) -> str:
        self._hashes[relpath] = _replace_atomically(self.run_dir / relpath, write)
        self._write_manifest()
        return relpath

    def _write_manifest(self) -> None:
        data = _json_bytes({"algorithm": HASH_ALGORITHM, "files": dict(sorted(self._hashes.items()))})
        _replace_atomically(self.run_dir / MANIFEST, lambda file: file.write(data))


class RunRecorder(EvidenceDir):
    """The run's records (results.json, traces) on top of the evidence directory.

    ``results.json`` always holds ``RunResults.model_dump(mode="json")`` of
    everything recorded so far, with status "incomplete" until ``finish``.
    """

    def __init__(self, run_dir: Path, results: RunResults) -> None:
        super().__init__(run_dir, {})
        self._results = results

    @classmethod
    def create(cls, out_dir: Path, run: RunInfo) -> RunRecorder:
        """Start a run in ``out_dir`` (the run directory itself), which must be new or empty."""
        if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
            raise RigInputError(
                f"{out_dir}: run directory already exists and is not empty; "
                "choose a new output directory so no earlier evidence is overwritten"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        recorder = cls(out_dir, RunResults(run=run.model_copy(update={"status": "incomplete"})))
        recorder._write_results()
        return recorder

    @property
    def results(self) -> RunResults:
        """A copy of what results.json holds."""
        return self._results.model_copy(deep=True)

    def trace_path(self, case_id: str, name: str, suffix: str = ".parquet") -> Path:
        """Where a case's trace goes: ``traces/<case id>/<name><suffix>``, names made safe."""
        return self.run_dir / TRACES_DIR / safe_file_name(case_id) / f"{safe_file_name(name)}{suffix}"

    def write_trace(
        self, case_id: str, name: str, frame: pd.DataFrame, metadata: dict[str, str] | None = None
    ) -> str:
        """Write a trace as Parquet, ``metadata`` in the schema; returns its path relative to the run."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if metadata:
            extra = {key.encode("utf-8"): value.encode("utf-8") for key, value in metadata.items()}
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        relpath = self.trace_path(case_id, name).relative_to(self.run_dir).as_posix()
        # zstd: a third smaller than the default snappy for noisy waveforms, at the same speed.
        return self.write_stream(relpath, lambda file: pq.write_table(table, file, compression="zstd"))

    def record_case(self, result: CaseResult) -> None:
        """Append a finished case and rewrite results.json at once."""
        if any(case.id == result.id for case in self._results.cases):
            raise ValueError(f"case {result.id!r} is already recorded in {self.run_dir / RESULTS}")
        self._results.cases.append(result)
        self._write_results()

    def finish(self, status: RunStatus, reason: str | None, sim_seconds: float, wall_seconds: float) -> None:
        """Close the run record: finished time, status, reason, durations and speedup."""
        self._results.run = RunInfo.model_validate(
            {
                **self._results.run.model_dump(),
                "finished": utc_now_iso(),
                "status": status,
                "reason": reason,
                "sim_seconds": sim_seconds,
                "wall_seconds": wall_seconds,
                "speedup": sim_seconds / wall_seconds if wall_seconds > 0 else None,
            }
        )
        self._write_results()

    def _write_results(self) -> None:
        data = _json_bytes(self._results.model_dump(mode="json"))
        self._commit(RESULTS, lambda file: file.write(data))


def _json_bytes(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
