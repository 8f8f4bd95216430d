"""``rig verify``: does a run directory still hold exactly what its manifest says?

This is the check a certification body runs on evidence it received: every
file listed in manifest.json must be on disk with the same SHA-256, and no
file may be on disk that the manifest does not list. It judges integrity
only; an incomplete run whose files are intact verifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rig.errors import RigInputError
from rig.evidence import HASH_ALGORITHM, MANIFEST, read_manifest, sha256_file


@dataclass(frozen=True)
class VerifyReport:
    """What differs between a run directory and its manifest (relative POSIX paths, sorted).

    ``problem`` says why the directory could not be checked at all (not a
    directory, manifest.json missing or unreadable); ``checked`` counts the
    files the manifest lists.
    """

    run_dir: Path
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    checked: int = 0
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and not (self.changed or self.missing or self.unlisted)


def _files_on_disk(run_dir: Path) -> set[str]:
    return {
        path.relative_to(run_dir).as_posix()
        for path in run_dir.rglob("*")
        if path.is_file() and path.relative_to(run_dir).as_posix() != MANIFEST
    }


def verify_run(run_dir: Path) -> VerifyReport:
    """Compare every file in ``run_dir`` with manifest.json; never raises for a bad run directory."""
    if not run_dir.is_dir():
        return VerifyReport(run_dir, problem=f"{run_dir}: not a directory")
    try:
        listed = read_manifest(run_dir)
    except RigInputError as error:
        return VerifyReport(run_dir, problem=str(error))
    on_disk = _files_on_disk(run_dir)
    changed = []
    for relpath in sorted(on_disk & listed.keys()):
        try:
            if sha256_file(run_dir / relpath) != listed[relpath]:
                changed.append(relpath)
        except OSError:  # unreadable now: as bad as changed
            changed.append(relpath)
    return VerifyReport(
        run_dir,
        changed=changed,
        missing=sorted(listed.keys() - on_disk),
        unlisted=sorted(on_disk - listed.keys()),
        checked=len(listed),
    )


def format_verify_report(report: VerifyReport) -> str:
    """The text ``rig verify`` prints: one line per offending file, or a one-line OK."""
    if report.problem is not None:
        return f"NOT VERIFIED: {report.problem}"
    if report.ok:
        return (
            f"OK: {report.checked} files in {report.run_dir} match {MANIFEST} "
            f"({HASH_ALGORITHM.upper()}), none missing, none unlisted\n"
            f"{MANIFEST} {HASH_ALGORITHM.upper()}: {sha256_file(report.run_dir / MANIFEST)} "
            "(compare with the digest the run printed when it finished)"
        )
    lines = [f"NOT VERIFIED: {report.run_dir} does not match its {MANIFEST}"]
    digest = HASH_ALGORITHM.upper()
    lines += [f"  changed:  {path}  (content differs from its {digest} in the manifest)" for path in report.changed]
    lines += [f"  missing:  {path}  (listed in the manifest, not on disk)" for path in report.missing]
    lines += [f"  unlisted: {path}  (on disk, not in the manifest)" for path in report.unlisted]
    return "\n".join(lines)
