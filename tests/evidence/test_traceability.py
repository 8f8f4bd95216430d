"""Clause traceability: a matrix per standard, clause -> the cases that judged it -> their verdicts. A standard
with a catalogue lists every clause, the untested ones as not tested and a case's clause the catalogue lacks as
such; one without says it has none; a run recorded before clauses were structured (clause as text) still reads,
its clauses grouped by their text under no standard."""

from __future__ import annotations

import json
from pathlib import Path

from rig.core.results import CaseResult, ClauseRecord, RunInfo, RunResults
from rig.evidence.recorder import RESULTS, read_results
from rig.evidence.report import render_report
from rig.evidence.traceability import catalogue_of, catalogues, clause_matrices

OCTT16 = ("OCPP 1.6J (OCTT)", "OCTT 1.6 test case document, FINAL 2024-04 (SUT = Charge Point)")
OCTT2 = ("OCPP 2.0.1 / 2.1 (OCTT)", "OCTT 2.0.1/2.1 test cases (SUT = Charging Station)")
G99 = ("ENA EREC G99", "Issue 1, type test recorded on Form A2-3 (not checked against Issue 2, dated 2025-03)")
G100 = ("ENA EREC G100", "issue not stated in the shared reference")


def case(case_id: str, verdict: str = "pass", *, standard: tuple[str, str] | None = None, ref: str = "",
         confirmed: bool = True, text: str = "a clause") -> CaseResult:
    clause = ClauseRecord(text=text) if standard is None else ClauseRecord(
        standard=standard[0], edition=standard[1], ref=ref or case_id.split("@")[0], confirmed=confirmed, text=text)
    return CaseResult(id=case_id, suite="s", clause=clause, procedure="p", verdict=verdict)


def results(*cases: CaseResult) -> RunResults:
    return RunResults(run=RunInfo(started="2026-12-07T00:00:00Z", bench="sim", rig_version="0", seed=1), cases=list(cases))


def test_the_catalogues_hold_the_octt_lists_and_the_reference_lists_of_g99_chademo_and_en_50530() -> None:
    sizes = {c.standard: len(c.clauses) for c in catalogues()}
    assert sizes["OCPP 1.6J (OCTT)"] > 90 and sizes["OCPP 2.0.1 / 2.1 (OCTT)"] > 500
    assert {"ENA EREC G99", "CHAdeMO", "EN 50530"} <= sizes.keys()
    confirmed = {c.standard: c.confirmed for c in catalogues()}
    assert confirmed["OCPP 1.6J (OCTT)"] and not confirmed["ENA EREC G99"] and not confirmed["CHAdeMO"]
    assert len(sizes) == len(catalogues()), "one catalogue per standard"


def test_each_catalogued_clause_maps_to_its_cases_and_verdicts_and_the_rest_are_not_tested() -> None:
    matrices, unknown = clause_matrices(results(
        case("TC_003_CS", standard=OCTT16), case("TC_K_01_CS", "fail", standard=OCTT2),
        case("g99.uv.trip_value", standard=G99, ref="Interface protection: U/V", confirmed=False),
        case("g99.uv.trip_time", "fail", standard=G99, ref="Interface protection: U/V", confirmed=False)))
    assert unknown == []
    by_standard = {m.standard: m for m in matrices}
    assert list(by_standard) == ["OCPP 1.6J (OCTT)", "OCPP 2.0.1 / 2.1 (OCTT)", "ENA EREC G99"]  # as they ran
    v16, v2, g99 = by_standard["OCPP 1.6J (OCTT)"], by_standard["OCPP 2.0.1 / 2.1 (OCTT)"], by_standard["ENA EREC G99"]
    assert v16.tested == 1 and v2.tested == 1 and g99.tested == 1
    assert next(r for r in v2.rows if r.ref == "TC_K_01_CS").cases == [("TC_K_01_CS", "fail")]
    assert any(r.ref == "TC_K_02_CS" and not r.cases for r in v2.rows)  # listed, not tested
    uv = next(r for r in g99.rows if r.ref == "Interface protection: U/V")
    assert uv.cases == [("g99.uv.trip_value", "pass"), ("g99.uv.trip_time", "fail")] and not uv.confirmed
    not_tested = {r.ref for r in g99.not_tested}
    assert "Power quality: flicker" in not_tested and "Interface protection: U/V" not in not_tested
    assert len(g99.not_tested) == len(g99.rows) - 1 and g99.catalogue is not None
    assert g99.edition == G99[1]


