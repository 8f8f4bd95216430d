"""Every exit path ends with outputs off and a record that says what happened.

Ctrl-C or an unexpected exception mid-case: outputs off, status "incomplete",
and ``rig verify`` passes on what was written. An instrument error or a
misbehaving charger: the case is an "error" with its reason, the bench is
made safe, and the run goes on to the next case.
"""

from __future__ import annotations

import pytest

from campaign_helpers import run_cases
from rig.run.engine import CampaignRun
from rig.core.errors import InstrumentError
from rig.suites.g99.procedures import PROCEDURES
from rig.suites.platform import Procedure
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

SHORT = ["g99.ov2.trip_time", "g99.of.trip_time", "g99.ov2.no_trip.277_7v"]


class InterruptAtStep:
    """A listener that presses Ctrl-C when a step whose name contains ``text`` starts in case ``case_no``."""

    def __init__(self, case_no: int, text: str) -> None:
        self.case_no, self.text, self.current = case_no, text, 0

    def run_started(self, *a) -> None: ...
    def case_finished(self, *a) -> None: ...
    def run_finished(self, *a) -> None: ...

    def case_started(self, index, total, case_id) -> None:
        self.current = index

    def step(self, name, sim_time_s, wall_s) -> None:
        if self.current == self.case_no and self.text in name:
            raise KeyboardInterrupt


def _run_until_interrupted(tmp_path, listener) -> CampaignRun:
    holder: dict[str, CampaignRun] = {}
    original_init = CampaignRun.__init__

    def remember(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        holder["run"] = self

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CampaignRun, "__init__", remember)
        with pytest.raises(KeyboardInterrupt):
            run_cases(tmp_path / "run", ids=SHORT, listener=listener)
    return holder["run"]


def test_ctrl_c_mid_case_leaves_outputs_off_and_an_incomplete_verifiable_record(tmp_path):
    run = _run_until_interrupted(tmp_path, InterruptAtStep(2, "Run the disturbance"))
    grid = run.bench.sim.model.grid
    assert grid.output_on is False, "the grid simulator's output must be off after Ctrl-C"
    assert not run.bench.sim.model.charger.conduction.conducting_at(run.bench.sim.model.now)
    results = run.recorder.results
    assert results.run.status == "incomplete"
    assert "interrupted" in results.run.reason
    assert [c.id for c in results.cases] == SHORT[:1]
    assert verify_run(run.recorder.run_dir).ok
    assert "INCOMPLETE" in (run.recorder.run_dir / "report.html").read_text()


def test_unexpected_exception_mid_case_leaves_outputs_off_and_an_incomplete_record(tmp_path, monkeypatch):
    def broken_procedure(lab, plan, case):
        lab.grid.apply(plan.grid.voltage_v, plan.grid.frequency_hz)
        lab.grid.output(True)
        raise ZeroDivisionError("a bug in a procedure")

    monkeypatch.setitem(PROCEDURES, "no_trip", Procedure(broken_procedure, roles=("grid",)))
    holder: dict[str, CampaignRun] = {}
    original_enter = CampaignRun.__enter__

    def remember(self):
        holder["run"] = self
        return original_enter(self)

    monkeypatch.setattr(CampaignRun, "__enter__", remember)
    with pytest.raises(ZeroDivisionError):
        run_cases(tmp_path / "run", ids=SHORT)
    run = holder["run"]
    assert run.bench.sim.model.grid.output_on is False
    results = run.recorder.results
    assert results.run.status == "incomplete" and "ZeroDivisionError" in results.run.reason
    assert verify_run(run.recorder.run_dir).ok


def test_instrument_error_is_a_recorded_case_error_and_the_run_goes_on(tmp_path, monkeypatch):
    real = PROCEDURES["trip_time"].run
    calls = {"n": 0}

    def flaky(lab, plan, case):
        calls["n"] += 1
        if calls["n"] == 1:
            lab.grid.output(True)
            raise InstrumentError("grid", "MEAS:CURR:AC?", "no answer: timeout")
        return real(lab, plan, case)

    monkeypatch.setitem(PROCEDURES, "trip_time", Procedure(flaky, roles=("grid", "capture")))
    run = run_cases(tmp_path / "run", ids=SHORT)
    verdicts = {c.id: c.verdict for c in run.recorder.results.cases}
    assert verdicts == {"g99.ov2.trip_time": "error", "g99.of.trip_time": "pass", "g99.ov2.no_trip.277_7v": "pass"}
    errored = run.recorder.results.cases[0]
    assert "MEAS:CURR:AC?" in errored.error and "timeout" in errored.error
    assert run.recorder.results.run.status == "complete"
    assert run.bench.sim.model.grid.output_on is False


def test_charger_that_never_exports_is_an_error_with_its_reason(tmp_path):
    from campaign_helpers import profile_variant

    def never_reconnects(data):
        data["ac_port"]["reconnection"]["delay_s"] = 1000.0

    dut = profile_variant(tmp_path, "never", never_reconnects)
    run = run_cases(tmp_path / "run", ids=SHORT[:2], dut=dut)
    cases = run.recorder.results.cases
    # One clear finding: the first case errors with the reason; the bench is not energised again for the rest.
    assert [c.verdict for c in cases] == ["error", "skip"]
    assert "did not export" in cases[0].error and "declared reconnection time 20 s" in cases[0].error
    assert cases[1].error.startswith(f"not run: the DUT did not become ready in case {SHORT[0]}")


def test_a_charger_beyond_the_current_envelope_is_one_error_with_outputs_off_and_the_rest_not_run(tmp_path):
    """26 A of export on a bench limited to 10 A: the source's own limit (set from the envelope) trips it,
    the engine reads the trip, records the case as an error, makes the bench safe, and records the cases
    left as not run rather than energising the bench into the same breach again."""
    import yaml

    from campaign_helpers import SIM_BENCH

    data = yaml.safe_load(SIM_BENCH.read_text())
    data["envelope"]["ac_current_a"] = {"max": 10.0}
    bench = tmp_path / "tight.yaml"
    bench.write_text(yaml.safe_dump(data, sort_keys=False))
    run = run_cases(tmp_path / "run", ids=SHORT, bench=bench)
    cases = run.recorder.results.cases
    # The first case records the breach; the bench is not energised into it again (the rest are skipped).
    assert [c.verdict for c in cases] == ["error"] + ["skip"] * (len(SHORT) - 1)
    assert "OCP" in cases[0].error and "did not export" in cases[0].error
    assert all(c.id in cases[0].id or SHORT[0] in c.error for c in cases[1:])
    assert run.bench.sim.model.grid.output_on is False
    assert run.recorder.results.run.status == "complete"
    assert verify_run(run.recorder.run_dir).ok
