"""One engine behind both front doors (``rig run`` and pytest).

``CampaignRun`` opens the bench, starts the evidence record, runs cases one by
one and closes the record. Before anything is opened, every case's grid
levels are checked against the bench envelope, so a plan that would exceed
it is refused before anything is energised. A case that meets an instrument
error or a misbehaving charger is recorded as an error with its evidence,
the bench is made safe, and the run goes on; an interruption (Ctrl-C,
SIGTERM) or an unexpected exception ends the run "incomplete", outputs off.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rig import __version__
from rig.bench import Bench, load_bench
from rig.bench_session import OpenBench, check_roles, open_bench
from rig.envelope import EnvelopeGuard
from rig.errors import RigError, RigInputError
from rig.evidence import RunRecorder, utc_now_iso
from rig.plan import ENVELOPE_QUANTITY, AnyCase, LoadedCase, load_cases
from rig.procedures import PROCEDURES
from rig.procedures.outcome import ProcedureOutcome
from rig.report import render_report
from rig.results import CaseResult, Limit, RunInfo, RunResults, RunStatus, StaircasePlot, TripPlot, Verdict
from rig.safety import bring_to_safe_state
from rig.sim.dut_profile import load_dut_profile


class RunListener(Protocol):
    """Who wants to follow the run live (the terminal progress, pytest)."""

    def run_started(self, total: int, bench: str, out_dir: Path) -> None: ...

    def case_started(self, index: int, total: int, case_id: str) -> None: ...

    def step(self, name: str, sim_time_s: float, wall_s: float) -> None: ...

    def case_finished(self, result: CaseResult) -> None: ...

    def run_finished(self, results: RunResults, out_dir: Path) -> None: ...


def refuse_outside_envelope(cases: list[LoadedCase], guard: EnvelopeGuard) -> None:
    """Check every level every case will set, before anything is energised."""
    for loaded in cases:
        plan, case = loaded.plan, loaded.case
        guard.check("ac_voltage_v", plan.grid.voltage_v, what=f"{loaded.source} nominal voltage")
        guard.check("ac_frequency_hz", plan.grid.frequency_hz, what=f"{loaded.source} nominal frequency")
        guard.check_profile(ENVELOPE_QUANTITY[case.quantity], case.grid_levels(),
                            what=f"{loaded.source} case {case.id} {case.quantity} level")


def _setting_record(case: AnyCase) -> dict[str, float | str]:
    """The judged setting, its threshold named with its unit (``threshold_v`` / ``threshold_hz``)."""
    unit = "v" if case.quantity == "voltage" else "hz"
    return {"stage": case.setting.stage, f"threshold_{unit}": case.setting.threshold, "delay_s": case.setting.delay_s}


def judge(measured: dict[str, float | None], limits: dict[str, Limit]) -> Verdict:
    return "pass" if all(limit.admits(measured.get(name)) for name, limit in limits.items()) else "fail"


@dataclass(frozen=True)
class RunRequest:
    plan_paths: list[Path]
    bench_path: Path
    dut_path: Path | None
    out_dir: Path
    seed: int | None = None
    use_allure: bool = False


@dataclass(frozen=True)
class PreparedRun:
    """Everything validated; nothing opened yet."""

    request: RunRequest
    cases: list[LoadedCase]
    bench: Bench


def prepare(request: RunRequest) -> PreparedRun:
    """Load and validate plans and bench, and check the envelope. Raises RigInputError (exit 2)."""
    out = request.out_dir
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RigInputError(f"{out}: the run directory exists and is not empty; choose a new --out "
                            "so no earlier evidence is overwritten")
    bench = load_bench(request.bench_path)
    if request.dut_path is not None:
        load_dut_profile(request.dut_path)  # a bad profile is an input error now, not mid-run
    cases = load_cases(request.plan_paths)
    check_roles(bench, {role: c.case.id for c in reversed(cases) for role in PROCEDURES[c.case.procedure].roles})
    refuse_outside_envelope(cases, EnvelopeGuard.from_bench(bench))
    return PreparedRun(request, cases, bench)


class CampaignRun:
    """A run in progress: ``with CampaignRun(prepared) as run: run.run_case(case)``."""

    def __init__(self, prepared: PreparedRun, listener: RunListener | None = None) -> None:
        self.prepared = prepared
        self.listener = listener
        self._stack = ExitStack()
        self.recorder: RunRecorder | None = None
        self.bench: OpenBench | None = None
        self._done = 0

    # -- opening -------------------------------------------------------------------------------

    def __enter__(self) -> "CampaignRun":
        try:
            return self._open()
        except BaseException:
            self._stack.close()  # whatever was opened goes back to its safe state
            raise

    def _open(self) -> "CampaignRun":
        request = self.prepared.request
        self._wall0 = time.perf_counter()
        self.bench = self._stack.enter_context(
            open_bench(self.prepared.bench, request.dut_path, seed=request.seed, use_allure=request.use_allure))
        self._sim0 = self.bench.lab.clock.now()
        self.bench.lab.steps.listeners.append(self._on_step)
        plans = sorted({str(c.plan_file) for c in self.prepared.cases})
        self.recorder = RunRecorder.create(request.out_dir, RunInfo(
            started=utc_now_iso(), bench=f"{self.prepared.bench.bench} ({request.bench_path})",
            dut=self.bench.dut, rig_version=__version__, seed=self.bench.seed, plans=plans,
            instruments=self.bench.identities))
        self._keep_inputs(plans)
        if self.listener:
            self.listener.run_started(len(self.prepared.cases), self.prepared.bench.bench, request.out_dir)
        return self

    def _keep_inputs(self, plans: list[str]) -> None:
        """Copies of the plan, bench and DUT files, so the evidence says exactly what was run."""
        assert self.recorder is not None
        request = self.prepared.request
        for plan in plans:
            self.recorder.write_text(f"inputs/plans/{Path(plan).name}", Path(plan).read_text(encoding="utf-8"))
        self.recorder.write_text("inputs/bench.yaml", request.bench_path.read_text(encoding="utf-8"))
        if request.dut_path is not None:
            self.recorder.write_text("inputs/dut.yaml", request.dut_path.read_text(encoding="utf-8"))

    def _on_step(self, name: str) -> None:
        if self.listener and self.bench:
            self.listener.step(name, self.bench.lab.clock.now() - self._sim0, time.perf_counter() - self._wall0)

    # -- cases ---------------------------------------------------------------------------------

    def run_case(self, loaded: LoadedCase) -> CaseResult:
        assert self.bench is not None and self.recorder is not None
        lab, case = self.bench.lab, loaded.case
        self._done += 1
        if self.listener:
            self.listener.case_started(self._done, len(self.prepared.cases), case.id)
        lab.steps.start_case()
        sim0, wall0 = lab.clock.now(), time.perf_counter()
        limits = {name: Limit(**limit.model_dump()) for name, limit in dict(case.limits).items()}
        base: dict[str, Any] = dict(id=case.id, suite=loaded.plan.suite, clause=case.clause, procedure=case.procedure,
                    limits=limits, setting=_setting_record(case), params=case.params.model_dump(),
                    source=loaded.source)
        try:
            outcome = PROCEDURES[case.procedure].run(lab, loaded.plan, case)
            traces, plot = self._write_outcome(case.id, outcome, limits)
            result = CaseResult(**base, verdict=judge(outcome.measured, limits), measured=outcome.measured,
                                traces=traces, plot=plot)
        except RigError as err:
            # An instrument error or a misbehaving charger: record it, make the bench safe, go on.
            problems = bring_to_safe_state(self.bench.instruments)
            detail = str(err) + (f"; safe state problems: {'; '.join(problems)}" if problems else "")
            result = CaseResult(**base, verdict="error", error=f"{type(err).__name__}: {detail}")
        result = result.model_copy(update={
            "steps": list(lab.steps.steps), "sim_started_s": round(sim0 - self._sim0, 6),
            "sim_finished_s": round(lab.clock.now() - self._sim0, 6),
            "wall_seconds": round(time.perf_counter() - wall0, 6)})
        self.recorder.record_case(result)
        render_report(self.recorder.run_dir, self.recorder)
        if self.listener:
            self.listener.case_finished(result)
        return result

    def _write_outcome(self, case_id: str, outcome: ProcedureOutcome,
                       limits: dict[str, Limit]) -> tuple[list[str], TripPlot | StaircasePlot | None]:
        assert self.recorder is not None
        paths = {name: self.recorder.write_trace(case_id, name, frame, {"case": case_id})
                 for name, frame in outcome.traces.items()}
        request = outcome.plot
        if request is None:
            return list(paths.values()), None
        trace = paths[request.trace]
        if request.kind == "staircase":
            window = limits.get("trip_value")
            return list(paths.values()), StaircasePlot(
                trace=trace, quantity=request.quantity, quantity_unit=request.quantity_unit,
                threshold_a=request.threshold_a, title=case_id, setting=request.setting, trip_value=request.found,
                limit_min=window.min if window else None, limit_max=window.max if window else None)
        window = limits.get("trip_time_s")
        return list(paths.values()), TripPlot(
            trace=trace, quantity=request.quantity, quantity_unit=request.quantity_unit,
            threshold_a=request.threshold_a, title=case_id, trip_instant_s=request.found,
            limit_min_s=window.min if window else None, limit_max_s=window.max if window else None)

    # -- closing -------------------------------------------------------------------------------

    def __exit__(self, exc_type, exc, tb) -> None:
        status: RunStatus
        reason: str | None
        if exc_type is None:
            status, reason = "complete", None
        elif issubclass(exc_type, KeyboardInterrupt):
            status, reason = "incomplete", f"interrupted ({exc or 'Ctrl-C'}); outputs were turned off"
        else:
            status, reason = "incomplete", f"aborted by {exc_type.__name__}: {exc}"
        sim_seconds = (self.bench.lab.clock.now() - self._sim0) if self.bench else 0.0
        try:
            # Safe state, then close instruments and the simulated lab; the bench sees the exception.
            self._stack.__exit__(exc_type, exc, tb)
        except RigError as err:
            status, reason = "incomplete", f"{reason + '; ' if reason else ''}{err}"
            if exc_type is None:
                exc_type = type(err)
        finally:
            if self.recorder is not None:
                self.recorder.finish(status, reason, round(sim_seconds, 6), round(time.perf_counter() - self._wall0, 6))
                render_report(self.recorder.run_dir, self.recorder)
                if self.listener:
                    self.listener.run_finished(self.recorder.results, self.recorder.run_dir)


def run_campaign(request: RunRequest, listener: RunListener | None = None) -> RunResults:
    prepared = prepare(request)
    with CampaignRun(prepared, listener) as run:
        for loaded in prepared.cases:
            run.run_case(loaded)
    assert run.recorder is not None
    return run.recorder.results


def default_out_dir(root: Path) -> Path:
    """``reports/run-<UTC time>-<pid>``: unique for runs started side by side, sorted by time."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return root / f"run-{stamp}-{os.getpid()}"

