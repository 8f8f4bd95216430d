"""A second grid code as data: IEEE 1547-2018 category II (240 V 60 Hz) through the G99 suites' own code.

`test_plans/ieee1547/` holds plans for the same suites (`g99.protection`, `g99.frequency_response`,
`g99.power_quality`) with another grid code's tables; `test_plans/campaigns/ieee1547.yaml` names them. No
suite, procedure or model is IEEE-specific: these tests load the plans with the registry's suites, run the
campaign on the simulated lab against the IEEE 1547 charger profiles, and check each case's verdict exactly.
Every value in those plans is [?] (see their comments).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from campaign_helpers import (VERDICTS_ONLY, DUTS, PROTECTION_PLAN, ROOT, assert_exact_verdicts, expectations, profiles_exercising,
                              run_cases)
from rig.config.plans import load_cases, load_plan
from rig.suites import REGISTRY, SUITES

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

PLANS = ROOT / "test_plans" / "ieee1547"
CAMPAIGN = ROOT / "test_plans" / "campaigns" / "ieee1547.yaml"
IEEE_PLANS = {"g99.protection": PLANS / "protection.yaml",
              "g99.frequency_response": PLANS / "frequency_response.yaml",
              "g99.power_quality": PLANS / "power_quality.yaml"}
G99_PLANS = {"g99.protection": PROTECTION_PLAN,
             "g99.frequency_response": ROOT / "test_plans" / "g99" / "frequency_response.yaml",
             "g99.power_quality": ROOT / "test_plans" / "g99" / "power_quality.yaml"}
COMPLIANT = DUTS / "ieee1547-compliant.yaml"


def _ids(plan: Path) -> list[str]:
    return [c["id"] for c in yaml.safe_load(plan.read_text())["cases"]]


# -- the same code path -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", sorted(IEEE_PLANS))
def test_each_plan_loads_with_the_g99_suites_own_models_and_procedures(suite: str) -> None:
    cases = load_plan(IEEE_PLANS[suite])
    model = SUITES[suite].plan
    assert cases and all(type(c.plan) is model for c in cases)
    assert all(c.suite is SUITES[suite] and c.procedure is SUITES[suite].procedures[c.case.procedure]
               for c in cases)
    plan = cases[0].plan
    assert (plan.grid.voltage_v, plan.grid.frequency_hz) == (240.0, 60.0)
    assert all(c.case.id.startswith("ieee1547.") for c in cases)


def test_no_suite_is_ieee_specific_and_the_campaign_names_the_three_plans() -> None:
    assert not [name for name in REGISTRY if "ieee" in name.lower() or "1547" in name]
    assert not [module for module in REGISTRY.values() if "ieee" in module.lower() or "1547" in module]
    campaign = load_cases([CAMPAIGN])
    assert {c.plan.suite for c in campaign} == set(IEEE_PLANS)
    assert [c.case.id for c in campaign] == [i for suite in ("g99.protection", "g99.frequency_response",
                                                              "g99.power_quality") for i in _ids(IEEE_PLANS[suite])]


def test_the_protection_plan_covers_every_category_ii_stage_with_a_trip_value_and_a_trip_time() -> None:
    ids = set(_ids(IEEE_PLANS["g99.protection"]))
    for stage in ("ov1", "ov2", "uv1", "uv2", "of1", "of2", "uf1", "uf2"):
        assert {f"ieee1547.{stage}.trip_value", f"ieee1547.{stage}.trip_time"} <= ids, stage
    assert not [i for i in ids if "rocof" in i]  # category II has no RoCoF trip stage


def test_the_plans_mark_their_values_unconfirmed() -> None:
    for plan in [*IEEE_PLANS.values(), CAMPAIGN]:
        assert "[?]" in plan.read_text(), plan.name


# -- which profiles run with which plans ----------------------------------------------------------------


def _stems(params: list) -> set[str]:
    return {p.values[0].stem for p in params}


def test_60_hz_profiles_are_exercised_only_with_the_ieee_plans_and_50_hz_ones_only_with_g99() -> None:
    for suite in IEEE_PLANS:
        ieee, g99 = _stems(profiles_exercising(suite, IEEE_PLANS[suite])), _stems(profiles_exercising(suite, G99_PLANS[suite]))
        assert all(stem.startswith("ieee1547-") for stem in ieee), ieee
        assert not [stem for stem in g99 if stem.startswith("ieee1547-")], g99
    assert {"ieee1547-of2-slow", "ieee1547-uv1-category-i", "ieee1547-enters-service-early"} <= \
        _stems(profiles_exercising("g99.protection", IEEE_PLANS["g99.protection"]))
    assert "ieee1547-droop-10pct" in _stems(profiles_exercising("g99.frequency_response",
                                                                IEEE_PLANS["g99.frequency_response"]))
    assert set(expectations(COMPLIANT)["exercises"]) == set(IEEE_PLANS)


# -- verdicts on the simulated lab --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compliant_campaign(tmp_path_factory):
    return run_cases(tmp_path_factory.mktemp("ieee1547") / "run", plan=CAMPAIGN, dut=COMPLIANT)


def test_the_compliant_charger_passes_the_whole_ieee_1547_campaign(compliant_campaign) -> None:
    results = compliant_campaign.recorder.results
    assert results.run.status == "complete"
    expected = [i for plan in IEEE_PLANS.values() for i in _ids(plan)]
    assert sorted(c.id for c in results.cases) == sorted(expected)
    assert {c.id: c.verdict for c in results.cases if c.verdict != "pass"} == {}
    assert {c.suite for c in results.cases} == set(IEEE_PLANS)


def test_the_compliant_charger_clears_at_the_ieee_clearing_times(compliant_campaign) -> None:
    """The 0.16 s stages within 2 cycles of 0.16 s, the 300 s ones after the 299 s ride-through; enters
    service after 300 s."""
    cases = {c.id: c for c in compliant_campaign.recorder.results.cases}
    for stage in ("ov2", "uv2", "of2", "uf2"):
        assert 0.127 <= cases[f"ieee1547.{stage}.trip_time"].measured["trip_time_s"] <= 0.193
    for stage in ("of1", "uf1"):
        assert 299.0 <= cases[f"ieee1547.{stage}.trip_time"].measured["trip_time_s"] <= 303.0
    assert 300.0 <= cases["ieee1547.enter_service.after_trip"].measured["reconnection_time_s"] <= 303.0


def _ieee_profiles() -> list:
    """The defective IEEE profiles (the compliant one is judged by the whole campaign above)."""
    return [pytest.param(suite, *p.values, id=f"{suite}-{p.id}")
            for suite in sorted(IEEE_PLANS) for p in profiles_exercising(suite, IEEE_PLANS[suite])
            if p.id != COMPLIANT.stem]


def test_there_is_a_defective_ieee_profile_for_the_protection_and_the_frequency_response_suites() -> None:
    suites = {p.values[0] for p in _ieee_profiles() if p.values[2]}
    assert {"g99.protection", "g99.frequency_response"} <= suites


@pytest.mark.parametrize(("suite", "profile", "expected"), _ieee_profiles())
def test_each_ieee_profile_gets_exactly_its_expected_verdicts(tmp_path, suite, profile, expected) -> None:
    results = run_cases(tmp_path / "run", plan=IEEE_PLANS[suite], dut=profile, evidence=VERDICTS_ONLY).recorder.results
    assert_exact_verdicts(results, expected)
