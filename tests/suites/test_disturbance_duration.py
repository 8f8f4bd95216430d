"""A disturbance lasts at least as long as the longest reaction its limit allows, in every suite.

The RoCoF trip ramps used to end before their trip-time limit (the 3 Hz/s one 0.83 s into its 1.0 s): a
charger that would trip at 0.9 s never tripped, and one tripping near the ramp's end passed or failed with
the phase of its evaluation grid. Now every ramp lasts its limit and the plan loader refuses one that does
not. Proven here on the simulated charger: relay delays placing the trip anywhere inside the limit pass on
every seed (run with a free-running evaluation cycle, so each seed puts the relay's evaluation grid at another
phase against the ramp; the profiles' own grid-locked cycle meets it at one of those phases in every run), delays
just outside fail; and plans that break the rule, in every suite that times a reaction, are refused at their line.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from campaign_helpers import (VERDICTS_ONLY, COMPLIANT, DUTS, PROTECTION_PLAN, ROOT, expectations, one_line_error, rig,
                              run_cases)
from rig.core.errors import InputFileError
from rig.config.plans import load_plan
from rig.sim.charger.dut_profile import load_dut_profile
from rig.suites.platform import REACTION_RULE

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

SEEDS = [0, 1, 3, 4]
"""Their free-running frequency phases (``ChargerClock.drawn``) are 0.60, 0.42, 0.81 and 0.15 of a period: the RoCoF
evaluation grid meets the ramp all over its period (the seed no longer draws the clock's rate, whose drift used to
spread 0, 1, 2, 3 as well)."""
PLAN = yaml.safe_load(PROTECTION_PLAN.read_text())
COMPLIANT_PROFILE = load_dut_profile(COMPLIANT).model_dump()
ROCOF_TRIP_CASES = [c for c in PLAN["cases"] if c.get("quantity") == "rocof" and c["procedure"] == "trip_time"]
RAMP_3HZ = "g99.rocof.trip_time.rise_3hz_s"
LATE_PROFILES = ["rocof-late-inside", "rocof-late-outside"]
CLOCK_SLACK_S = 0.001
"""The charger's clock runs up to 100 ppm off (0.1 ms on its 1 s delays) and the trip instant is measured within
a millisecond of the relay's opening: the slack allowed around a predicted trip window."""


def trip_window(profile: dict, case: dict) -> tuple[float, float]:
    """When the relay opens, from the start of the case's timed ramp, over every phase of its evaluation grid.

    From a steady frequency, df/dt over the relay's window reaches the threshold window x threshold / rate into
    the ramp (plus the measurement's latency); the stage picks up at the next evaluation, operates at the first
    evaluation its delay later and the relay opens disconnection_time_s after that (fixtures/duts/README.md): a
    window one evaluation period wide.
    """
    params = case["params"]
    steady = params["ramps"][params["timed_from"] - 1]
    method = profile["ac_port"]["measurement"]["rocof"]
    assert steady.get("hold_s", 0.0) >= method["window_s"], "the timed ramp must start from a steady frequency"
    stage = next(s for s in profile["ac_port"]["protection"] if s["name"] == case["setting"]["stage"])
    period = method["evaluation_period_s"]
    reached = method["window_s"] * abs(stage["threshold"]) / params["ramps"][params["timed_from"]]["rate_per_s"]
    delay = math.ceil(stage["delay_s"] / period - 1e-9) * period  # an operate evaluation is on the grid
    first = reached + method["latency_s"] + delay + profile["ac_port"]["disconnection_time_s"]
    return first, first + period


def expected_verdict(window: tuple[float, float], case: dict) -> str:
    """Pass when the whole window lies inside the limit, fail when it lies wholly outside; a window across a
    bound would make the verdict hang on the phase, so no variant may have one."""
    limit = case["limits"]["trip_time_s"]
    low, high = window
    if limit["min"] + CLOCK_SLACK_S <= low and high <= limit["max"] - CLOCK_SLACK_S:
        return "pass"
    if high <= limit["min"] - CLOCK_SLACK_S or low >= limit["max"] + CLOCK_SLACK_S:
        return "fail"
    raise AssertionError(f"{case['id']}: trip window {window} straddles the limit {limit}")


