"""One engine behind both front doors (``rig run`` and pytest).

``prepare`` validates everything a run needs (plans, bench, DUT, output
directory, the envelope against every setpoint the cases will command)
before anything is opened. ``CampaignRun`` then starts the evidence record,
opens the bench, runs cases one by one and closes the record:

- a case that meets an instrument error, an instrument fault or an envelope
  breach, or a misbehaving charger, is recorded as an error with its
  evidence, the bench is made safe, and the run goes on;
- a stop request (Ctrl-C, SIGTERM) or an unexpected exception ends the run
  "incomplete", outputs off;
- evidence that cannot be written ends the run at once (``EvidenceWriteError``):
  a run must not go on energising the bench without its record.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rig import __version__
from rig.core import stop
from rig.config.bench_file import Bench, load_bench
from rig.evidence.signature import load_private_key, sign_manifest
from rig.run.bench_session import OpenBench, check_drivers, check_roles, open_bench
from rig.run.software import software_record
from rig.config.dut_file import load_dut_identity
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EvidenceWriteError, RigError, RigInputError
from rig.evidence.recorder import RunRecorder, utc_now_iso
from rig.config.plans import LoadedCase, PlanFiles, collect_plan_files, load_cases
from rig.core.decision import STATEMENT_ORDER, DecisionRule, Statement
from rig.evidence.report import RunPlots, plot_kind, render_report
from rig.core.results import (CaseResult, DutRecord, EvidenceMode, Limit, PlotRecord, RunInfo, RunResults, RunStatus, Uncertainty,
                         Verdict)
from rig.suites.platform import CannotJudge, DutNotReady, NotPerformed, ProcedureOutcome
from rig.core.roles import Csms
from rig.core.safety import bring_to_safe_state
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.config.yaml_source import load_extending


class RunListener(Protocol):
    """Who wants to follow the run live (the terminal progress, pytest)."""

    def run_started(self, total: int, bench: str, out_dir: Path) -> None: ...

    def case_started(self, index: int, total: int, case_id: str) -> None: ...

    def step(self, name: str, sim_time_s: float, wall_s: float) -> None: ...

    def case_finished(self, result: CaseResult) -> None: ...

    def run_finished(self, results: RunResults, out_dir: Path) -> None: ...


def refuse_outside_envelope(cases: list[LoadedCase], guard: EnvelopeGuard) -> None:
    """Check every setpoint and every change every case will command, before anything is energised."""
    checked_plans: set[int] = set()
    for loaded in cases:
        changes = [] if id(loaded.plan) in checked_plans else loaded.plan.setpoints()
        checked_plans.add(id(loaded.plan))
        for change in changes + loaded.case.setpoint_changes(loaded.plan):
            what = f"{loaded.source} case {loaded.case.id} {change.what or change.quantity}"
            if change.how == "level":
                guard.check(change.quantity, change.new, what=what)
                continue
            what += f" {change.old:g} -> {change.new:g}"
            if change.how == "fixed":
                guard.check_fixed_change(change.quantity, change.old, change.new, what=what)
            elif change.how == "ramp":
                guard.check_ramp(change.quantity, change.old, change.new, change.duration_s, what=what)
            else:
                guard.check_step(change.quantity, change.old, change.new, what=what)


def _finite(measured: dict[str, float | None]) -> dict[str, float | None]:
    """A value that is not a finite number was not measured (and JSON could not hold it)."""
    return {name: value if value is None or math.isfinite(value) else None for name, value in measured.items()}


@dataclass(frozen=True)
class Judgement:
    """A case's verdict under its plan's decision rule, with the acceptance zone of each limit."""

    verdict: Verdict
    acceptance: dict[str, Limit]
    problems: list[str]


def judge(measured: dict[str, float | None], uncertainty: dict[str, Uncertainty], limits: dict[str, Limit],
          rule: DecisionRule) -> Judgement:
    """Pass only when every limited value was measured, has its uncertainty, and lies in its acceptance zone.

    A value that was not measured fails (the DUT did not do what the case
    looks for); a measured value without an uncertainty is a rig defect and
    makes the case an error, never a pass. A value inside the limit but in
    the guard band of a guarded rule cannot be decided: an error saying so,
    neither a pass nor a fail (a value outside the limit fails). Under the
    non-binary rule each value gets its statement and the case the worst.
    """
    zones: dict[str, Limit] = {}
    problems: list[str] = []
    passed = True
    statements: list[Statement] = []
    for name, limit in limits.items():
        value = measured.get(name)
        if value is None:
            passed = False
            continue
        if name not in uncertainty:
            problems.append(f"cannot judge: {name} was measured without its uncertainty (a rig defect)")
            continue
        zones[name] = rule.acceptance_zone(limit, uncertainty[name])
        if rule.rule == "non_binary":
            statements.append(rule.statement(limit, uncertainty[name], value))
            continue
        if limit.admits(value) and not zones[name].admits(value):
            problems.append(f"cannot decide {name}: {value:g} lies inside the limit but within the guard band of it "
                            f"(U = {uncertainty[name].expanded:g}): the measurement cannot tell a pass from a fail")
            continue
        passed = passed and zones[name].admits(value)
    if statements and passed and not problems:  # the worst statement of the values (all were measured)
        return Judgement(max(statements, key=STATEMENT_ORDER.index), zones, problems)
    verdict: Verdict = "error" if problems else ("pass" if passed else "fail")
    return Judgement(verdict, zones, problems)


@dataclass(frozen=True)
class RunRequest:
    plan_paths: list[Path]
    bench_path: Path
    dut_path: Path | None
    out_dir: Path
    seed: int | None = None
    use_allure: bool = False
    evidence: EvidenceMode = "full"
    """"verdicts only" is for the rig's own tests that judge verdicts (not durability, plots or the report):
    no plot worker, no report, writes not fsynced; results.json says so."""


@dataclass(frozen=True)
class PreparedRun:
    """Everything validated; nothing opened yet."""

    request: RunRequest
    cases: list[LoadedCase]
    bench: Bench
    seed: int
    profile: DutProfile | None
    """The simulated charger's behaviour (simulated benches only)."""
    dut: DutRecord
    inputs: dict[Path, str]
    """Each input file read (resolved path) -> where the evidence keeps its copy."""
    plan_copies: list[str]
    """The copies of the plan and campaign files, campaigns first (results.json ``run.plans``)."""
    signer: tuple[Ed25519PrivateKey, str] | None = None
    """The bench's signing key and its name (``signing:``), loaded before anything opens; None: runs unsigned."""

    def evidence_source(self, loaded: LoadedCase) -> str:
        """Where a case is written, as ``file:line`` of the plan's copy in the run directory."""
        return f"{self.inputs[loaded.plan_file.resolve()]}:{loaded.line}"


