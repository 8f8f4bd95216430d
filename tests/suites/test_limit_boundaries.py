"""Chargers just inside every limit pass, just outside fail: on several seeds (phases of the charger's
evaluation grid against the disturbance, measurement noise).

The variants are made here from the compliant profile, one stage at a time:

- trip value: the stage's threshold one fine step (the plan's resolution) inside or outside each bound of
  the trip-value limit;
- trip time: the stage's delay (with its measurement latency and relay time) such that the trip time, at
  every phase of the evaluation grid, lies 5 ms inside or outside each bound of the trip-time limit.

A no-trip point of the same stage is part of the verdict too: a charger whose stage operates before the
point's hold ends must fail it, one whose stage cannot operate in time must pass it. Variants are built so
that this does not depend on the phase, and the expected verdict is computed, not assumed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from campaign_helpers import VERDICTS_ONLY, COMPLIANT, PROTECTION_PLAN, run_cases

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

PLAN = yaml.safe_load(PROTECTION_PLAN.read_text())
PROFILE = yaml.safe_load(COMPLIANT.read_text())
TIME_MARGIN_S = 0.005
SEEDS = [1, 2]


@dataclass(frozen=True)
class Variant:
    name: str
    stage: str
    changes: dict  # stage fields, plus "latency_s" / "disconnection_time_s" of the variant
    expected: dict[str, str]  # case id -> verdict


def _cases(stage: str, procedure: str) -> list[dict]:
    return [c for c in PLAN["cases"] if c.get("setting", {}).get("stage") == stage and c["procedure"] == procedure]


def _stage(name: str) -> dict:
    return next(s for s in PROFILE["ac_port"]["protection"] if s["name"] == name)


def _beyond(stage: dict, level: float, threshold: float) -> bool:
    return level >= threshold if stage["direction"] == "over" else level <= threshold


def _points_beyond(stage: dict, threshold: float) -> list[dict]:
    """Every no-trip point of the plan (whichever stage it is written for) that this stage sees beyond its threshold."""
    return [c for c in PLAN["cases"] if c["procedure"] == "no_trip" and c["quantity"] == stage["quantity"]
            and _beyond(stage, c["params"]["level"], threshold)]


def _no_trip_verdicts(stage: dict, threshold: float, delay: float, period: float) -> dict[str, str]:
    """A no-trip point fails when the stage operates within its hold at every phase, passes when it cannot."""
    verdicts = {}
    for case in _points_beyond(stage, threshold):
        level, hold = case["params"]["level"], case["params"]["hold_s"]
        if delay >= hold:
            verdicts[case["id"]] = "pass"
        elif delay + 2.0 * period < hold:
            verdicts[case["id"]] = "fail"
        else:
            raise AssertionError(f"{case['id']}: a {delay} s stage on a {period} s grid trips by phase")
    return verdicts


def _variants() -> list[Variant]:
    variants = []
    # RoCoF stages are judged on ramps at several rates: their boundaries are fixtures/duts/rocof-*.yaml
    for stage_name in {c["setting"]["stage"] for c in PLAN["cases"] if c.get("quantity") in ("voltage", "frequency")}:
        stage = _stage(stage_name)
        method = PROFILE["ac_port"]["measurement"][stage["quantity"]]
        period = method["evaluation_period_s"]
        (value_case,) = _cases(stage_name, "trip_value")
        step = value_case["params"]["fine_step"]
        limit = value_case["limits"]["trip_value"]
        for bound, inside in ((limit["min"], step), (limit["max"], -step)):
            for where, threshold in (("inside", bound + inside), ("outside", bound - inside)):
                threshold = round(threshold, 6)
                expected = {value_case["id"]: "pass" if where == "inside" else "fail",
                            **_no_trip_verdicts(stage, threshold, stage["delay_s"], period)}
                variants.append(Variant(f"{stage_name} threshold {threshold:g} ({where})", stage_name,
                                        {"threshold": threshold}, expected))
        (time_case,) = _cases(stage_name, "trip_time")
        low, high = time_case["limits"]["trip_time_s"]["min"], time_case["limits"]["trip_time_s"]["max"]
        holds = sorted((c["params"]["hold_s"] for c in _points_beyond(stage, stage["threshold"])), reverse=True)
        # The trip time spans [latency + delay + relay, + one period): placed wholly inside or outside a bound.
        # Where a no-trip point bounds the delay from below, the stage gets the point's hold as its delay and the
        # rest of the trip time goes to latency and relay, so the no-trip point holds at every phase.
        for where, first in (("inside min", low + TIME_MARGIN_S), ("outside max", high + TIME_MARGIN_S),
                             ("inside max", high - TIME_MARGIN_S - period),
                             ("outside min", low - TIME_MARGIN_S - period)):
            latency, relay = method["latency_s"], PROFILE["ac_port"]["disconnection_time_s"]
            delay = first - latency - relay
            if where == "inside min" and holds and delay < max(holds):
                delay = max(holds)
                latency = relay = (first - delay) / 2.0
            for hold in holds if where == "outside min" else []:
                if delay < hold <= delay + 2.0 * period:  # would trip on this point at some phases only:
                    delay = hold - 2.0 * period - 0.001  # then at every phase
            verdict = "pass" if where.startswith("inside") else "fail"
            expected = {time_case["id"]: verdict, **_no_trip_verdicts(stage, stage["threshold"], delay, period)}
            variants.append(Variant(f"{stage_name} trip time from {first:.3f} s ({where})", stage_name,
                                    {"delay_s": round(delay, 6), "latency_s": round(latency, 6),
                                     "disconnection_time_s": round(relay, 6)}, expected))
    return sorted(variants, key=lambda v: v.name)


def _profile(tmp_path: Path, variant: Variant) -> Path:
    data = copy.deepcopy(PROFILE)
    changes = dict(variant.changes)
    stage = next(s for s in data["ac_port"]["protection"] if s["name"] == variant.stage)
    if "latency_s" in changes:
        data["ac_port"]["measurement"][stage["quantity"]]["latency_s"] = changes.pop("latency_s")
    if "disconnection_time_s" in changes:
        data["ac_port"]["disconnection_time_s"] = changes.pop("disconnection_time_s")
    stage.update(changes)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", _variants(), ids=lambda v: v.name)
def test_just_inside_passes_and_just_outside_fails(tmp_path, variant, seed):
    run = run_cases(tmp_path / "run", ids=list(variant.expected), dut=_profile(tmp_path, variant), seed=seed, evidence=VERDICTS_ONLY)
    verdicts = {c.id: c.verdict for c in run.recorder.results.cases}
    assert verdicts == variant.expected, {c.id: (c.verdict, c.measured, c.error)
                                          for c in run.recorder.results.cases}


def test_every_limit_of_every_stage_has_a_variant_on_each_side():
    names = [v.name for v in _variants()]
    stages = {c["setting"]["stage"] for c in PLAN["cases"] if c.get("quantity") in ("voltage", "frequency")}
    assert len(names) == 8 * len(stages)