def _profile(name: str) -> dict:
    return load_dut_profile(DUTS / f"{name}.yaml").model_dump()


def _rocof_delayed(profile: dict, delay_s: float) -> dict:
    """A copy of ``profile`` with both RoCoF stages operating after ``delay_s``."""
    data = copy.deepcopy(profile)
    for stage in data["ac_port"]["protection"]:
        if stage["quantity"] == "rocof":
            stage["delay_s"] = delay_s
    return data


def _behaviour(profile: dict) -> dict:
    """What the simulated charger does: the profile less its name and what only the rig's tests read."""
    return {key: value for key, value in profile.items() if key not in ("dut", "description")}


@pytest.mark.parametrize("name", LATE_PROFILES)
def test_the_late_rocof_profiles_are_the_compliant_charger_but_for_the_relay_delay(name):
    mine = _profile(name)
    delay = next(s["delay_s"] for s in mine["ac_port"]["protection"] if s["quantity"] == "rocof")
    assert _behaviour(mine) == _behaviour(_rocof_delayed(COMPLIANT_PROFILE, delay))


@pytest.mark.parametrize("name", LATE_PROFILES)
def test_each_late_profile_declares_exactly_the_rocof_trip_times_its_relay_misses(name):
    profile = _profile(name)
    misses = {c["id"] for c in ROCOF_TRIP_CASES if expected_verdict(trip_window(profile, c), c) == "fail"}
    assert set(expectations(DUTS / f"{name}.yaml")["fails"]) == misses
    ramp = next(c for c in ROCOF_TRIP_CASES if c["id"] == RAMP_3HZ)
    wanted = "pass" if name.endswith("inside") else "fail"
    assert expected_verdict(trip_window(profile, ramp), ramp) == wanted


def _free_running(tmp_path: Path, profile: dict) -> Path:
    """``profile`` written with its evaluation cycle free-running on its own clock (``clock.cycle``), so that each
    seed meets the ramp at another phase of it (grid-locked, as the profiles are, every seed meets it at one)."""
    data = copy.deepcopy(profile)
    data["clock"]["cycle"] = "free_running"
    path = tmp_path / "free-running.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run_rocof_trip_times(tmp_path: Path, dut: Path, ids: list[str]) -> dict[int, dict]:
    """The cases on every seed: {seed: {case id: case result}}."""
    return {seed: {c.id: c for c in run_cases(tmp_path / f"seed{seed}", ids=ids, dut=dut, seed=seed, evidence=VERDICTS_ONLY)
                   .recorder.results.cases} for seed in SEEDS}


def _assert_verdicts_and_trip_times(profile: dict, runs: dict[int, dict], cases: list[dict]) -> None:
    """Each case's verdict on every seed is the one its trip window calls for, and the trip time the rig measured
    lies in that window."""
    for case in cases:
        window = trip_window(profile, case)
        for seed, results in runs.items():
            got = results[case["id"]]
            assert got.verdict == expected_verdict(window, case), (seed, case["id"], got.measured, got.error)
            measured = got.measured["trip_time_s"]
            assert window[0] - CLOCK_SLACK_S <= measured <= window[1] + CLOCK_SLACK_S, (seed, case["id"], window)


def _phases_covered(profile: dict, runs: dict[int, dict], case: dict) -> float:
    """How much of an evaluation period the seeds' trip times spread over: where, within its window, each seed
    put the trip (the relay's evaluation phase against the ramp)."""
    period = profile["ac_port"]["measurement"]["rocof"]["evaluation_period_s"]
    times = [results[case["id"]].measured["trip_time_s"] for results in runs.values()]
    return (max(times) - min(times)) / period


