"""A charger's payloads held against the OCA JSON schemas (as the ``ocpp`` package ships them), every violation kept.

The package validates to refuse: the first error becomes a CALLERROR and
the frame is gone. A judge validates to record: every violation of every
frame is a finding, and the frame is still handled. ``violations`` uses the
package's own schema files and loader (``ocpp.messages.get_validator``), so
the rig and the package never disagree on what the schema is.
"""

from __future__ import annotations

from typing import Any

from ocpp.messages import get_validator

from rig.protocols.ocpp.frames import CALL, CALLRESULT, Version


def violations(version: Version, type_id: int, action: str, payload: Any) -> list[str]:
    """Each way ``payload`` breaks its schema (a CALL's request, or the CALLRESULT answering ``action``), as
    ``path: message``; an action the version does not have is one violation saying so."""
    if type_id not in (CALL, CALLRESULT):
        raise ValueError("only CALL and CALLRESULT payloads have schemas")
    try:
        validator = get_validator(type_id, action, version)
    except (OSError, ValueError):
        return [f"{action}: no such action in OCPP {version}"]
    found = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(payload)"
        found.append(f"{where}: {error.message}")
    return found
