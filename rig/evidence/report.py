"""The HTML report: a view of the evidence on disk, for a certification body.

The report is rendered from results.json and the trace files as they are
on disk, never from the engine's memory, so anyone can rebuild it from a
run directory (``render_report(run_dir)``) and get the same document.

During a run the plots are drawn by the plot worker as each case ends and
committed as they come back (``RunPlots``); the report is rendered once, as
the run closes its record, on every way a run can end short of a kill (a
stopped run's report says INCOMPLETE). Whatever plot is still missing then
is drawn here, in this process. A run killed outright may lack plots and
its report; ``rig report DIR`` draws and renders them from its evidence.
Report and plots go through the evidence writer, so they are listed in
manifest.json like every other file.
"""

from __future__ import annotations

import base64

from collections import Counter
from dataclasses import dataclass, field
import functools
from pathlib import Path

import jinja2

import rig
from rig.core.errors import RigInputError
from rig.evidence.recorder import RESULTS, EvidenceDir, RunRecorder, read_results, safe_file_name
from rig.evidence import report_pdf
from rig.evidence.documents import CaseDocument, TraceDescriptor, has_documents, read_documents
from rig.evidence.traceability import clause_matrices
from rig.evidence.formatting import format_budget, format_limit, format_measured, format_number, format_setting
from rig.evidence.plot_worker import DrawnPlot, PlotWorker
from rig.evidence.plot_canvas import Drawing, PlotKind, draw_files, read_trace
from rig.core.results import BINARY_VERDICTS, VERDICTS, CaseResult, Limit, PlotRecord, RunResults
from rig.suites.platform import SummaryTable
from rig.suites import REGISTRY, SUITES
from rig.evidence.verify import verify_run

REPORT = "report.html"
PLOTS_DIR = "plots"

@dataclass
class CaseRow:
    """One table row of the report, already formatted."""

    case: CaseResult
    setting: str
    measured: list[str]
    limits: list[str]
    budgets: list[str] = field(default_factory=list)
    plot_file: str | None = None
    plot_problem: str | None = None


def plot_kind(name: str) -> PlotKind:
    """The plot kind ``name`` (names are global: ``g99.trip_time``), from the suite that draws it; ValueError if none."""
    kind = next((suite.plot_kinds[name] for suite_name in REGISTRY if name in (suite := SUITES[suite_name]).plot_kinds),
                None)
    if kind is None:
        raise ValueError(f"no suite draws plots of kind {name!r}")
    return kind


def read_drawing(path: Path, plot: PlotRecord) -> Drawing:
    """What the plot of the trace file at ``path`` shows, by the plot kind its suite gives
    (OSError or ValueError if the trace cannot be read or lacks a column the kind needs)."""
    kind = plot_kind(plot.kind)
    trace = read_trace(path, kind.columns)
    missing = [name for name in kind.columns if name not in trace]
    if missing:
        raise ValueError(f"trace {plot.trace} lacks column(s) {', '.join(missing)} needed for a {plot.kind} plot")
    return kind.drawing(trace, plot.title or plot.trace, kind.options.model_validate(plot.options, strict=False))


@dataclass
class SuiteSection:
    name: str
    rows: list[CaseRow] = field(default_factory=list)

    @property
    def decision_rules(self) -> list[str]:
        """The decision rule statements its cases were judged under (one per plan, in order)."""
        return list(dict.fromkeys(row.case.decision_rule.statement for row in self.rows if row.case.decision_rule))


def plot_relpath(case_id: str) -> str:
    """Where a case's plot lives in the run directory (its JPEG for the PDF beside it: ``raster_relpath``)."""
    return f"{PLOTS_DIR}/{safe_file_name(case_id)}.svg"


def raster_relpath(svg_relpath: str) -> str:
    """The JPEG of the same plot, which the PDF shows."""
    return svg_relpath.removesuffix(".svg") + ".jpg"


def _write_plot(evidence: EvidenceDir, relpath: str, drawing: Drawing) -> None:
    """Draw a plot and write whichever of its SVG and JPEG is not in the run yet (a run recorded before
    the PDF report existed keeps its SVG and gains the JPEG)."""
    files = draw_files(drawing)
    for path, data in ((relpath, files.svg), (raster_relpath(relpath), files.jpeg)):
        if not (evidence.run_dir / path).exists():
            evidence.write_bytes(path, data)


