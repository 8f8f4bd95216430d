"""Clause traceability for the report: per catalogued standard, every clause (test case id) -> the cases of this
run that judged it -> their verdicts, the clauses no case covered listed as not tested; and, for the cases judged
against clauses no catalogue here lists (G99, CHAdeMO, efficiency, the rig's own RIG_* cases), each clause as the
plan states it -> cases -> verdicts.

The catalogues (``catalogues/*.yaml``) are data taken from public sources (OCA's OCTT case lists for a charging
station under test). A case runs a catalogued clause when its id, without a ``@variant`` suffix, is the
catalogue's id. A catalogue is shown only for a run that ran at least one of its clauses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from rig.core.results import RunResults

CATALOGUES = Path(__file__).parent / "catalogues"


@dataclass
class ClauseRow:
    ref: str
    title: str
    cases: list[tuple[str, str]] = field(default_factory=list)
    """(case id, verdict) of every case that judged it; empty: not tested."""


@dataclass
class ClauseMatrix:
    standard: str
    edition: str
    rows: list[ClauseRow]

    @property
    def tested(self) -> int:
        return sum(1 for row in self.rows if row.cases)


@cache
def catalogues() -> tuple[dict, ...]:
    found = []
    for path in sorted(CATALOGUES.glob("*.yaml")):
        found += yaml.safe_load(path.read_text(encoding="utf-8"))["catalogues"]
    return tuple(found)


def clause_matrices(results: RunResults) -> tuple[list[ClauseMatrix], list[ClauseRow]]:
    """The catalogued standards this run touched, and the other clauses it judged (in the order cases ran)."""
    by_ref: dict[str, list[tuple[str, str]]] = {}
    for case in results.cases:
        by_ref.setdefault(case.id.split("@", 1)[0], []).append((case.id, case.verdict))
    matrices, catalogued = [], set()
    for catalogue in catalogues():
        refs = catalogue["cases"]
        catalogued.update(refs)
        if not any(ref in by_ref for ref in refs):
            continue
        matrices.append(ClauseMatrix(catalogue["standard"], catalogue["edition"],
                                     [ClauseRow(ref, title, by_ref.get(ref, [])) for ref, title in refs.items()]))
    others: dict[str, ClauseRow] = {}
    for case in results.cases:
        if case.id.split("@", 1)[0] in catalogued:
            continue
        others.setdefault(case.clause, ClauseRow(case.clause, "")).cases.append((case.id, case.verdict))
    return matrices, list(others.values())
