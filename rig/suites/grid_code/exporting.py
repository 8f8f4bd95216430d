"""The DUT exporting at the nominal grid: where every grid-code case starts."""

from __future__ import annotations

from rig.core.clock import wait_until
from rig.run.bench_lab import Lab
from rig.suites.grid_code.nominal_plan import GridPlan
from rig.suites.platform import DutNotReady


def ensure_exporting(lab: Lab, plan: GridPlan) -> float:
    """Nominal grid, output on, and wait (bench time) for the DUT to export; returns its current.

    Exporting is current at or above the plan's threshold *and* active power
    flowing into the grid: a charging (importing) charger draws current too.
    The wait is the plan's declared reconnection time plus its margin; a DUT
    that does not export by then is ``DutNotReady``.
    """
    pre = plan.precondition
    with lab.steps.step(f"Nominal grid {plan.grid.voltage_v:g} V {plan.grid.frequency_hz:g} Hz; wait up to "
                        f"{pre.connect_timeout_s:g} s (declared reconnection {pre.reconnection_s:g} s + "
                        f"{pre.reconnection_margin_s:g} s) for the DUT to export above {pre.exporting_above_a:g} A"):
        lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
        lab.grid.output(True)
        readings: list[tuple[float, float | None]] = []

        def exporting() -> bool:
            current = lab.grid.current_a()
            if current < pre.exporting_above_a:
                readings.append((current, None))
                return False
            power = lab.grid.power_w()  # only once there is current: the direction of power
            readings.append((current, power))
            return power < 0.0  # the grid simulator absorbs what the charger exports

        if not wait_until(lab.clock, exporting, timeout_s=pre.connect_timeout_s, poll_s=pre.poll_s):
            current, power = readings[-1]
            if power is not None and power >= 0.0:
                raise DutNotReady(f"the DUT draws {current:.3f} A but imports {power:.1f} W (it charges); the "
                                  f"{plan.suite} suite needs it exporting")
            raise DutNotReady(
                f"the DUT did not export above {pre.exporting_above_a:g} A within {pre.connect_timeout_s:g} s of a "
                f"nominal grid (declared reconnection time {pre.reconnection_s:g} s + {pre.reconnection_margin_s:g} s "
                f"margin; last reading {current:.3f} A)")
    if pre.settle_s > 0:
        with lab.steps.step(f"Let the DUT settle for {pre.settle_s:g} s"):
            lab.clock.sleep(pre.settle_s)
    return readings[-1][0]