def _ensure_plot(run_dir: Path, evidence: EvidenceDir, case_id: str,
                 plot: PlotRecord) -> tuple[str | None, str | None]:
    """Draw a case's plot once: existing files are kept. Returns (plot path, problem)."""
    relpath = plot_relpath(case_id)
    if (run_dir / relpath).exists() and (run_dir / raster_relpath(relpath)).exists():
        return relpath, None
    try:
        _write_plot(evidence, relpath, read_drawing(run_dir / plot.trace, plot))
    except (OSError, ValueError) as error:  # a damaged run still gets its report
        return None, f"plot not drawn: trace {plot.trace}: {error}"
    return relpath, None


class RunPlots:
    """A run's plots: sent to the plot worker as each case is recorded, committed as they come back.

    ``start`` when the run starts, ``case_recorded`` after each case,
    ``finish`` before the run's record is closed (it waits for the plots
    still being drawn), ``close`` on every way out. Without a worker (it
    could not start, or died) nothing is lost: ``render_report`` draws
    every plot that is missing when the report is rendered.
    """

    ANSWER_TIMEOUT_S = 30.0
    """How long ``finish`` waits for the next plot before it leaves the rest to the report."""

    def __init__(self, *, enabled: bool = True) -> None:
        """``enabled`` False: no worker and no plots (a verdicts-only run)."""
        self._worker: PlotWorker | None = None
        self._enabled = enabled

    def start(self) -> None:
        if self._enabled:
            self._worker = PlotWorker.start()

    def case_recorded(self, evidence: EvidenceDir, case: CaseResult) -> None:
        """Send the case's plot to the worker, and commit the plots it has finished so far."""
        if self._worker is None:
            return
        if case.plot is not None:
            try:
                self._worker.submit(case.id, read_drawing(evidence.run_dir / case.plot.trace, case.plot))
            except (OSError, ValueError):
                pass  # a trace that cannot be drawn: the report tries again and says why
        self._commit(evidence, self._worker.answers())

    def finish(self, evidence: EvidenceDir) -> None:
        """Commit every plot the worker still owes (each within ``ANSWER_TIMEOUT_S``)."""
        while self._worker is not None and self._worker.outstanding:
            answers = self._worker.answers(timeout_s=self.ANSWER_TIMEOUT_S)
            if not answers:
                break
            self._commit(evidence, answers)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    @staticmethod
    def _commit(evidence: EvidenceDir, answers: list[DrawnPlot]) -> None:
        for answer in answers:
            if answer.svg is not None and answer.jpeg is not None:
                evidence.write_bytes(plot_relpath(answer.case_id), answer.svg)
                evidence.write_bytes(raster_relpath(plot_relpath(answer.case_id)), answer.jpeg)


def _limit_line(name: str, limit: Limit, zone: Limit | None) -> str:
    """The limit, and the acceptance zone the decision rule made of it when that differs."""
    line = f"{name}: {format_limit(limit)}"
    if zone is not None and (zone.min, zone.max) != (limit.min, limit.max):
        line += f" (accepted: {format_limit(zone)})"
    return line


def _row(run_dir: Path, evidence: EvidenceDir, case: CaseResult) -> CaseRow:
    plot_file, plot_problem = (
        _ensure_plot(run_dir, evidence, case.id, case.plot) if case.plot is not None else (None, None)
    )
    return CaseRow(
        case=case,
        setting=format_setting(case.setting),
        measured=[format_measured(name, value, case.limits.get(name), case.uncertainty.get(name))
                  for name, value in case.measured.items()],
        limits=[_limit_line(name, limit, case.acceptance.get(name)) for name, limit in case.limits.items()],
        budgets=[f"{name}: {format_budget(u)}" for name, u in case.uncertainty.items()],
        plot_file=plot_file,
        plot_problem=plot_problem,
    )


def _suites(run_dir: Path, evidence: EvidenceDir, results: RunResults) -> list[SuiteSection]:
    """Cases grouped by suite, suites and cases in the order they ran."""
    sections: dict[str, SuiteSection] = {}
    for case in results.cases:
        sections.setdefault(case.suite, SuiteSection(case.suite)).rows.append(_row(run_dir, evidence, case))
    return list(sections.values())


def _inline_plot(run_dir: Path, relpath: str) -> str:
    """A plot as a data URI, so report.html is one file that opens anywhere offline (the SVG stays in plots/ as
    evidence; an image, not inline markup, so no two plots' element ids can meet in one document)."""
    return "data:image/svg+xml;base64," + base64.b64encode((run_dir / relpath).read_bytes()).decode("ascii")


def _inline_raster(run_dir: Path, relpath: str) -> str:
    """The PDF's picture of the plot whose SVG is ``relpath``, as a data URI."""
    return "data:image/jpeg;base64," + base64.b64encode((run_dir / raster_relpath(relpath)).read_bytes()).decode("ascii")


