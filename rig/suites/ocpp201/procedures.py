"""OCPP 2.0.1 procedures: the 1.6 suite's (cold boot, pending boot, steps as data; the rig accepts only 2.0.1
in the case and leaves the charger unpowered after it) with 2.0.1's answers, its meter reading (the
Energy.Active.Import.Register of TransactionEvent Started and Ended) and its TransactionEvent sequence judged
on the recorded frames."""

from __future__ import annotations

import functools
import json
from typing import Any

from rig.core.uncertainty import Uncertainty, expanded, normal
from rig.suites.ocpp.central_system201 import Answers201
from rig.suites.ocpp.metering import compare_transaction_events
from rig.suites.ocpp16.procedures import PROCEDURES as PROCEDURES_16, ocpp_case, script
from rig.suites.ocpp201.plan import SEQ_ERRORS
from rig.suites.platform import Procedure


def seq_errors(frames: list[Any]) -> list[tuple[str, float, Uncertainty, str]]:
    """The charger's TransactionEvents whose seqNo breaks their transaction's sequence (Started 0, each next
    event one more), counted on the frames the rig recorded."""
    expected: dict[str, int] = {}
    wrong: list[str] = []
    for frame in frames:
        if frame.direction != "charger->rig" or frame.kind != "CALL" or frame.action != "TransactionEvent":
            continue
        payload = json.loads(frame.text)[3]
        tx = payload.get("transactionInfo", {}).get("transactionId")
        want = 0 if payload.get("eventType") == "Started" else expected.get(tx, 0)
        if tx in expected or payload.get("eventType") == "Started":
            if payload.get("seqNo") != want:
                wrong.append(f"{payload.get('eventType')} {payload.get('triggerReason')} of {tx}: seqNo "
                             f"{payload.get('seqNo')}, {want} expected")
            expected[tx] = want + 1
    exact = expanded(normal("a count of recorded frames", 0.0))
    finding = "TransactionEvent seqNo: " + ("; ".join(wrong[:5]) if wrong else "every event in its sequence")
    return [(SEQ_ERRORS, float(len(wrong)), exact, finding)]


PROCEDURES = {
    "cold_boot": PROCEDURES_16["cold_boot"],
    "boot_pending": PROCEDURES_16["boot_pending"],
    "script": Procedure(ocpp_case(functools.partial(script, answers_of=Answers201, compare=compare_transaction_events,
                                                    judges=(seq_errors,))), roles=("grid", "csms")),
}
