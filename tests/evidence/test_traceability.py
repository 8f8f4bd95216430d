"""Clause traceability: per catalogued standard (OCA's OCTT case lists), every clause -> the cases that judged it ->
their verdicts, the rest listed as not tested; other clauses as the plans state them; a catalogue no case of the
run touches is not shown."""

from __future__ import annotations

from rig.core.results import CaseResult, RunInfo, RunResults
from rig.evidence.traceability import catalogues, clause_matrices


def case(case_id: str, verdict: str = "pass", clause: str = "a clause") -> CaseResult:
    return CaseResult(id=case_id, suite="s", clause=clause, procedure="p", verdict=verdict)


def results(*cases: CaseResult) -> RunResults:
    return RunResults(run=RunInfo(started="2026-12-07T00:00:00Z", bench="sim", rig_version="0", seed=1), cases=list(cases))


def test_the_catalogues_hold_octt_16_and_2x_case_lists() -> None:
    sizes = {c["standard"]: len(c["cases"]) for c in catalogues()}
    assert sizes["OCPP 1.6J"] > 90 and sizes["OCPP 2.0.1 / 2.1"] > 500


def test_each_catalogued_clause_maps_to_its_cases_and_verdicts_and_the_rest_are_not_tested() -> None:
    matrices, others = clause_matrices(results(case("TC_003_CS"), case("TC_K_01_CS", "fail"),
                                               case("chademo.charge.normal@leaf-40", clause="CHAdeMO 2.0 charge"),
                                               case("chademo.charge.normal@ze1-62", "fail", clause="CHAdeMO 2.0 charge")))
    by_standard = {m.standard: m for m in matrices}
    v16, v2 = by_standard["OCPP 1.6J"], by_standard["OCPP 2.0.1 / 2.1"]
    assert v16.tested == 1 and v2.tested == 1
    assert next(r for r in v2.rows if r.ref == "TC_K_01_CS").cases == [("TC_K_01_CS", "fail")]
    assert any(r.ref == "TC_K_02_CS" and not r.cases for r in v2.rows)  # listed, not tested
    assert [(o.ref, o.cases) for o in others] == [("CHAdeMO 2.0 charge", [("chademo.charge.normal@leaf-40", "pass"),
                                                                          ("chademo.charge.normal@ze1-62", "fail")])]


def test_a_run_without_ocpp_cases_shows_no_ocpp_catalogue() -> None:
    matrices, others = clause_matrices(results(case("g99.ov2.trip_time", clause="G99 over-voltage stage 2")))
    assert matrices == [] and others[0].ref == "G99 over-voltage stage 2"
