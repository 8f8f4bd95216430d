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
from rig.suites.ocpp21.analyzer_log import AnalyzerLog
from rig.suites.ocpp21.grid_power import judge_checks
from rig.suites.ocpp21.offline import offline_delivery
from rig.suites.ocpp21.plan import Plan, ScriptCase
from rig.suites.platform import CannotJudge, Procedure


def _prepare(player: Player, plan: Plan) -> None:
    """The vehicle asks for current and offers its battery (the charger's V2X control chooses the direction); the
    digitizer samples as the plan says."""
    player.vehicle_direction = "bidirectional"
    player.capture_rate_hz = plan.v2x.sample_rate_hz
    setting = plan.v2x.analyzer
    if setting is not None:
        if not player.lab.has("analyzer"):
            raise CannotJudge("the plan judges each settled power on the power analyzer too, and the bench has none "
                              "(a plan without v2x.analyzer judges on the digitizer alone)")
        player.reader = AnalyzerLog.prepared(player.lab.analyzer, player.clock, setting.update_s,
                                             setting.max_voltage_v, setting.max_current_a)


def _grid_power(plan: Plan, case: ScriptCase, player: Player
                ) -> tuple[list[tuple[str, float | None, Uncertainty, str]], dict[str, pd.DataFrame]]:
    ends = [player.window_end(case.params.steps, check.index) for check in player.power_checks]
    judged, traces = judge_checks(player.power_checks, player.runs, player.instants, ends, plan.v2x,
                                  plan.grid.frequency_hz, plan.frame_time_u_s, player.reader)
    found = [(j.name, j.value, j.uncertainty, j.finding) for j in judged]
    backoff = case.params.judge_offline_delivery
    if backoff is not None:
        found += _offline_delivery(plan, player, backoff.wait_minimum_s, backoff.repeat_times)
    return found, traces


def _offline_delivery(plan: Plan, player: Player, wait_minimum_s: float, repeat_times: int
                      ) -> list[tuple[str, float | None, Uncertainty, str]]:
    """The case's cut link: from the cut to the charger's next kept connection, its attempts in between (refused by
    the rig, link down), and the frames it delivered."""
    csms = player.lab.csms
    cut = player.link_cut_at
    if cut is None:
        raise CannotJudge("the case cut no link: nothing to judge of an offline delivery")
    kept = sorted(c.connected_at for c in list(csms.history) if c.identity == player.identity and c.connected_at > cut)
    if not kept:
        raise CannotJudge("the charger never connected again after the cut link: its offline delivery cannot be "
                          "judged")
    refused = [r.t for r in list(csms.refusals) if cut < r.t < kept[0] and "link down" in r.reason]
    frames = [f for f in list(csms.frames) if f.t >= kept[0]]
    return offline_delivery(frames, (cut, kept[0]), [*refused, kept[0]], player.clock.epoch_offset_s(),
                            plan.frame_time_u_s, wait_minimum_s, repeat_times)


def _script(lab: Any, plan: Plan, case: ScriptCase) -> Any:
    return script(lab, plan, case, answers_of=Answers201, compare=compare_bidirectional, judges=(seq_errors,),
                  prepare=_prepare, player_judge=_grid_power)  # type: ignore[arg-type]


PROCEDURES = {
    "cold_boot": PROCEDURES_16["cold_boot"],
    "boot_pending": PROCEDURES_16["boot_pending"],
    "script": Procedure(ocpp_case(functools.partial(_script)), roles=("grid", "csms")),
}
