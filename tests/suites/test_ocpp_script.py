"""OCPP cases as steps: how a check matches a payload, how checks are named and limited, and what a plan refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rig.suites.ocpp.player import fields_equal
from rig.suites.ocpp16.plan import ScriptCase


def script_case(steps: list[dict], **extra) -> ScriptCase:
    return ScriptCase.model_validate({"id": "X", "title": "t", "edition": "e", "clause": "c", "procedure": "script",
                                      "params": {"steps": steps, **extra.pop("params", {})}, **extra})


def test_fields_are_matched_by_dotted_path_and_present_asks_only_for_the_field() -> None:
    payload = {"connectorId": 1, "meterValue": [{"sampledValue": [{"context": "Sample.Periodic"}]}]}
    assert fields_equal(payload, {"connectorId": 1, "meterValue.0.sampledValue.0.context": "Sample.Periodic"}) == []
    assert fields_equal(payload, {"transactionId": "$present"}) == ["transactionId: got nothing, wanted \"$present\""]
    assert fields_equal(payload, {"connectorId": "$present"}) == []
    assert fields_equal(payload, {"connectorId": 2}) == ["connectorId: got 1, wanted 2"]
    assert fields_equal(payload, {"meterValue.3.x": 1}) != []  # an index past the end is missing, not an error


def test_every_check_is_limited_to_be_met_and_actions_judge_nothing() -> None:
    case = script_case([{"do": "boot", "within_s": 60}, {"do": "plug_in"},
                        {"do": "expect", "action": "StatusNotification", "within_s": 10, "label": "preparing"},
                        {"do": "wait", "s": 5}, {"do": "call", "action": "Reset", "payload": {"type": "Soft"}}])
    limits = case.limit_map()
    assert set(limits) == {"step_01_boot_boot", "preparing", "step_05_call_reset", "schema_violations"}
    assert limits["preparing"].min == 1.0 and limits["schema_violations"].max == 0.0


def test_two_checks_of_one_name_are_refused() -> None:
    with pytest.raises(ValidationError, match="two checks named"):
        script_case([{"do": "expect", "action": "Heartbeat", "within_s": 10, "label": "beat"},
                     {"do": "expect", "action": "Heartbeat", "within_s": 10, "label": "beat"}])


def test_judging_the_meter_needs_its_limit_and_only_known_limits_are_taken() -> None:
    with pytest.raises(ValidationError, match="needs a meter_error_percent limit"):
        script_case([{"do": "boot", "within_s": 60}], params={"judge_meter": True})
    with pytest.raises(ValidationError, match="not a script case's limit"):
        script_case([{"do": "boot", "within_s": 60}], limits={"speed": {"max": 1.0}})


def test_an_unknown_step_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValidationError, match="do"):
        script_case([{"do": "dance"}])


def frame(t: float, direction: str, text: str, kind: str, action: str | None = None, problems: tuple = ()):
    from types import SimpleNamespace

    return SimpleNamespace(t=t, identity="CP1", direction=direction, text=text, kind=kind, action=action,
                           message_id=None, problems=problems)


def test_the_sequence_chart_marks_broken_frames_errors_and_checks_not_met_in_their_place() -> None:
    from rig.suites.ocpp.sequence_chart import BROKEN, ERROR, FAILED, MAX_ROWS, NOTE, sequence_trace

    frames = [frame(10.0, "charger->rig", '[2,"a","BootNotification",{"chargePointVendor":"' + "v" * 30 + '"}]',
                    "CALL", "BootNotification", ("chargePointVendor: too long",)),
              frame(10.0, "rig->charger", '[3,"a",{"status":"Accepted"}]', "CALLRESULT"),
              frame(12.0, "charger->rig", '[4,"r1","NotImplemented","",{}]', "CALLERROR")]
    rows = sequence_trace(frames, 0.0, [(11.0, "step 2 no StatusNotification within 1 s")])
    assert list(rows["mark"]) == [BROKEN, 0, FAILED, ERROR] and rows["lane"][2] == NOTE
    assert "too long" in rows["label"][0] and 'status="Accepted"' in rows["label"][1]
    assert "NotImplemented" in rows["label"][3]
    flood = [frame(float(k), "charger->rig", '[2,"x","Heartbeat",{}]', "CALL", "Heartbeat") for k in range(500)]
    capped = sequence_trace(flood, 0.0, [])
    assert len(capped) == MAX_ROWS and "431 more rows" in capped["label"].iloc[-1]