def test_a_standard_without_a_catalogue_lists_what_was_covered_and_has_no_not_tested_list() -> None:
    matrices, _ = clause_matrices(results(
        case("g100.export.load_steps", standard=G100, ref="Export limitation", confirmed=False, text="load steps"),
        case("g100.export.excursion", "fail", standard=G100, ref="Export limitation", confirmed=False,
             text="excursion")))
    (g100,) = matrices
    assert g100.catalogue is None and g100.tested == 1 and g100.edition == G100[1]
    (row,) = g100.rows
    assert row.title == "load steps; excursion" and not row.confirmed and not row.uncatalogued
    assert row.cases == [("g100.export.load_steps", "pass"), ("g100.export.excursion", "fail")]


def test_a_clause_its_catalogue_lacks_is_listed_as_such_and_not_counted_as_tested() -> None:
    matrices, _ = clause_matrices(results(case("TC_999_CS", standard=OCTT16)))
    (v16,) = matrices
    extra = v16.rows[-1]
    assert (extra.ref, extra.uncatalogued, extra.cases) == ("TC_999_CS", True, [("TC_999_CS", "pass")])
    assert v16.tested == 0 and len(v16.not_tested) == len(catalogue_of(OCTT16[0]).clauses)


def test_variants_of_one_case_share_its_clause_row() -> None:
    chademo = ("CHAdeMO", "protocol 1.0.x-2.0 (protocol numbers 2 and 3), as public implementations and traces show it")
    matrices, _ = clause_matrices(results(
        case("chademo.charge.normal@leaf-40", standard=chademo, ref="Charge sequence 1-8", confirmed=False),
        case("chademo.charge.normal@ze1-62", "fail", standard=chademo, ref="Charge sequence 1-8", confirmed=False)))
    row = next(r for r in matrices[0].rows if r.ref == "Charge sequence 1-8")
    assert row.cases == [("chademo.charge.normal@leaf-40", "pass"), ("chademo.charge.normal@ze1-62", "fail")]


def test_an_old_results_json_with_text_clauses_still_reads_and_groups_them_by_text(tmp_path: Path) -> None:
    old = results(case("TC_003_CS")).model_dump(mode="json")
    for record in old["cases"]:
        record["clause"] = "OCPP 1.6 3.4, 4.8 StartTransaction"  # as runs recorded it before clauses were structured
    old["cases"].append({**old["cases"][0], "id": "g99.ov2.trip_time", "clause": "G99 over-voltage stage 2"})
    (tmp_path / RESULTS).write_text(json.dumps(old))
    read = read_results(tmp_path)
    assert read.cases[0].clause == ClauseRecord(standard=None, text="OCPP 1.6 3.4, 4.8 StartTransaction")
    assert str(read.cases[1].clause) == "G99 over-voltage stage 2"
    matrices, unknown = clause_matrices(read)
    assert matrices == []  # no standard recorded: nothing is guessed from the case id
    assert [(row.ref, row.cases) for row in unknown] == [
        ("OCPP 1.6 3.4, 4.8 StartTransaction", [("TC_003_CS", "pass")]),
        ("G99 over-voltage stage 2", [("g99.ov2.trip_time", "pass")])]


def test_the_report_shows_a_matrix_per_standard_with_unconfirmed_and_not_tested_clauses(tmp_path: Path) -> None:
    from test_report import start_run  # two G99 trip cases whose clause is text alone, as older runs recorded it

    run_dir = tmp_path / "run"
    recorder = start_run(run_dir)
    recorder.record_case(case("g99.ov2.trip_value", standard=G99, ref="Interface protection: O/V stage 2",
                              confirmed=False, text="G99 interface protection, over-voltage stage 2: trip value"))
    recorder.record_case(case("g100.export.excursion", standard=G100, ref="Export limitation", confirmed=False))
    recorder.finish("complete", None, sim_seconds=4.0, wall_seconds=0.25)
    html = render_report(run_dir).read_text()
    section = html[html.index("<h2>Clause traceability</h2>"):]
    section = section[:section.index("<h2", 5)]
    assert f"ENA EREC G99: 1 of {len(catalogue_of(G99[0]).clauses)} clauses tested" in section
    assert 'Interface protection: O/V stage 2<br><small class="note">unconfirmed</small>' in section
    assert "Not tested: " in section and "Power quality: flicker" in section
    assert "ENA EREC G100: 1 clause covered, no catalogue" in section and "cannot be listed" in section
    assert "Standard not recorded" in section and "G99 A.7.1.2.2 over-voltage stage 2" in section
