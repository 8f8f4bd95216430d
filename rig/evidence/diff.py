"""``rig diff RUN_A RUN_B``: what changed between two runs, as a type-approval body compares a new firmware's
run with the last certified one.

From the two results.json alone (each run is read as its record says, so a diff of evidence that does not
verify is refused): the charger (identity and firmware), the bench (name, instruments), the plans and the seed;
then case by case: cases added or missing, verdicts that changed, and judged values (those with a limit) that
moved by more than their combined expanded uncertainty, sqrt(U_a^2 + U_b^2) (a value without an uncertainty
counts it as 0, so any move shows). A value inside that bound is the same measurement within what the rig can
tell, and is not listed. The bound is the measurement's uncertainty, not the charger's repeatability: a trip
time that moves by a few milliseconds between two runs of one firmware (where in its measurement cycle the fault
fell) is listed, and is for the reader to weigh.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, select_autoescape

from rig.core.errors import RigInputError
from rig.core.results import CaseResult, RunResults
from rig.evidence.formatting import format_measured
from rig.evidence.recorder import read_results
from rig.evidence.verify import verify_run


@dataclass(frozen=True)
class MovedValue:
    case: str
    name: str
    before: str
    after: str
    moved: float | None
    """How far it moved; None when one run did not measure it."""
    bound: float


@dataclass
class RunDiff:
    """Everything that differs between run A (before) and run B (after)."""

    a: Path
    b: Path
    context: list[tuple[str, str, str]] = field(default_factory=list)
    """(what, in A, in B) for the charger, bench, plans and seed where they differ."""
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, str, str]] = field(default_factory=list)
    """(case, verdict in A, verdict in B)."""
    moved: list[MovedValue] = field(default_factory=list)
    compared: int = 0

    @property
    def verdicts_changed(self) -> bool:
        return bool(self.verdicts or self.added or self.missing)


def _load(run_dir: Path) -> RunResults:
    check = verify_run(run_dir)
    if not check.ok:
        detail = check.problem or "; ".join([f"changed {p}" for p in check.changed]
                                            + [f"missing {p}" for p in check.missing]
                                            + [f"unlisted {p}" for p in check.unlisted])
        raise RigInputError(f"{run_dir}: not compared: the evidence does not verify ({detail}); run `rig verify`")
    return read_results(run_dir)


def _context(a: RunResults, b: RunResults) -> list[tuple[str, str, str]]:
    def charger(run: RunResults) -> dict[str, str]:
        dut = run.run.dut
        if dut is None:
            return {}
        return {"charger": f"{dut.manufacturer} {dut.model} serial {dut.serial}", "firmware": dut.firmware,
                "DUT file": dut.name}

    def bench(run: RunResults) -> dict[str, str]:
        instruments = {f"instrument {i.role}": re.sub(r"(://[^,/:]+):\d+", r"\1", f"{i.driver} {i.idn}".strip())
                       for i in run.run.instruments}  # a port the run chose is not a difference of the bench
        return {"bench": run.run.bench, **instruments, "plans": ", ".join(run.run.plans),
                "seed": str(run.run.seed), "rig version": run.run.rig_version, "status": run.run.status}

    left, right = {**charger(a), **bench(a)}, {**charger(b), **bench(b)}
    return [(key, left.get(key, "-"), right.get(key, "-")) for key in dict.fromkeys([*left, *right])
            if left.get(key) != right.get(key)]


def _moved(case_a: CaseResult, case_b: CaseResult) -> list[MovedValue]:
    """The judged values (those with a limit in either run) that moved; what a case records beside them for
    information (a noise floor, the current after a reconnection) is not compared."""
    found = []
    judged = [n for n in dict.fromkeys([*case_a.measured, *case_b.measured]) if n in case_a.limits or n in case_b.limits]
    for name in judged:
        va, vb = case_a.measured.get(name), case_b.measured.get(name)
        if va is None or vb is None:
            if va != vb:
                found.append(MovedValue(case_a.id, name, _shown(case_a, name), _shown(case_b, name), None, 0.0))
            continue
        ua, ub = (c.uncertainty[name].expanded if name in c.uncertainty else 0.0 for c in (case_a, case_b))
        bound = math.hypot(ua, ub)
        if abs(vb - va) > bound:
            found.append(MovedValue(case_a.id, name, _shown(case_a, name), _shown(case_b, name), abs(vb - va), bound))
    return found


def _shown(case: CaseResult, name: str) -> str:
    return format_measured(name, case.measured.get(name), case.limits.get(name),
                           case.uncertainty.get(name)).split(": ", 1)[1]


def diff_runs(run_a: Path, run_b: Path) -> RunDiff:
    """Compare two run directories (each must verify against its manifest)."""
    a, b = _load(run_a), _load(run_b)
    result = RunDiff(run_a, run_b, _context(a, b))
    cases_a, cases_b = {c.id: c for c in a.cases}, {c.id: c for c in b.cases}
    result.added = [i for i in cases_b if i not in cases_a]
    result.missing = [i for i in cases_a if i not in cases_b]
    for case_id, case_a in cases_a.items():
        case_b = cases_b.get(case_id)
        if case_b is None:
            continue
        result.compared += 1
        if case_a.verdict != case_b.verdict:
            result.verdicts.append((case_id, case_a.verdict, case_b.verdict))
        result.moved += _moved(case_a, case_b)
    return result


def format_diff(diff: RunDiff) -> str:
    """The diff as text, one line per difference."""
    lines = [f"A: {diff.a}", f"B: {diff.b}", f"{diff.compared} cases in both"]
    lines += [f"  {what}: {left}  ->  {right}" for what, left, right in diff.context]
    lines += [f"verdict  {case}: {left} -> {right}" for case, left, right in diff.verdicts]
    lines += [f"added    {case} (only in B)" for case in diff.added]
    lines += [f"missing  {case} (only in A)" for case in diff.missing]
    lines += [f"moved    {m.case} {m.name}: {m.before} -> {m.after}" + (
        "" if m.moved is None else f" (moved {m.moved:.3g}, combined uncertainty {m.bound:.2g})") for m in diff.moved]
    if not (diff.verdicts or diff.added or diff.missing or diff.moved):
        lines.append("no verdict changed, no case added or missing, every value within its combined uncertainty")
    return "\n".join(lines)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rig diff</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #999;padding:.3em .6em;text-align:left}th{background:#eee}.fail{color:#a00}.pass{color:#070}
</style></head><body>
<h1>Run comparison</h1>
<p>A (before): {{ d.a }}<br>B (after): {{ d.b }}<br>{{ d.compared }} cases in both.</p>
{% if d.context %}<h2>What differs around the cases</h2><table><tr><th></th><th>A</th><th>B</th></tr>
{% for what, left, right in d.context %}<tr><td>{{ what }}</td><td>{{ left }}</td><td>{{ right }}</td></tr>{% endfor %}
</table>{% endif %}
<h2>Verdicts that changed ({{ d.verdicts|length }})</h2>
{% if d.verdicts %}<table><tr><th>case</th><th>A</th><th>B</th></tr>
{% for case, left, right in d.verdicts %}<tr><td>{{ case }}</td><td class="{{ left }}">{{ left }}</td>
<td class="{{ right }}">{{ right }}</td></tr>{% endfor %}</table>{% else %}<p>none</p>{% endif %}
<h2>Cases added ({{ d.added|length }}) and missing ({{ d.missing|length }})</h2>
<p>{% for c in d.added %}added: {{ c }}<br>{% endfor %}{% for c in d.missing %}missing: {{ c }}<br>{% endfor %}
{% if not d.added and not d.missing %}none{% endif %}</p>
<h2>Values that moved by more than their combined uncertainty (or were measured in one run only) ({{ d.moved|length }})</h2>
{% if d.moved %}<table><tr><th>case</th><th>value</th><th>A</th><th>B</th><th>moved</th><th>combined U</th></tr>
{% for m in d.moved %}<tr><td>{{ m.case }}</td><td>{{ m.name }}</td><td>{{ m.before }}</td><td>{{ m.after }}</td>
<td>{{ '-' if m.moved is none else '%.3g' % m.moved }}</td><td>{{ '%.2g' % m.bound }}</td></tr>{% endfor %}</table>{% else %}<p>none</p>{% endif %}
</body></html>
"""


def render_diff_html(diff: RunDiff) -> str:
    """The diff as one self-contained HTML page."""
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return environment.from_string(PAGE).render(d=diff)
