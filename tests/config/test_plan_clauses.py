"""Every case names the clause it judges as a structured reference: a standard its plan declares (name and
edition), the clause or test-case id, whether a public source confirmed that id, and the plan's words. Anything
else is refused in one line naming the file, the line and the field."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from campaign_helpers import PROTECTION_PLAN, ROOT
from rig.config.plans import LoadedCase, load_plan
from rig.core.errors import InputFileError
from rig.evidence.traceability import catalogue_of
from rig.suites.platform import ClauseRef

PLANS = sorted(path for path in (ROOT / "test_plans").rglob("*.yaml") if path.parent.name != "campaigns")
FIRST_CLAUSE = re.compile(r"^    clause: .*$", re.MULTILINE)


def plan_with_first_clause(tmp_path: Path, clause: str, standards: str | None = None) -> tuple[Path, int]:
    """The G99 protection plan with its first case's clause line replaced (and its standards line, if given):
    the file and the clause's line."""
    text = FIRST_CLAUSE.sub(lambda _: f"    clause: {clause}", PROTECTION_PLAN.read_text(), count=1)
    if standards is not None:
        text = re.sub(r"^  g99: .*$", f"  g99: {standards}", text, count=1, flags=re.MULTILINE)
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("    clause:"))
    return path, line


def refusal(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        load_plan(path)
    return caught.value


def test_a_structured_clause_is_recorded_with_its_standards_name_and_edition() -> None:
    loaded = load_plan(PROTECTION_PLAN)[0]
    assert loaded.case.clause == ClauseRef(standard="g99", ref="Interface protection: U/V", confirmed=False,
                                           text="G99 interface protection, under-voltage: trip value")
    record = loaded.plan.clause_record(loaded.case.clause)
    assert (record.standard, record.ref, record.confirmed) == ("ENA EREC G99", "Interface protection: U/V", False)
    assert record.edition.startswith("Issue 1") and record.text == loaded.case.clause.text
    assert str(record) == ("ENA EREC G99 | Interface protection: U/V (unconfirmed) | "
                           "G99 interface protection, under-voltage: trip value")


@pytest.mark.parametrize(("clause", "standards", "field", "message"), [
    ('"G99 under-voltage: trip value"', None, "cases[0].clause",
     "expected {standard: <a key of the plan's standards>, ref: <clause or test-case id>"),
    ('{standard: g98, ref: "U/V", confirmed: false, text: "t"}', None, "cases[0].clause.standard",
     "unknown standard 'g98' (the plan's standards: g99)"),
    ('{standard: g99, ref: "U/V", text: "t"}', None, "cases[0].clause.confirmed", "missing required field"),
    ('{standard: g99, reff: "U/V", confirmed: false, text: "t"}', None, "cases[0].clause.reff",
     "unknown key (allowed: standard, ref, confirmed, text)"),
    ('{standard: g99, ref: "", confirmed: false, text: "t"}', None, "cases[0].clause.ref", "at least 1 character"),
    ('{standard: g99, ref: "U/V", confirmed: maybe, text: "t"}', None, "cases[0].clause.confirmed",
     "expected true or false, got 'maybe'"),
])
def test_a_bad_clause_is_refused_naming_file_line_and_field(tmp_path: Path, clause: str, standards: str | None,
                                                             field: str, message: str) -> None:
    path, line = plan_with_first_clause(tmp_path, clause, standards)
    error = refusal(path)
    assert (error.file, error.line, error.field) == (path, line, field)
    assert message in error.message
    assert str(error).startswith(f"{path}:{line}: {field}: ") and "\n" not in str(error)


def test_a_standard_without_its_edition_is_refused_at_its_line(tmp_path: Path) -> None:
    path, _ = plan_with_first_clause(tmp_path, '{standard: g99, ref: "U/V", confirmed: false, text: "t"}',
                                     standards='{name: "ENA EREC G99"}')
    error = refusal(path)
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if row.startswith("  g99:"))
    assert (error.line, error.field, error.message) == (line, "standards.g99.edition", "missing required field")


def test_rig_names_a_bad_clause_in_one_line(tmp_path: Path) -> None:
    path, line = plan_with_first_clause(tmp_path, '"free text"')
    result = subprocess.run([sys.executable, "-m", "rig", "list", str(path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    lines = [row for row in result.stderr.splitlines() if row.strip()]
    assert len(lines) == 1 and f"{path}:{line}" in lines[0] and "cases[0].clause" in lines[0], result.stderr


def all_cases() -> list[LoadedCase]:
    return [loaded for plan in PLANS for loaded in load_plan(plan)]


def test_every_case_of_every_plan_names_a_declared_standard_and_a_catalogued_clause() -> None:
    cases = all_cases()
    assert len(cases) > 300 and {path.parent.name for path in PLANS} >= {"g99", "ieee1547", "chademo", "ocpp"}
    for loaded in cases:
        case, where = loaded.case, loaded.source
        assert isinstance(case.clause, ClauseRef), where  # the loader refuses text alone
        standard = loaded.plan.standards[case.clause.standard]
        if case.id.startswith("RIG_"):  # the rig's own case: its own procedure, named by its id
            assert (standard.name, case.clause.ref) == ("v2g-rig", case.id), where
            continue
        assert standard.name != "v2g-rig", f"{where}: only the rig's own (RIG_*) cases cite the rig"
        catalogue = catalogue_of(standard.name)
        if catalogue is None:  # no clause list in the reference: the closest section, unconfirmed
            assert not case.clause.confirmed, where
            continue
        assert standard.edition == catalogue.edition, where
        assert case.clause.ref in catalogue.clauses, f"{where}: {case.clause.ref!r} is not in the {standard.name} catalogue"
        assert case.clause.confirmed == catalogue.confirmed, where
        if standard.name.endswith("(OCTT)"):
            assert case.clause.ref == case.id.split("@", 1)[0], where  # an OCTT case is run under its own id


def test_every_declared_standard_is_cited_by_a_case_of_its_plan() -> None:
    for plan in PLANS:
        loaded = load_plan(plan)
        cited = {case.case.clause.standard for case in loaded if isinstance(case.case.clause, ClauseRef)}
        assert set(loaded[0].plan.standards) == cited, plan
