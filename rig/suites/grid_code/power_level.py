"""Bringing the charger to a case's power level before it is judged (G99 islanding and frequency response).

Grid-code cases run at stated shares of the registered capacity (islanding at 100 %, 50-66 % and 25-33 %;
LFSM-O above 80 % and at 40-60 %). The charger exports at its own operating point; a bench with the optional
``dut_control`` role (the charger's SunSpec controls, ``rig.core.roles.DutPowerControl``) can lower it: when the
export is outside the case's band, the rig limits it to the middle of the band, waits for the export to be
steady, runs the case and releases the limit afterwards, whatever happens. A limit cannot raise the export,
and a bench without the role cannot set it at all: then the case is judged only if the charger's own export
lies in the band, otherwise it is an error ("cannot judge"), never a pass (the suites' procedures check that
on what they measured).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import Field, model_validator

from rig.core.clock import wait_until
from rig.run.bench_lab import Lab
from rig.suites.platform import PreconditionError, Strict
from rig.config.yaml_source import LocatedValueError

CONTROL_ROLE = "dut_control"


class PowerLevel(Strict):
    """The share of the registered capacity the charger must export for the case to be judged at all."""

    min: float = Field(ge=0)
    max: float = Field(gt=0)

    @model_validator(mode="after")
    def _in_order(self) -> "PowerLevel":
        if self.min > self.max:
            raise LocatedValueError(("min",), f"{self.min:g} is above max {self.max:g}: no power level qualifies")
        return self


class SteadyExport(Strict):
    """When the charger's export counts as steady: two readings ``interval_s`` apart within ``within_pct``."""

    within_pct: float = Field(0.5, gt=0)
    interval_s: float = Field(1.0, gt=0)
    timeout_s: float = Field(60.0, gt=0, description="Not steady by then: the case cannot be run.")


@dataclass(frozen=True)
class PowerSetting:
    """What the rig did to the charger's export for a case: the limit it set (None: none) and the export then."""

    limit_w: float | None
    export_w: float | None
    """The steady export read at the grid simulator (None when nothing was read: no band, or no role)."""
    controllable: bool
    """Whether the bench has the dut_control role."""

    def refusal(self, export_w: float, capacity_w: float, band: PowerLevel, when: str) -> str:
        """Why a case is not judged at ``export_w`` (its band, and why the rig did not or could not fix it)."""
        level = export_w / capacity_w
        text = (f"cannot judge: the DUT exported {export_w:.0f} W {when}, {level:.1%} of the registered capacity "
                f"({capacity_w:g} W); this case is run at {band.min:.0%} to {band.max:.0%}")
        if not self.controllable:
            return text + (", and the rig cannot set the DUT's export power on this bench (no dut_control role): "
                           "set it on the DUT")
        if self.limit_w is None:
            return text + "; its steady export read before was inside that band: it moved since"
        return text + (f"; limited to {self.limit_w:.0f} W through dut_control it did not get there (a limit only "
                       "lowers the export): set the DUT's own operating point")


def steady_export(lab: Lab, steady: SteadyExport, *, state: str) -> float:
    """The charger's export (W) once steady: two readings ``steady.interval_s`` apart within ``steady.within_pct``.

    After the case before (a trip, a frequency hold) or a new limit, a charger may still be ramping its power;
    a reading taken then is not the power the case runs at. ``state``: the bench's state, for the step.
    """
    last: list[float] = []

    def settled() -> bool:
        reading = -lab.grid.power_w()
        agreed = bool(last) and abs(reading - last[-1]) <= steady.within_pct / 100.0 * abs(reading)
        last.append(reading)
        return agreed

    with lab.steps.step(f"Read the charger's export at the grid simulator until two readings {steady.interval_s:g} s "
                        f"apart agree within {steady.within_pct:g} % ({state})"):
        if not wait_until(lab.clock, settled, timeout_s=steady.timeout_s, poll_s=steady.interval_s):
            raise PreconditionError(f"the charger's export did not settle within {steady.timeout_s:g} s (readings "
                                    + ", ".join(f"{w:.0f}" for w in last[-4:]) + " W)")
    return last[-1]


@contextmanager
def at_power_level(lab: Lab, band: PowerLevel | None, capacity_w: float, steady: SteadyExport, *,
                   state: str, always_read: bool = False) -> Iterator[PowerSetting]:
    """Run the ``with`` body at the case's power level when the bench can set it; the limit is released after.

    Without a band nothing is read or set. Without the ``dut_control`` role the export is read only when
    ``always_read`` (a procedure that needs the steady export anyway). With the role, the steady export is read;
    outside the band, the export is limited to the band's middle (of ``capacity_w``) and read again once steady.
    """
    controllable = lab.has(CONTROL_ROLE)
    if band is None or not (controllable or always_read):
        yield PowerSetting(None, None, controllable)
        return
    export_w = steady_export(lab, steady, state=state)
    if band.min <= export_w / capacity_w <= band.max or not controllable:
        yield PowerSetting(None, export_w, controllable)
        return
    target_w = 0.5 * (band.min + band.max) * capacity_w
    control = lab.dut_control
    with lab.steps.step(f"Limit the DUT's export to {target_w:.0f} W ({0.5 * (band.min + band.max):.1%} of "
                        f"{capacity_w:g} W) through its controls (dut_control); it exports {export_w:.0f} W"):
        control.limit_export(target_w)
    completed = False
    try:
        yield PowerSetting(target_w, steady_export(lab, steady, state=state + f", export limited to {target_w:.0f} W"),
                           controllable)
        completed = True
    finally:
        with lab.steps.step("Release the DUT's export limit (back to its own operating point)"):
            control.release()
    if completed:  # the next case starts from a settled charger, not one ramping back to its operating point
        steady_export(lab, steady, state=state + ", export limit released")