def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("rig.evidence", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html")


def render_report(run_dir: Path, recorder: RunRecorder | None = None) -> Path:
    """Render ``report.html`` and ``report.pdf`` (and any missing plots) from the run directory's evidence.

    With ``recorder`` (during a run) files are written through it; without
    one (rebuilding a report later) the run must first verify against its
    manifest, so a report is never rendered from (and sealed over) evidence
    that was changed: the new files are then added to the existing manifest.
    """
    if recorder is not None and recorder.run_dir.resolve() != run_dir.resolve():
        raise ValueError(f"recorder writes {recorder.run_dir}, not {run_dir}")
    if recorder is not None:
        return _render(run_dir, recorder)
    check = verify_run(run_dir)
    if not check.ok:
        detail = check.problem or "; ".join(
            [f"changed {p}" for p in check.changed] + [f"missing {p}" for p in check.missing]
            + [f"unlisted {p}" for p in check.unlisted])
        raise RigInputError(f"{run_dir}: not rendered: the evidence does not verify ({detail}); "
                            "run `rig verify` for details")
    evidence = RunRecorder.reopen(run_dir)
    if not (run_dir / RESULTS).exists():
        evidence.write_results_view()  # a killed run: its documents' view, as a closed run has it
    path = _render(run_dir, evidence)
    evidence.close()
    return path


@dataclass
class SectionView:
    """A suite's own part of the report, ready for the template: its tables, and its figures as drawn files
    (or why one could not be drawn)."""

    tables: list[SummaryTable]
    figures: list[tuple[str, str | None, str | None]]
    """(caption, plot file relative to the run, problem)."""


def _sections(evidence: EvidenceDir, results: RunResults) -> list[SectionView]:
    """Each suite's own part of the report (summary tables, figures drawn from several cases), in the order the
    suites ran; figures are drawn here and kept as ``plots/suite-<suite>-<name>.svg``."""
    sections = []
    for name in dict.fromkeys(case.suite for case in results.cases):
        suite = SUITES[name] if name in REGISTRY else None
        if suite is None or suite.report is None:
            continue
        section = suite.report([case for case in results.cases if case.suite == name])
        if section is None:
            continue
        figures: list[tuple[str, str | None, str | None]] = []
        for figure in section.figures:
            relpath = f"{PLOTS_DIR}/suite-{safe_file_name(name)}-{safe_file_name(figure.name)}.svg"
            try:
                _write_plot(evidence, relpath, figure.drawing)
                figures.append((figure.caption, relpath, None))
            except (ValueError, TypeError) as error:  # a figure that cannot be drawn is said, not fatal
                figures.append((figure.caption, None, f"not drawn: {error}"))
        sections.append(SectionView(list(section.tables), figures))
    return sections


def _descriptors(run_dir: Path) -> dict[str, TraceDescriptor]:
    """Every trace's descriptor by its path, from the case documents (none for a run recorded before them)."""
    if not has_documents(run_dir):
        return {}
    return {d.path: d for document in read_documents(run_dir) if isinstance(document, CaseDocument)
            for d in document.descriptors}


def _render(run_dir: Path, evidence: EvidenceDir) -> Path:
    """report.html, then report.pdf from the same document (plots as JPEG); a machine that cannot render the PDF
    says so in the HTML report."""
    results = read_results(run_dir)
    counts = Counter(case.verdict for case in results.cases)
    matrices, other_clauses = clause_matrices(results)
    document = functools.partial(
        _template().render,
        matrices=matrices,
        other_clauses=other_clauses,
        run=results.run,
        suites=_suites(run_dir, evidence, results),
        sections=_sections(evidence, results),
        counts={verdict: counts[verdict] for verdict in VERDICTS if counts[verdict] or verdict in BINARY_VERDICTS},
        total=len(results.cases),
        format_number=format_number,
        rendered_by=rig.__version__,
        descriptors=_descriptors(run_dir),
    )
    pdf, pdf_note = None, report_pdf.pdf_problem()
    if pdf_note is None:
        try:
            printed = document(plot_src=lambda relpath: _inline_raster(run_dir, relpath), medium="print", pdf_note=None)
            pdf = report_pdf.pdf_bytes(printed, run_dir, results.run.started)
        except (OSError, ValueError) as error:  # the evidence is complete without it: said in the HTML report
            pdf_note = f"report.pdf not rendered: {error}"
    evidence.write_text(REPORT, document(plot_src=lambda relpath: _inline_plot(run_dir, relpath), medium="screen",
                                         pdf_note=pdf_note))
    if pdf is not None:
        evidence.write_bytes(report_pdf.PDF, pdf)
    return run_dir / REPORT
