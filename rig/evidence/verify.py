"""``rig verify``: does a run directory still hold exactly what its manifest says?

This is the check a certification body runs on evidence it received: every
file listed in manifest.json must be on disk with the same SHA-256, and no
file may be on disk that the manifest does not list. It judges integrity,
not the verdicts: a run that was interrupted or killed verifies as an
*incomplete* record when its files are intact. The one tolerance is the
write that was in flight when a killed writer stopped (the last file its
manifest journal announced, ``pending``): it may hold its new or its previous content, nothing else
(see ``rig.evidence.recorder`` for why that is exactly what a crash can leave).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rig.core.errors import RigInputError
from rig.evidence.recorder import (HASH_ALGORITHM, JOURNAL, MANIFEST, RESULTS, Manifest, read_manifest, read_results,
                                   sha256_file)
from rig.evidence.signature import SIGNATURE


@dataclass(frozen=True)
class VerifyReport:
    """What differs between a run directory and its manifest (relative POSIX paths, sorted).

    ``problem`` says why the directory could not be checked at all (not a
    directory, manifest.json missing or unreadable); ``checked`` counts the
    files the manifest lists. ``sealed`` is False for a record its writer
    never closed (killed); ``cut_off`` names the pending write that did not
    land; ``status`` is what results.json says of the run.
    """

    run_dir: Path
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    checked: int = 0
    problem: str | None = None
    sealed: bool = False
    cut_off: str | None = None
    status: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and not (self.changed or self.missing or self.unlisted)

    @property
    def complete(self) -> bool:
        """Intact, closed by its writer, and the run itself finished."""
        return self.ok and self.sealed and self.status == "complete"


def _files_on_disk(run_dir: Path) -> set[str]:
    """Every file but the manifest, its journal and the signature over it (``rig.evidence.signature``)."""
    return {
        path.relative_to(run_dir).as_posix()
        for path in run_dir.rglob("*")
        if (path.is_file() or path.is_symlink())
        and path.relative_to(run_dir).as_posix() not in (MANIFEST, JOURNAL, SIGNATURE, f".{SIGNATURE}.tmp")
    }


def _digest(path: Path) -> str | None:
    try:
        return sha256_file(path) if path.is_file() and not path.is_symlink() else None
    except OSError:  # unreadable now: as bad as changed
        return None


def _status(run_dir: Path) -> str | None:
    """What the run's own record says of how it ended (its documents; results.json for an older run)."""
    try:
        return read_results(run_dir).run.status
    except RigInputError:
        return None


def verify_run(run_dir: Path) -> VerifyReport:
    """Compare every file in ``run_dir`` with manifest.json; never raises for a bad run directory."""
    if not run_dir.is_dir():
        return VerifyReport(run_dir, problem=f"{run_dir}: not a directory")
    try:
        manifest: Manifest = read_manifest(run_dir)
    except RigInputError as error:
        return VerifyReport(run_dir, problem=str(error))
    listed = manifest.files
    on_disk = _files_on_disk(run_dir)
    pending = manifest.pending
    changed: list[str] = []
    missing: list[str] = []
    cut_off: str | None = None
    for relpath in sorted(listed):
        actual = _digest(run_dir / relpath) if relpath in on_disk else None
        if actual == listed[relpath]:
            continue
        if pending is not None and relpath == pending.path and actual == pending.previous:
            cut_off = relpath  # the write in flight when the writer stopped: its previous content (or none)
            continue
        (changed if relpath in on_disk else missing).append(relpath)
    status = _status(run_dir) if not any(p == RESULTS or p.startswith("documents/") for p in changed) else None
    return VerifyReport(
        run_dir,
        changed=changed,
        missing=missing,
        unlisted=sorted(on_disk - listed.keys()),
        checked=len(listed),
        sealed=manifest.sealed,
        cut_off=cut_off,
        status=status,
    )


def format_verify_report(report: VerifyReport) -> str:
    """The text ``rig verify`` prints: one line per offending file, or what kind of record verified."""
    if report.problem is not None:
        return f"NOT VERIFIED: {report.problem}"
    digest = HASH_ALGORITHM.upper()
    if report.ok:
        if report.complete:
            head = f"OK: {report.checked} files in {report.run_dir} match {MANIFEST} ({digest}), none missing, none unlisted"
        else:
            why = ("the writer was cut off before it closed the record (killed?)" if not report.sealed
                   else f"the run itself is {report.status or 'of unknown status'}")
            landed = f"; the last write ({report.cut_off}) did not land" if report.cut_off else ""
            head = (f"OK, INCOMPLETE record: {report.checked} files in {report.run_dir} are consistent with "
                    f"{MANIFEST} ({digest}); {why}{landed}")
        if not (report.run_dir / MANIFEST).exists():
            return f"{head}\n(no {MANIFEST}: the record was never sealed; its files were checked against {JOURNAL})"
        return (f"{head}\n{MANIFEST} {digest}: {sha256_file(report.run_dir / MANIFEST)} "
                "(compare with the digest the run printed when it finished)")
    lines = [f"NOT VERIFIED: {report.run_dir} does not match its {MANIFEST}"]
    lines += [f"  changed:  {path}  (content differs from its {digest} in the manifest)" for path in report.changed]
    lines += [f"  missing:  {path}  (listed in the manifest, not on disk)" for path in report.missing]
    lines += [f"  unlisted: {path}  (on disk, not in the manifest)" for path in report.unlisted]
    return "\n".join(lines)
