"""Stop requests are never lost: recorded by the handler, acted on at the next safe point."""

from __future__ import annotations

import os
import signal

import pytest

from campaign_helpers import run_cases
from rig.core import stop
from rig.run.engine import CampaignRun
from rig.evidence.verify import verify_run


@pytest.fixture
def handlers():
    """The rig's stop handlers for one test; pytest's own SIGINT handling is put back afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in stop.STOP_SIGNALS}
    stop.reset()
    stop.install()
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
    stop.reset()


def test_a_signal_outside_a_wait_is_recorded_not_raised(handlers):
    os.kill(os.getpid(), signal.SIGTERM)  # delivered at once, between two bytecodes of this test
    assert stop.requested() == "SIGTERM"
    with pytest.raises(stop.StopRequested, match="SIGTERM"):
        stop.checkpoint()


def test_a_request_is_sticky_until_acted_on_again_and_again(handlers):
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(3):  # swallowed once (say, by a finalizer), raised again at the next checkpoint
        with pytest.raises(stop.StopRequested):
            stop.checkpoint()


@pytest.mark.realtime
def test_a_real_time_wait_is_cut_short_by_the_signal(handlers):
    from rig.core.clock import RealClock

    clock = RealClock()
    previous = signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(stop.StopRequested):
            clock.sleep(30.0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert clock.now() < 30.0


def test_deferred_sections_are_not_cut_short(handlers):
    with stop.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        stop.checkpoint()  # the safe state must run to its end
        with stop.interruptible():
            pass
    with pytest.raises(stop.StopRequested):
        stop.checkpoint()


def test_a_stop_mid_run_ends_it_incomplete_with_outputs_off(handlers, tmp_path):
    """The signal arrives while the lab computes (no wait to interrupt): the next exchange acts on it."""

    class SignalDuringSecondCase:
        def run_started(self, *a): ...
        def case_finished(self, *a): ...
        def run_finished(self, *a): ...

        def case_started(self, index, total, case_id):
            self.index = index

        def step(self, name, sim_time_s, wall_s):
            if self.index == 2 and "Run the disturbance" in name and not stop.requested():
                os.kill(os.getpid(), signal.SIGTERM)

    holder = {}
    original = CampaignRun.__enter__

    def remember(self):
        holder["run"] = self
        return original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CampaignRun, "__enter__", remember)
        with pytest.raises(stop.StopRequested):
            run_cases(tmp_path / "run", ids=["g99.ov2.trip_time", "g99.of.trip_time", "g99.uf2.trip_time"],
                      listener=SignalDuringSecondCase())
    run = holder["run"]
    assert run.bench.sim.model.grid.output_on is False
    results = run.recorder.results
    assert results.run.status == "incomplete" and "SIGTERM" in results.run.reason
    assert [c.id for c in results.cases] == ["g99.ov2.trip_time"]
    assert verify_run(run.recorder.run_dir).ok


def test_a_stop_after_the_last_case_still_marks_the_run_incomplete(handlers, tmp_path):
    class SignalAtLastCaseEnd:
        def run_started(self, *a): ...
        def case_started(self, *a): ...
        def step(self, *a): ...
        def run_finished(self, *a): ...

        def case_finished(self, result):
            os.kill(os.getpid(), signal.SIGINT)  # recorded; no checkpoint comes before the run closes

    run = run_cases(tmp_path / "run", ids=["g99.ov2.trip_time"], listener=SignalAtLastCaseEnd())
    results = run.recorder.results
    assert results.run.status == "incomplete" and "SIGINT" in results.run.reason
    assert verify_run(run.recorder.run_dir).ok