def check_out_dir(out: Path) -> None:
    """Refuse a run directory that holds anything or cannot be made, before anything opens.

    The evidence is staged beside the run directory, so its parent must be
    writable too.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RigInputError(f"--out {out}: the run directory exists and is not empty; choose a new one "
                            "so no earlier evidence is overwritten")
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise RigInputError(f"--out {out}: cannot make the run directory: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise RigInputError(f"--out {out}: cannot make the run directory: {ancestor} is not writable")


def _input_copies(plan_files: PlanFiles, bench: Path, dut: Path) -> dict[Path, str]:
    """Plans and campaigns keep their folder layout below their common folder, so no two collide."""
    files = [p.resolve() for p in plan_files.all]
    root = Path(os.path.commonpath([p.parent for p in files]))
    copies = {p: f"inputs/plans/{p.relative_to(root).as_posix()}" for p in files}
    copies[bench.resolve()] = "inputs/bench.yaml"
    copies.update(_dut_copies(dut))
    return copies


DUT_COPY = "inputs/dut.yaml"


def _dut_copies(dut: Path) -> dict[Path, str]:
    """The DUT file as ``inputs/dut.yaml``; a profile that extends others (``extends:``) keeps its whole chain
    in its folder layout under ``inputs/dut/``, so the copy reads back as the same charger."""
    chain = [Path(p).resolve() for p in load_extending(dut).sources]
    if len(chain) <= 1:
        return {dut.resolve(): DUT_COPY}
    root = Path(os.path.commonpath([p.parent for p in chain]))
    return {p: f"inputs/dut/{p.relative_to(root).as_posix()}" for p in chain}


def _dut_record(request: RunRequest, simulated: bool) -> tuple[DutRecord, DutProfile | None]:
    if request.dut_path is None:
        raise RigInputError("a real bench needs the identity of the charger under test: --dut FILE "
                            "(dut, identity: manufacturer, model, serial, firmware; see fixtures/duts/README.md)")
    if simulated:
        profile = load_dut_profile(request.dut_path)
        name, description, identity = profile.dut, profile.description, profile.identity
        ocpp_identity = profile.ocpp.identity if profile.ocpp is not None else None
        declared = profile.losses.declared
    else:
        profile = None
        known = load_dut_identity(request.dut_path)
        name, description, identity = known.dut, known.description, known.identity
        ocpp_identity = known.ocpp_identity
        declared = known.declared
    record = DutRecord(name=name, description=description, simulated=simulated, ocpp_identity=ocpp_identity,
                       declared=declared.model_dump() if declared is not None else None,
                       file=_dut_copies(request.dut_path)[request.dut_path.resolve()],
                       **identity.model_dump())
    return record, profile


def prepare(request: RunRequest) -> PreparedRun:
    """Load and validate plans, bench, DUT and output directory; check the envelope. Raises RigInputError (exit 2)."""
    check_out_dir(request.out_dir)
    if request.seed is not None and request.seed < 0:
        raise RigInputError(f"--seed {request.seed}: a seed is a whole number, 0 or more")
    bench = load_bench(request.bench_path)
    simulated = bench.simulated_lab is not None
    dut, profile = _dut_record(request, simulated)
    plan_files = collect_plan_files(request.plan_paths)
    cases = load_cases(request.plan_paths)
    check_drivers(bench)
    check_roles(bench, {role: c.case.id for c in reversed(cases) for role in c.procedure.roles},
                {section: c.case.id for c in reversed(cases) for section in c.procedure.sections})
    refuse_outside_envelope(cases, EnvelopeGuard.from_bench(bench))
    if request.seed is not None:
        seed = request.seed
    else:
        seed = bench.simulated_lab.seed if bench.simulated_lab is not None else 0
    assert request.dut_path is not None  # _dut_record refused a run without one
    inputs = _input_copies(plan_files, request.bench_path, request.dut_path)
    signer = None
    if bench.signing is not None:
        key_path = request.bench_path.parent / bench.signing.key
        signer = (load_private_key(key_path, what=f"{request.bench_path}: signing.key"), bench.signing.name)
    return PreparedRun(request, cases, bench, seed, profile, dut, inputs, [inputs[p.resolve()] for p in plan_files.all],
                       signer)


class CampaignRun:
    """A run in progress: ``with CampaignRun(prepared) as run: run.run_case(case)``."""

    def __init__(self, prepared: PreparedRun, listener: RunListener | None = None) -> None:
        self.prepared = prepared
        self.listener = listener
        self._stack = ExitStack()
        self.recorder: RunRecorder | None = None
        self.bench: OpenBench | None = None
        self._plots = RunPlots(enabled=prepared.request.evidence == "full")
        self._done = 0
        self._wall0 = time.perf_counter()
        self._sim0 = 0.0
        self._not_ready: str | None = None
        """Why the bench is no longer energised for the cases left (the DUT did not become ready)."""

    # -- opening -------------------------------------------------------------------------------

    def __enter__(self) -> "CampaignRun":
        try:
            return self._open()
        except BaseException as err:
            # Whatever was opened goes back to its safe state; the record (if started) says why.
            self.__exit__(type(err), err, err.__traceback__)
            raise

    def _open(self) -> "CampaignRun":
        prepared, request = self.prepared, self.prepared.request
        self._wall0 = time.perf_counter()
        stop.checkpoint()
        self._plots.start()  # first, so the plot worker's imports overlap opening the bench
        software, differs = software_record()
        self.recorder = RunRecorder.create(request.out_dir, RunInfo(
            started=utc_now_iso(), bench=prepared.bench.bench, bench_file="inputs/bench.yaml",
            dut=prepared.dut, rig_version=__version__, seed=prepared.seed, plans=prepared.plan_copies,
            software=software, software_differs=differs, evidence=request.evidence),
            durable=request.evidence == "full")
        for source, copy in prepared.inputs.items():
            self.recorder.write_bytes(copy, source.read_bytes())
        self.bench = self._stack.enter_context(
            open_bench(prepared.bench, profile=prepared.profile, seed=prepared.seed, use_allure=request.use_allure,
                       dut=prepared.dut))
        self._sim0 = self.bench.lab.clock.now()
        csms = self.bench.instruments.get("csms")
        if isinstance(csms, Csms) and prepared.dut.ocpp_identity is not None:
            csms.serve_only(prepared.dut.ocpp_identity)  # the charger under test, no other
        self.recorder.record_instruments(self.bench.identities)
        self.bench.lab.steps.listeners.append(self._on_step)
        if self.listener:
            self.listener.run_started(len(prepared.cases), prepared.bench.bench, request.out_dir)
        return self

    def _on_step(self, name: str) -> None:
        if self.listener and self.bench:
            self.listener.step(name, self.bench.lab.clock.now() - self._sim0, time.perf_counter() - self._wall0)

    # -- cases ---------------------------------------------------------------------------------

    def run_case(self, loaded: LoadedCase) -> CaseResult:
        assert self.bench is not None and self.recorder is not None
        stop.checkpoint()
        lab, case = self.bench.lab, loaded.case
        self._done += 1
        if self.listener:
            self.listener.case_started(self._done, len(self.prepared.cases), case.id)
        lab.steps.start_case()
        sim0, wall0 = lab.clock.now(), time.perf_counter()
        limits = case.limit_map()
        rule = loaded.plan.decision_rule
        base: dict[str, Any] = dict(id=case.id, suite=loaded.plan.suite, clause=loaded.plan.clause_record(case.clause),
                                    procedure=case.procedure, limits=limits, setting=case.setting_record(),
                                    params=case.params.model_dump(), source=self.prepared.evidence_source(loaded),
                                    decision_rule=rule.record())
        if self._not_ready is not None:
            result = CaseResult(**base, verdict="skip", error=f"not run: {self._not_ready}")
            return self._record(result)
        measured: dict[str, float | None] = {}
        skipped: str | None = None
        findings: list[str] = []
        uncertainty: dict[str, Uncertainty] = {}
        traces: list[str] = []
        plot: PlotRecord | None = None
        problems: list[str] = []
        try:
            outcome = loaded.procedure.run(lab, loaded.plan, case)
            measured, uncertainty, findings = _finite(outcome.measured), outcome.uncertainty, outcome.findings
            traces, plot = self._write_outcome(case.id, outcome)
        except EvidenceWriteError:
            raise
        except NotPerformed as err:
            skipped = f"not performed: {err}"
            if err.evidence is not None:
                measured, uncertainty = _finite(err.evidence.measured), err.evidence.uncertainty
                findings = err.evidence.findings
                traces, plot = self._write_outcome(case.id, err.evidence)
        except CannotJudge as err:
            problems.append(f"{type(err).__name__}: {err}")
            if err.evidence is not None:  # kept to show why; its values are recorded but judge nothing
                measured, uncertainty = _finite(err.evidence.measured), err.evidence.uncertainty
                findings = err.evidence.findings
                traces, plot = self._write_outcome(case.id, err.evidence)
        except DutNotReady as err:
            problems.append(f"{type(err).__name__}: {err}")
            self._not_ready = f"the DUT did not become ready in case {case.id} ({err}); the bench stays off"
        except RigError as err:
            problems.append(f"{type(err).__name__}: {err}")
        problems += self._instrument_faults()
        if skipped is not None and not problems:
            result = CaseResult(**base, verdict="skip", measured=measured, uncertainty=uncertainty, findings=findings,
                                traces=traces, plot=plot, error=skipped, steps=list(lab.steps.steps),
                                sim_started_s=round(sim0 - self._sim0, 6),
                                sim_finished_s=round(lab.clock.now() - self._sim0, 6),
                                wall_seconds=round(time.perf_counter() - wall0, 6))
            return self._record(result)
        judgement = judge(measured, uncertainty, limits, rule)
        problems += judgement.problems
        if problems:
            # An instrument error, fault or envelope breach, or a misbehaving charger: safe state, record, go on.
            with stop.deferred():
                unsafe = bring_to_safe_state(self.bench.instruments)
            if unsafe:
                problems.append(f"safe state problems: {'; '.join(unsafe)}")
        result = CaseResult(**base, verdict="error" if problems else judgement.verdict, measured=measured,
                            uncertainty=uncertainty, acceptance=judgement.acceptance, findings=findings,
                            traces=traces, plot=plot, error="; ".join(problems) or None,
                            steps=list(lab.steps.steps), sim_started_s=round(sim0 - self._sim0, 6),
                            sim_finished_s=round(lab.clock.now() - self._sim0, 6),
                            wall_seconds=round(time.perf_counter() - wall0, 6))
        return self._record(result)

    def _record(self, result: CaseResult) -> CaseResult:
        assert self.recorder is not None
        self.recorder.record_case(result)
        self._plots.case_recorded(self.recorder, result)
        if self.listener:
            self.listener.case_finished(result)
        return result

    def _instrument_faults(self) -> list[str]:
        """What each instrument reports as tripped or outside the envelope after a case."""
        assert self.bench is not None
        found: list[str] = []
        for role, instrument in self.bench.instruments.items():
            try:
                found += [f"instrument fault: {role}: {fault}" for fault in instrument.faults()]
            except RigError as err:
                found.append(f"instrument fault: {role}: its fault status could not be read: {err}")
        return found

    def _write_outcome(self, case_id: str, outcome: ProcedureOutcome) -> tuple[list[str], PlotRecord | None]:
        assert self.recorder is not None
        roles = self.bench.instruments.keys() if self.bench is not None else ()
        paths = {name: self.recorder.write_trace(case_id, name, frame, {"case": case_id},
                                                 role=outcome.trace_roles.get(name, name if name in roles else None))
                 for name, frame in outcome.traces.items()}
        for name, data in outcome.files.items():
            paths[name] = self.recorder.write_bytes(self.recorder.trace_path(case_id, name, suffix="")
                                                    .relative_to(self.recorder.run_dir).as_posix(), data)
        request = outcome.plot
        if request is None:
            return list(paths.values()), None
        kind = plot_kind(request.kind)
        if not isinstance(request.options, kind.options):
            raise TypeError(f"a {request.kind} plot takes {kind.options.__name__}, not {type(request.options).__name__}")
        return list(paths.values()), PlotRecord(kind=request.kind, trace=paths[request.trace], title=case_id,
                                                options=request.options.model_dump(mode="json", exclude_unset=True))

    # -- closing -------------------------------------------------------------------------------

    def __exit__(self, exc_type, exc, tb) -> None:
        with stop.deferred():  # a second Ctrl-C must not cut the safe state or the record short
            try:
                self._close(exc_type, exc, tb)
            finally:
                self._plots.close()

    def _close(self, exc_type, exc, tb) -> None:
        status: RunStatus = "complete"
        reason: str | None = None
        if exc_type is None:
            if stop.requested():
                status, reason = "incomplete", f"stopped by {stop.requested()}; outputs were turned off"
        elif issubclass(exc_type, KeyboardInterrupt):
            status, reason = "incomplete", f"interrupted ({exc or 'Ctrl-C'}); outputs were turned off"
        elif isinstance(exc, EvidenceWriteError):
            where = exc.path
            if self.recorder is not None and exc.path.is_relative_to(self.recorder.run_dir):
                where = exc.path.relative_to(self.recorder.run_dir)  # evidence holds no local paths
            status, reason = "incomplete", f"evidence could not be written ({where}: {exc.reason}); outputs were turned off"
        else:
            status, reason = "incomplete", f"aborted by {exc_type.__name__}: {exc}"
        sim_seconds = (self.bench.lab.clock.now() - self._sim0) if self.bench else 0.0
        try:
            # Safe state, then close instruments and the simulated lab; the bench sees the exception.
            self._stack.__exit__(exc_type, exc, tb)
        except RigError as err:  # the safe state could not be confirmed: the record must say so
            if self.recorder is None:
                raise
            status, reason = "incomplete", f"{reason + '; ' if reason else ''}{err}"
        if self.recorder is None:
            return
        try:
            self._plots.finish(self.recorder)
            self.recorder.finish(status, reason, round(sim_seconds, 6), round(time.perf_counter() - self._wall0, 6))
            if self.prepared.request.evidence == "full":
                render_report(self.recorder.run_dir, self.recorder)
            self.recorder.seal()
            if self.prepared.signer is not None:
                sign_manifest(self.recorder.run_dir, *self.prepared.signer)
        except EvidenceWriteError as err:
            if exc is None:
                raise
            exc.add_note(f"the record could not be closed: {err}")
            return
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
