"""The OCPP 2.0.1 suite end to end on the simulated lab: the compliant charger passes every case of both plans,
each defective one fails exactly the cases that judge its defect, every frame is evidence, and every payload the
rig sends (its CALLs and its answers) holds to the OCA 2.0.1 schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from campaign_helpers import ROOT, VERDICTS_ONLY, assert_exact_verdicts, cases_of, profiles_exercising, run_cases
from rig.core.clock import RealClock
from rig.evidence.verify import verify_run
from rig.protocols.ocpp.frames import CALL, CALLRESULT
from rig.protocols.ocpp.schemas import violations
from rig.suites.ocpp.central_system201 import Answers201, CentralSystem201

pytestmark = pytest.mark.e2e

PLAN = ROOT / "test_plans" / "ocpp" / "ocpp201.yaml"
FRAMES = ROOT / "test_plans" / "ocpp" / "ocpp201_frames.yaml"
SMART_CHARGING = ROOT / "test_plans" / "ocpp" / "ocpp201_smart_charging.yaml"
SECURITY = ROOT / "test_plans" / "ocpp" / "ocpp201_security.yaml"
PLANS = [PLAN, FRAMES, SMART_CHARGING, SECURITY]


@pytest.fixture(scope="module")
def compliant_run(tmp_path_factory: pytest.TempPathFactory):
    return run_cases(tmp_path_factory.mktemp("ocpp201") / "run", plan=PLANS)


def test_the_compliant_charger_passes_every_case_with_no_schema_violation(compliant_run) -> None:
    cases = cases_of(compliant_run)
    assert {c.verdict for c in cases.values()} == {"pass"}, {c.id: (c.measured, c.error) for c in cases.values()
                                                            if c.verdict != "pass"}
    assert len([c for c in cases if c.startswith("TC_")]) >= 40
    assert all(c.measured["schema_violations"] == 0 for c in cases.values())
    boot = cases["TC_B_01_CS"].measured
    assert boot["boot_after_power_s"] == 8.0 and boot["heartbeat_gap_min_s"] == boot["heartbeat_gap_max_s"] == 300.0
    assert cases["TC_B_02_CS"].measured["retry_after_s"] == 120.0


def test_every_frame_is_evidence_and_the_report_lists_the_cases_in_octt_order(compliant_run) -> None:
    run_dir = compliant_run.recorder.run_dir
    assert verify_run(run_dir).ok
    lines = [json.loads(line) for line in (run_dir / "traces" / "TC_E_03_CS" / "frames.jsonl").read_text().splitlines()]
    sent = [json.loads(line["text"]) for line in lines if line["direction"] == "charger->rig"]
    assert sent[0][2] == "BootNotification" and sent[0][3]["reason"] == "PowerUp"
    events = [frame[3] for frame in sent if frame[0] == 2 and frame[2] == "TransactionEvent"]
    assert [e["seqNo"] for e in events] == list(range(len(events))) and events[-1]["eventType"] == "Ended"
    html = (run_dir / "report.html").read_text()
    assert "OCPP 2.0.1 conformance" in html and html.index("TC_B_01_CS") < html.index("TC_C_02_CS")
    assert "Cold Boot Charging Station - Pending" in html


def test_the_meter_is_judged_against_the_battery_emulators_energy(compliant_run) -> None:
    """TransactionEvent Ended - Started (Energy.Active.Import.Register) against the energy the rig measured."""
    case = cases_of(compliant_run)["TC_E_03_CS"]
    assert abs(case.measured["meter_error_percent"]) < 0.5
    assert 0 < case.uncertainty["meter_error_percent"].expanded < 1.0
    assert case.measured["current_while_available_a"] < 0.5
    assert case.measured["transaction_event_seq_errors"] == 0.0


@pytest.mark.parametrize(("profile", "expected"), profiles_exercising("ocpp201"))
def test_each_defective_charger_fails_exactly_the_cases_that_judge_it(tmp_path: Path, profile: Path,
                                                                      expected: dict[str, str]) -> None:
    results = run_cases(tmp_path / "run", plan=PLANS, dut=profile, evidence=VERDICTS_ONLY).recorder.results
    assert_exact_verdicts(results, expected)


def test_a_stale_end_reading_fails_on_the_measurement_alone(tmp_path: Path) -> None:
    run = run_cases(tmp_path / "run", plan=PLAN, ids=["TC_E_04_CS"], dut=ROOT / "fixtures" / "duts" /
                    "ocpp201-ended-meter-stale.yaml", evidence=VERDICTS_ONLY)
    case = cases_of(run)["TC_E_04_CS"]
    assert case.verdict == "fail" and case.measured["meter_error_percent"] < -2.0
    assert all(case.measured[name] == 1.0 for name in case.limits if name not in (
        "meter_error_percent", "meter_sample_error_percent", "schema_violations", "transaction_event_seq_errors"))


def test_limits_reported_but_not_followed_fail_on_the_measurement_alone(tmp_path: Path) -> None:
    """K01 and K08 at the battery emulator: every message of TC_K_01 is right, the power is not."""
    run = run_cases(tmp_path / "run", plan=SMART_CHARGING, ids=["TC_K_01_CS"], dut=ROOT / "fixtures" / "duts" /
                    "ocpp201-exceeds-charging-limit.yaml", evidence=VERDICTS_ONLY)
    case = cases_of(run)["TC_K_01_CS"]
    assert case.verdict == "fail" and case.measured["schedule_deviation"] > 1000.0
    assert all(case.measured[name] == 1.0 for name in case.limits if name not in (
        "schedule_deviation", "schema_violations", "transaction_event_seq_errors"))


def test_the_composite_schedule_is_judged_against_the_power_that_flowed(compliant_run) -> None:
    stacked = cases_of(compliant_run)["TC_K_40_CS"]
    assert stacked.measured["schedule_deviation"] < 50.0
    assert 0 < stacked.uncertainty["schedule_deviation"].expanded < 50.0


def _calls_of(plan: Path) -> list[tuple[str, str, dict]]:
    data = yaml.safe_load(plan.read_text())
    return [(case["id"], step["action"], step.get("payload", {})) for case in data["cases"]
            for step in case.get("params", {}).get("steps", []) if step["do"] == "call"]


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.stem)
def test_every_call_the_plans_send_holds_to_the_schema(plan: Path) -> None:
    answers = Answers201(CentralSystem201(heartbeat_interval_s=300, id_tags={}), RealClock())
    answers.transaction_id = "SIM-0001-1"
    broken = {(case, action): found for case, action, payload in _calls_of(plan)
              if (found := violations("2.0.1", CALL, action, answers.substitute(payload)))}
    assert broken == {}


def test_every_answer_of_the_rigs_csms_holds_to_the_schema() -> None:
    system = CentralSystem201(heartbeat_interval_s=300, id_tags={"RIG-VALID-01": "Accepted"})
    answers = Answers201(system, RealClock())
    token = {"idToken": "RIG-VALID-01", "type": "ISO14443"}
    asked = {"TransactionEvent": {"eventType": "Started", "timestamp": "2027-01-01T00:00:00Z",
                                  "triggerReason": "Authorized", "seqNo": 0,
                                  "transactionInfo": {"transactionId": "T-1"}, "idToken": token},
             "Authorize": {"idToken": token}}
    responders = answers.responders()
    for action, responder in responders.items():
        assert violations("2.0.1", CALLRESULT, action, responder(asked.get(action, {}))) == [], action
    assert answers.transaction_id == "T-1" and answers.substitute({"transactionId": "$transactionId"}) == \
        {"transactionId": "T-1"}
