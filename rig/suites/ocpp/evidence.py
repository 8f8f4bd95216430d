"""The frames of a case as evidence: a table (times from the case's origin), JSON lines with the raw text kept,
and every schema violation of the charger's as a finding."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

COLUMNS = ["t_s", "identity", "direction", "kind", "action", "message_id", "problems"]


def frame_evidence(frames: list[Any], t0: float) -> tuple[dict[str, pd.DataFrame], dict[str, bytes], list[str]]:
    table = pd.DataFrame([{"t_s": f.t - t0, "identity": f.identity, "direction": f.direction, "kind": f.kind,
                           "action": f.action or "", "message_id": f.message_id or "", "problems": len(f.problems)}
                          for f in frames], columns=COLUMNS)
    lines = "".join(json.dumps(f.as_json(), ensure_ascii=False) + "\n" for f in frames).encode("utf-8")
    findings = [f"{f.kind} {f.action or ''} at {f.t - t0:.3f} s breaks the schema: {p}" for f in frames
                if f.direction == "charger->rig" for p in f.problems]
    return {"frames": table}, {"frames.jsonl": lines}, findings


def schema_violations(frames: list[Any]) -> int:
    """The charger's frames that break the OCA schema (or are no frame at all)."""
    return sum(1 for f in frames if f.direction == "charger->rig" and f.problems)
