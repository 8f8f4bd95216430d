"""OCPP 2.1 procedures: the 2.0.1 suite's (steps as data, the seqNo of every TransactionEvent judged) with 2.1
accepted, the emulated vehicle bidirectional, and every ``power`` check judged on the digitizer's capture at the
charger's AC terminals (``grid_power``)."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from rig.core.uncertainty import Uncertainty
from rig.suites.ocpp.central_system201 import Answers201
from rig.suites.ocpp.metering import compare_bidirectional
from rig.suites.ocpp.player import Player
from rig.suites.ocpp16.procedures import PROCEDURES as PROCEDURES_16, ocpp_case, script
from rig.suites.ocpp201.procedures import seq_errors
from rig.suites.ocpp21.grid_power import judge_checks
from rig.suites.ocpp21.plan import Plan, ScriptCase
from rig.suites.platform import Procedure


def _prepare(player: Player, plan: Plan) -> None:
    """The vehicle asks for current and offers its battery (the charger's V2X control chooses the direction); the
    digitizer samples as the plan says."""
    player.vehicle_direction = "bidirectional"
    player.capture_rate_hz = plan.v2x.sample_rate_hz


def _grid_power(plan: Plan, case: ScriptCase, player: Player
                ) -> tuple[list[tuple[str, float | None, Uncertainty, str]], dict[str, pd.DataFrame]]:
    ends = [player.window_end(case.params.steps, check.index) for check in player.power_checks]
    judged, traces = judge_checks(player.power_checks, player.runs, player.instants, ends, plan.v2x,
                                  plan.grid.frequency_hz, plan.frame_time_u_s)
    return [(j.name, j.value, j.uncertainty, j.finding) for j in judged], traces


def _script(lab: Any, plan: Plan, case: ScriptCase) -> Any:
    return script(lab, plan, case, answers_of=Answers201, compare=compare_bidirectional, judges=(seq_errors,),
                  prepare=_prepare, player_judge=_grid_power)  # type: ignore[arg-type]


PROCEDURES = {
    "cold_boot": PROCEDURES_16["cold_boot"],
    "boot_pending": PROCEDURES_16["boot_pending"],
    "script": Procedure(ocpp_case(functools.partial(_script)), roles=("grid", "csms")),
}
