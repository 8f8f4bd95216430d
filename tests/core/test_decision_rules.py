"""Decision rules (ILAC-G8): simple acceptance judges the value; guarded acceptance narrows the limit by w = k*U."""

from __future__ import annotations

import pytest
import yaml

from campaign_helpers import DUTS, PROTECTION_PLAN, run_cases
from rig.core.decision import DecisionRule
from rig.run.engine import judge
from rig.core.results import Limit
from rig.core.uncertainty import expanded, rectangular

LIMIT = {"trip_value": Limit(min=259.9, max=264.5, unit="V")}
U_005 = {"trip_value": expanded(rectangular("resolution", 0.05 * 3 ** 0.5 / 2))}  # U = 0.05 V


def test_simple_acceptance_passes_a_value_on_the_limit_and_fails_one_beyond():
    rule = DecisionRule(rule="simple_acceptance")
    assert judge({"trip_value": 264.5}, U_005, LIMIT, rule).verdict == "pass"
    assert judge({"trip_value": 264.51}, U_005, LIMIT, rule).verdict == "fail"
    assert judge({"trip_value": 264.5}, U_005, LIMIT, rule).acceptance["trip_value"] == LIMIT["trip_value"]


def test_guarded_acceptance_cannot_decide_a_value_inside_the_limit_but_within_the_guard_band():
    rule = DecisionRule(rule="guarded_acceptance", guard_band=1.0)
    judged = judge({"trip_value": 264.47}, U_005, LIMIT, rule)
    assert judged.verdict == "error" and "cannot decide trip_value" in judged.problems[0]
    assert judge({"trip_value": 264.51}, U_005, LIMIT, rule).verdict == "fail"
    zone = judged.acceptance["trip_value"]
    assert (zone.min, zone.max) == pytest.approx((259.95, 264.45))
    assert judge({"trip_value": 264.44}, U_005, LIMIT, rule).verdict == "pass"


def test_a_judged_value_without_an_uncertainty_is_an_error_never_a_pass():
    judged = judge({"trip_value": 262.0}, {}, LIMIT, DecisionRule(rule="simple_acceptance"))
    assert judged.verdict == "error" and "without its uncertainty" in judged.problems[0]


def test_a_value_not_measured_fails():
    assert judge({"trip_value": None}, {}, LIMIT, DecisionRule(rule="simple_acceptance")).verdict == "fail"


def test_the_plans_rule_is_applied_and_recorded_end_to_end(tmp_path):
    """0.1 V inside the limit passes under simple acceptance and is undecided (an error) under a wide guard band."""
    data = yaml.safe_load(PROTECTION_PLAN.read_text())
    data["decision_rule"] = {"rule": "guarded_acceptance", "guard_band": 5.0}
    guarded = tmp_path / "guarded.yaml"
    guarded.write_text(yaml.safe_dump(data, sort_keys=False))
    case = ["g99.ov1.trip_value"]
    simple = run_cases(tmp_path / "simple", ids=case, dut=DUTS / "ov1-high-inside.yaml").recorder.results.cases[0]
    strict = run_cases(tmp_path / "guarded", ids=case, dut=DUTS / "ov1-high-inside.yaml",
                       plan=guarded).recorder.results.cases[0]
    assert simple.verdict == "pass" and strict.verdict == "error" and "cannot decide" in strict.error
    assert strict.decision_rule.rule == "guarded_acceptance" and "4.2.2" in strict.decision_rule.statement
    u = strict.uncertainty["trip_value"].expanded
    assert strict.acceptance["trip_value"].max == pytest.approx(264.5 - 5.0 * u)
    assert simple.measured["trip_value"] == pytest.approx(264.35, abs=0.03)


@pytest.mark.parametrize(("value", "statement"), [
    (264.44, "pass"),               # inside by more than U
    (264.47, "conditional pass"),   # inside, within U of the bound
    (264.53, "conditional fail"),   # outside, within U
    (264.56, "fail"),               # outside by more than U
    (259.87, "conditional fail"),   # the lower bound alike
])
def test_the_non_binary_rule_states_how_sure_each_verdict_is(value: float, statement: str):
    """ILAC-G8 4.2.3: pass / conditional pass / conditional fail / fail around each bound, w = U."""
    judged = judge({"trip_value": value}, U_005, LIMIT, DecisionRule(rule="non_binary"))
    assert judged.verdict == statement and not judged.problems


def test_a_non_binary_case_takes_its_worst_value_and_a_missing_one_fails():
    limits = {**LIMIT, "other": Limit(max=1.0)}
    u = {**U_005, "other": U_005["trip_value"]}
    rule = DecisionRule(rule="non_binary")
    assert judge({"trip_value": 262.0, "other": 0.97}, u, limits, rule).verdict == "conditional pass"
    assert judge({"trip_value": 264.53, "other": 0.97}, u, limits, rule).verdict == "conditional fail"
    assert judge({"trip_value": 262.0, "other": None}, u, limits, rule).verdict == "fail"
    assert "4.2.3" in rule.record().statement
