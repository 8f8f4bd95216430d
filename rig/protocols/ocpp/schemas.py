"""A charger's payloads held against the OCA JSON schemas (as the ``ocpp`` package ships them), every violation kept.

The package validates to refuse: the first error becomes a CALLERROR and
the frame is gone. A judge validates to record: every violation of every
frame is a finding, and the frame is still handled. ``violations`` uses the
package's own schema files and loader (``ocpp.messages.get_validator``), so
the rig and the package never disagree on what the schema is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ocpp
from jsonschema import Draft4Validator
from ocpp.messages import get_validator

from rig.protocols.ocpp.frames import CALL, CALLRESULT, Version


def _unsuffixed(action: str, version: Version) -> Draft4Validator | None:
    """A 2.1 message whose schema the package ships without the ``Request`` suffix its loader looks for (a SEND:
    ``NotifyPeriodicEventStream.json``), or None."""
    if version != "2.1":
        return None
    path = Path(ocpp.__file__).parent / "v21" / "schemas" / f"{action}.json"
    if not path.is_file():
        return None
    return Draft4Validator(json.loads(path.read_text(encoding="utf-8-sig")))


def violations(version: Version, type_id: int, action: str, payload: Any) -> list[str]:
    """Each way ``payload`` breaks its schema (a CALL's request, or the CALLRESULT answering ``action``), as
    ``path: message``; an action the version does not have is one violation saying so."""
    if type_id not in (CALL, CALLRESULT):
        raise ValueError("only CALL and CALLRESULT payloads have schemas")
    try:
        validator = get_validator(type_id, action, version)
    except (OSError, ValueError):
        validator = _unsuffixed(action, version) if type_id == CALL else None
        if validator is None:
            return [f"{action}: no such action in OCPP {version}"]
    found = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(payload)"
        found.append(f"{where}: {error.message}")
    return found
