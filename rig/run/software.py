"""What software a run ran on, against the versions the rig is tested with (``constraints.txt``).

Two labs certifying with different numpy or pyvisa versions are not running the same instrument software: each
run records the version of every package the constraints file pins (and Python's), and names each one that
differs from it, so the report's first screen can say so. The constraints file is the one the README's install
uses; a checkout without it (an unusual install) says that instead of comparing.
"""

from __future__ import annotations

import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path: Path = CONSTRAINTS) -> dict[str, str] | None:
    """Package -> version from a constraints file (``name==version`` lines), None when it is missing."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    pins = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if "==" in text:
            name, _, wanted = text.partition("==")
            pins[name.strip()] = wanted.strip()
    return pins


def installed_versions(names: list[str]) -> dict[str, str | None]:
    """Each package's installed version, None when it is not installed."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def software_record(path: Path = CONSTRAINTS) -> tuple[dict[str, str], list[str]]:
    """The versions this run uses (Python and every pinned package) and how they differ from the pins."""
    pins = pinned(path)
    record = {"python": platform.python_version()}
    if pins is None:
        return record, [f"{path.name} not found: the installed versions were not compared with the tested ones"]
    differs = []
    for name, have in installed_versions(list(pins)).items():
        record[name] = have or "not installed"
        if have is None or _normalised(have) != _normalised(pins[name]):
            differs.append(f"{name} {have or 'not installed'} (tested with {pins[name]})")
    return record, differs