@pytest.mark.parametrize("name", LATE_PROFILES)
def test_a_late_profile_passes_inside_and_fails_outside_on_every_seed(tmp_path, name):
    profile = _profile(name)
    runs = _run_rocof_trip_times(tmp_path, _free_running(tmp_path, profile), [c["id"] for c in ROCOF_TRIP_CASES])
    _assert_verdicts_and_trip_times(profile, runs, ROCOF_TRIP_CASES)
    ramp = next(c for c in ROCOF_TRIP_CASES if c["id"] == RAMP_3HZ)
    assert _phases_covered(profile, runs, ramp) > 0.5  # the seeds met the ramp at different phases


@dataclass(frozen=True)
class DelayVariant:
    name: str
    delay_s: float


DELAY_VARIANTS = [  # on the 3 Hz/s ramp (threshold reached 0.067 s in, 0.02 s relay, 0.02 s evaluation period)
    DelayVariant("just after the 0.5 s minimum", 0.42),
    DelayVariant("where the old 0.83 s ramp made the verdict hang on the phase", 0.76),
    DelayVariant("0.9 s", 0.80),
    DelayVariant("just inside the 1.0 s maximum", 0.88),
    DelayVariant("just outside the 1.0 s maximum", 0.92),
]


@pytest.mark.parametrize("variant", DELAY_VARIANTS, ids=lambda v: v.name)
def test_a_relay_delay_anywhere_inside_the_3hz_s_limit_passes_on_every_seed_one_outside_fails(tmp_path, variant):
    profile = _rocof_delayed(COMPLIANT_PROFILE, variant.delay_s)
    ramp = next(c for c in ROCOF_TRIP_CASES if c["id"] == RAMP_3HZ)
    runs = _run_rocof_trip_times(tmp_path, _free_running(tmp_path, profile), [RAMP_3HZ])
    _assert_verdicts_and_trip_times(profile, runs, [ramp])


def test_the_delay_variants_cover_both_sides_of_the_limit():
    ramp = next(c for c in ROCOF_TRIP_CASES if c["id"] == RAMP_3HZ)
    verdicts = [expected_verdict(trip_window(_rocof_delayed(COMPLIANT_PROFILE, v.delay_s), ramp), ramp)
                for v in DELAY_VARIANTS]
    assert verdicts == ["pass", "pass", "pass", "pass", "fail"]


# -- the plan loader ------------------------------------------------------------------------------------------

OLD_3HZ_RAMP = "{to: 49.0, rate_per_s: 0.5, hold_s: 1.0}, {to: 51.5, rate_per_s: 3.0}"
NEW_3HZ_RAMP = "{to: 48.4, rate_per_s: 0.5, hold_s: 1.0}, {to: 51.6, rate_per_s: 3.0}"
PLANS = ROOT / "test_plans"


@dataclass(frozen=True)
class Offence:
    """A plan edited to break the rule: (old, new) text, and the field and words the refusal must name; ``also``,
    edits that keep the plan's other rules (made after the offence, each on its first occurrence)."""

    name: str
    plan: Path
    old: str
    new: str
    field_end: str
    words: str
    also: tuple[tuple[str, str], ...] = ()


