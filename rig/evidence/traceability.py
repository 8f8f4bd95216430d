"""Clause traceability for the report: a matrix per standard, clause -> the cases of this run that judged it ->
their verdicts.

Each case records the clause it judged as the plan names it (``ClauseRecord``: standard, edition, clause or
test-case id, confirmed or not). For a standard with a catalogue here (``catalogues/*.yaml``: data taken only from
public sources, such as OCA's OCTT case lists), every clause of the catalogue is listed, those no case covered as
not tested, and a case's clause the catalogue lacks is listed too, marked so (a typo or a newer edition must show,
not vanish). For a standard without a catalogue the covered clauses are listed and the matrix says there is no
catalogue: the run cannot tell what it left out. Cases recorded before clauses were structured (an old
``results.json``, clause as text alone) are grouped by that text under no standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from rig.core.results import CaseResult, RunResults

CATALOGUES = Path(__file__).parent / "catalogues"


@dataclass(frozen=True)
class Catalogue:
    """A standard's clause list as a public source gives it; ``confirmed``: its ids are the standard's own
    (an OCTT case id), not the nearest section a summary gives."""

    standard: str
    edition: str
    source: str
    confirmed: bool
    clauses: dict[str, str]
    """Clause or test-case id -> its title, in the source's order."""


@dataclass
class ClauseRow:
    ref: str
    title: str
    cases: list[tuple[str, str]] = field(default_factory=list)
    """(case id, verdict) of every case that judged it; empty: not tested."""
    confirmed: bool = True
    """False: an id no public source confirmed for this standard (shown as unconfirmed)."""
    uncatalogued: bool = False
    """True: a clause a case names that the standard's catalogue lacks."""


@dataclass
class ClauseMatrix:
    standard: str
    edition: str
    rows: list[ClauseRow]
    catalogue: Catalogue | None = None
    """None: no catalogue of this standard here, so the clauses the run did not cover cannot be listed."""

    @property
    def tested(self) -> int:
        """Clauses of the catalogue (or, without one, of the run) that at least one case judged."""
        return sum(1 for row in self.rows if row.cases and not row.uncatalogued)

    @property
    def not_tested(self) -> list[ClauseRow]:
        return [row for row in self.rows if not row.cases]


@cache
def catalogues() -> tuple[Catalogue, ...]:
    found: list[Catalogue] = []
    for path in sorted(CATALOGUES.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["catalogues"]:
            found.append(Catalogue(entry["standard"], entry["edition"], entry["source"], bool(entry["confirmed"]),
                                   {str(ref): str(title) for ref, title in entry["clauses"].items()}))
    return tuple(found)


def catalogue_of(standard: str) -> Catalogue | None:
    """The catalogue of the standard of this name (as plans name it in ``standards:``), if the rig holds one."""
    return next((catalogue for catalogue in catalogues() if catalogue.standard == standard), None)


def clause_matrices(results: RunResults) -> tuple[list[ClauseMatrix], list[ClauseRow]]:
    """A matrix per standard the run's cases judged (in the order they ran), and the clauses of cases recorded
    with no standard (old runs), each as its text."""
    by_standard: dict[str, list[CaseResult]] = {}
    unknown: dict[str, ClauseRow] = {}
    for case in results.cases:
        if case.clause.standard is None:
            row = unknown.setdefault(case.clause.text, ClauseRow(case.clause.text, "", confirmed=False))
            row.cases.append((case.id, case.verdict))
        else:
            by_standard.setdefault(case.clause.standard, []).append(case)
    return [_matrix(standard, cases) for standard, cases in by_standard.items()], list(unknown.values())


def _matrix(standard: str, cases: list[CaseResult]) -> ClauseMatrix:
    """One standard's matrix: its catalogue's clauses in order (if any), then those its cases name beyond it; a
    clause with no catalogue title is titled by the plans' words for it."""
    catalogue = catalogue_of(standard)
    rows: dict[str, ClauseRow] = {}
    if catalogue is not None:
        rows = {ref: ClauseRow(ref, title, confirmed=catalogue.confirmed) for ref, title in catalogue.clauses.items()}
    texts: dict[str, dict[str, None]] = {}
    for case in cases:
        ref = case.clause.ref
        row = rows.setdefault(ref, ClauseRow(ref, "", uncatalogued=catalogue is not None))
        row.confirmed = row.confirmed and case.clause.confirmed  # and the catalogue, and every case, says so
        row.cases.append((case.id, case.verdict))
        texts.setdefault(ref, {})[case.clause.text] = None
    for ref, said in texts.items():
        rows[ref].title = rows[ref].title or "; ".join(said)
    editions = list(dict.fromkeys(case.clause.edition for case in cases))
    edition = catalogue.edition if catalogue is not None else "; ".join(editions)
    if catalogue is not None and any(e != catalogue.edition for e in editions):
        edition += f" (the plans name: {'; '.join(editions)})"
    return ClauseMatrix(standard, edition, list(rows.values()), catalogue)
