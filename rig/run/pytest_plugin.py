"""pytest front door: test plans collected as pytest items, run by the same engine as ``rig run``.

``pytest test_plans/g99/protection.yaml`` (or a campaign file) collects one
item per case. The first item opens the bench and starts the evidence
record; each item runs its case through ``CampaignRun.run_case`` and fails
when the case's verdict is not "pass"; the session's end closes the record
(incomplete if interrupted), so the run directory is the same evidence as
``rig run`` writes. With allure-pytest active (``--alluredir``), every
procedure step is an allure step.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from rig.run.engine import CampaignRun, PreparedRun, RunRequest, default_out_dir, prepare
from rig.core.errors import RigInputError
from rig.config.plans import LoadedCase, load_cases
from rig.core.results import CaseResult
from rig.evidence.report import plot_relpath
from rig.config.yaml_source import load_document

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUN_KEY = pytest.StashKey["RigSession"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rig", "v2g-rig test plans")
    group.addoption("--rig-bench", default=str(PROJECT_ROOT / "fixtures" / "benches" / "sim.yaml"),
                    help="bench file for collected test plans (default: the simulated lab)")
    group.addoption("--rig-dut", default=None,
                    help="DUT profile for the simulated lab (default: fixtures/duts/compliant.yaml), "
                         "or the DUT identity file on a real bench")
    group.addoption("--rig-out", default=None, help="run directory for the evidence (default reports/run-<time>)")
    group.addoption("--rig-seed", default=None, type=int, help="override the simulated lab's seed")


def _is_plan(path: Path) -> bool:
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        data = load_document(path).data
    except RigInputError:
        return False
    return ("suite" in data and "cases" in data) or ("campaign" in data and "suites" in data)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_plan(file_path):
        return PlanFile.from_parent(parent, path=file_path)
    return None


class PlanFile(pytest.File):
    def collect(self):
        try:
            cases = load_cases([self.path])
        except RigInputError as err:
            raise self.CollectError(str(err)) from None
        for loaded in cases:
            yield CaseItem.from_parent(self, name=loaded.case.id, loaded=loaded)


class CaseFailed(Exception):
    """A case whose verdict is not "pass"; its repr is the evidence row."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.id)
        self.result = result


class CaseItem(pytest.Item):
    def __init__(self, *, loaded: LoadedCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.add_marker(pytest.mark.rig_case)

    def runtest(self) -> None:
        session: RigSession = self.config.stash[RUN_KEY]
        result = session.run(self.loaded)
        recorder = session.run_ctx.recorder if session.run_ctx is not None else None
        _report_to_allure(result, recorder.run_dir if recorder is not None else None)
        if result.verdict != "pass":
            raise CaseFailed(result)

    def repr_failure(self, excinfo, style=None):  # type: ignore[no-untyped-def]
        if isinstance(excinfo.value, CaseFailed):
            r = excinfo.value.result
            lines = [f"{r.id} [{r.clause}]: {r.verdict.upper()}"]
            if r.error:
                lines.append(f"  error: {r.error}")
            for name, limit in r.limits.items():
                lines.append(f"  {name}: measured {r.measured.get(name)} {limit.unit}, "
                             f"limit {limit.min}..{limit.max} {limit.unit}")
            return "\n".join(lines)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.loaded.case.procedure}: {self.name}"


def _report_to_allure(result: CaseResult, run_dir: Path | None) -> None:
    """The case in allure: its clause as a label, its result, and its traces and plot from the run directory (a
    plot the plot worker has not drawn yet is left to the run's report)."""
    try:
        import allure
    except ImportError:  # pragma: no cover
        return
    allure.dynamic.title(result.id)
    allure.dynamic.description(str(result.clause))
    allure.dynamic.label("suite", result.suite)
    clause = result.clause
    allure.dynamic.label("clause", clause.text if clause.standard is None else f"{clause.standard} {clause.ref}")
    if clause.standard is not None:
        allure.dynamic.label("standard", clause.standard)
    allure.attach(json.dumps(result.model_dump(mode="json"), indent=2), name="case result",
                  attachment_type=allure.attachment_type.JSON)
    if run_dir is None:
        return
    for relpath in result.traces:
        path = run_dir / relpath
        if path.is_file():
            allure.attach.file(str(path), name=relpath, extension=path.suffix.lstrip("."))
    if result.plot is not None:
        svg = run_dir / plot_relpath(result.id)
        if svg.is_file():
            allure.attach.file(str(svg), name=f"plot {result.id}", attachment_type=allure.attachment_type.SVG)


class RigSession:
    """The one ``CampaignRun`` of a pytest session, opened by the first case that runs."""

    def __init__(self, config: pytest.Config, cases: list[LoadedCase]) -> None:
        self.config = config
        self.cases = cases
        self.run_ctx: CampaignRun | None = None
        self.prepared: PreparedRun | None = None

    def prepare(self) -> None:
        opt = self.config.getoption
        bench = Path(opt("--rig-bench"))
        dut = opt("--rig-dut")
        out = Path(opt("--rig-out")) if opt("--rig-out") else default_out_dir(Path(self.config.rootpath) / "reports")
        from rig.config.bench_file import load_bench

        simulated = load_bench(bench).simulated_lab is not None
        dut_path = Path(dut) if dut else (PROJECT_ROOT / "fixtures" / "duts" / "compliant.yaml" if simulated else None)
        use_allure = bool(getattr(self.config.option, "allure_report_dir", None))
        plan_files = list(dict.fromkeys(c.plan_file for c in self.cases))
        request = RunRequest(plan_files, bench, dut_path, out, opt("--rig-seed"), use_allure)
        # Only the collected (selected) cases run, in collection order.
        self.prepared = dataclasses.replace(prepare(request), cases=self.cases)

    def run(self, loaded: LoadedCase) -> CaseResult:
        if self.run_ctx is None:
            assert self.prepared is not None
            self.run_ctx = CampaignRun(self.prepared).__enter__()
        return self.run_ctx.run_case(loaded)

    def close(self, interrupted: bool) -> None:
        if self.run_ctx is not None:
            if interrupted:
                self.run_ctx.__exit__(KeyboardInterrupt, KeyboardInterrupt("pytest session interrupted"), None)
            else:
                self.run_ctx.__exit__(None, None, None)
            self.config.get_terminal_writer().line(
                f"v2g-rig evidence: {self.run_ctx.recorder.run_dir if self.run_ctx.recorder else '-'}")
            self.run_ctx = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rig_case: a case collected from a v2g-rig test plan")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # A campaign and the plan it lists collect the same cases: each case runs once.
    seen: set[str] = set()
    keep: list[pytest.Item] = []
    repeated: list[pytest.Item] = []
    for item in items:
        if isinstance(item, CaseItem):
            if item.loaded.case.id in seen:
                repeated.append(item)
                continue
            seen.add(item.loaded.case.id)
        keep.append(item)
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = keep
    cases = [item.loaded for item in items if isinstance(item, CaseItem)]
    if not cases:
        return
    rig_session = RigSession(config, cases)
    try:
        rig_session.prepare()
    except RigInputError as err:
        raise pytest.UsageError(str(err)) from None
    config.stash[RUN_KEY] = rig_session


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    rig_session = session.config.stash.get(RUN_KEY, None)
    if rig_session is not None:
        rig_session.close(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