OFFENCES = [
    Offence("the old 3 Hz/s RoCoF ramp", PLANS / "g99" / "protection.yaml", NEW_3HZ_RAMP, OLD_3HZ_RAMP,
            "params.ramps[1].to", "lasts 0.833333 s, it must last at least the 1 s"),
    Offence("a RoCoF capture ending inside the limit", PLANS / "g99" / "protection.yaml",
            NEW_3HZ_RAMP + "]\n      timed_from: 1\n      pre_s: 0.5\n      post_s: 6.0",
            NEW_3HZ_RAMP + "]\n      timed_from: 1\n      pre_s: 0.5\n      post_s: 5.1",
            "params.post_s", "the capture lasts 0.9 s"),
    Offence("a step that is not beyond its setting", PLANS / "g99" / "protection.yaml",
            "params: {level: 180.0, hold_s: 3.5,", "params: {level: 185.0, hold_s: 3.5,",
            "params.level", "never beyond the U/V setting (184 V)"),
    Offence("an IEEE 300 s stage held 301 s of its 303 s", PLANS / "ieee1547" / "protection.yaml",
            "params: {level: 61.4, hold_s: 304.0, pre_s: 0.5, post_s: 305.0,",
            "params: {level: 61.4, hold_s: 301.0, pre_s: 0.5, post_s: 302.0,",
            "params.hold_s", "lasts 301 s, it must last at least the 303 s"),
    Offence("a frequency-response step no longer than its response time", PLANS / "g99" / "frequency_response.yaml",
            "        - {frequency_hz: 50.45, hold_s: 10.0}\n", "        - {frequency_hz: 50.45, hold_s: 2.0}\n",
            "params.steps[0].hold_s", "step 1 lasts 2 s, it must last longer than the 2 s",
            also=(("settled_s: 5.0", "settled_s: 1.0"),)),
    Offence("a G100 load step no longer than its response time", PLANS / "g100" / "export_limitation.yaml",
            "        - {loads: [load_a], hold_s: 15.0}\n", "        - {loads: [load_a], hold_s: 5.0}\n",
            "params.steps[1].hold_s", "step 2 lasts 5 s, it must last longer than the 5 s"),
    Offence("a G100 excursion observed shorter than its correction time", PLANS / "g100" / "export_limitation.yaml",
            "observe_s: 15.0, settled_s: 5.0", "observe_s: 4.0, settled_s: 2.0",
            "params.observe_s", "lasts 4 s, it must last at least the 5 s"),
    Offence("a G100 sensor loss observed shorter than its fail-safe time", PLANS / "g100" / "export_limitation.yaml",
            "observe_s: 15.0, failsafe_export_w", "observe_s: 4.5, failsafe_export_w",
            "params.observe_s", "lasts 4.5 s, it must last at least the 5 s"),
    Offence("an islanding capture no longer than the run-on limit", PLANS / "g99" / "islanding.yaml",
            "post_s: 4.0", "post_s: 2.5", "params.post_s", "lasts 2 s, it must last longer than the 2 s"),
]


def _offending(tmp_path: Path, offence: Offence) -> tuple[Path, int]:
    """The plan with the offence written in (the first of several alike), and the line of its last line."""
    text = offence.plan.read_text()
    assert offence.old in text, offence.name
    edited = text.replace(offence.old, offence.new, 1)
    line = edited[:edited.index(offence.new)].count("\n") + 1 + offence.new.rstrip("\n").count("\n")
    for old, new in offence.also:
        assert old in edited, (offence.name, old)
        edited = edited.replace(old, new, 1)
    path = tmp_path / offence.plan.parent.name / offence.plan.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(edited)
    return path, line


@pytest.mark.parametrize("offence", OFFENCES, ids=lambda o: o.name)
def test_a_plan_whose_disturbance_ends_inside_its_limit_is_refused_at_its_line(tmp_path, offence):
    path, line = _offending(tmp_path, offence)
    with pytest.raises(InputFileError) as caught:
        load_plan(path)
    error = caught.value
    assert error.field.endswith(offence.field_end) and error.line == line, (error.field, error.line, line)
    assert offence.words in error.message and REACTION_RULE in error.message, error.message


def test_every_plan_in_the_repository_obeys_the_rule():
    for plan in sorted(PLANS.glob("*/*.yaml")):
        if plan.parent.name != "campaigns":
            assert load_plan(plan)


def test_rig_run_refuses_the_old_rocof_ramp_in_one_line_naming_file_line_and_field(tmp_path):
    path, line = _offending(tmp_path, OFFENCES[0])
    result = rig("run", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    error = one_line_error(result)
    assert f"{path}:{line}:" in error and "params.ramps[1].to" in error and REACTION_RULE in error, error
    assert not (tmp_path / "out").exists()
