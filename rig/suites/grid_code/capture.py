"""A disturbance run on the grid simulator and captured by the digitizer it triggers."""

from __future__ import annotations

from rig.core.clock import wait_until
from rig.core.roles import Capture, GridProgram
from rig.run.bench_lab import Lab
from rig.suites.platform import PreconditionError


ARMING_MARGIN_S = 2.0
"""Bench time a digitizer may take to arm beyond filling its pre-trigger memory."""


def captured_disturbance(lab: Lab, program: GridProgram, pre_s: float, post_s: float, rate_hz: float) -> Capture:
    """Arm the digitizer, wait until it is armed, run the program on the grid simulator (its trigger
    starts the capture), fetch; refuse a capture sampled slower than ``rate_hz``.

    A digitizer is ready for its trigger only once its pre-trigger memory has
    filled (``pre_s`` of bench time); a trigger before that is missed.
    """
    with lab.steps.step(f"Arm capture {pre_s:g} s before to {post_s:g} s after the trigger at {rate_hz:g} S/s"):
        lab.capture.arm(pre_s=pre_s, post_s=post_s, sample_rate_hz=rate_hz)
        timeout_s = pre_s + ARMING_MARGIN_S
        if not wait_until(lab.clock, lab.capture.armed, timeout_s=timeout_s, poll_s=max(pre_s / 5.0, 0.001)):
            raise PreconditionError(f"the digitizer was not armed {timeout_s:g} s after the single acquisition "
                                    f"started (its {pre_s:g} s pre-trigger memory must fill first); "
                                    "the disturbance was not started")
    with lab.steps.step("Run the disturbance on the grid simulator (list mode)"):
        lab.grid.run_program(program)
        lab.clock.sleep(post_s)
    with lab.steps.step("Fetch the capture"):
        if not wait_until(lab.clock, lab.capture.complete, timeout_s=max(5.0, post_s), poll_s=0.05):
            raise PreconditionError("the digitizer did not complete its acquisition (no trigger from the grid simulator?)")
        capture = lab.capture.fetch()
    interval_s = float(capture.t_s[1] - capture.t_s[0])
    with lab.steps.step(f"The digitizer sampled every {interval_s:.9g} s ({1.0 / interval_s:.6g} S/s, "
                        f"{len(capture.t_s)} samples)"):
        if 1.0 / interval_s < rate_hz * (1.0 - 1e-9):
            raise PreconditionError(f"the digitizer sampled at {1.0 / interval_s:.6g} S/s (every {interval_s:.9g} s), "
                                    f"below the plan's {rate_hz:g} S/s")
    return capture
