"""What a suite is to the rest of the rig: the contract every suite package fulfils.

The engine, the plan loader and the report know no suite. A suite package
(``rig/suites/<name>/``) brings:

- its plan model (a ``SuitePlan`` subclass) whose cases (``SuiteCase``
  subclasses, discriminated by ``procedure``) know the setting they judge and
  every setpoint they will command, so the bench envelope refuses a plan
  before anything opens, whatever the quantity;
- its procedures (how each case is measured; they talk to roles only and hand
  back a ``ProcedureOutcome``);
- its plot kinds (how a trace becomes a picture) and, optionally, a summary
  table for the report (a G99 type-test form, a CHAdeMO compatibility matrix).

It registers itself with one line in ``rig.suites.SUITES``; nothing else in
the shared modules changes when a suite is added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rig.core.decision import DecisionRule
from rig.core.errors import RigError
from rig.core.results import CaseResult, ClauseRecord, Limit, Uncertainty
from rig.config.yaml_source import LocatedValueError
from rig.evidence.plot_canvas import Drawing, PlotOptions

if TYPE_CHECKING:
    from rig.evidence.plot_canvas import PlotKind
    from rig.config.yaml_source import YamlDocument


class PreconditionError(RigError):
    """The DUT was not in the state a case must start from (e.g. not exporting)."""


class CannotJudge(RigError):
    """What was recorded does not allow a decision (noise too high for the threshold, no clean pre-trigger, a
    rule that found the recording lacking): the case is an error, never a pass.

    ``evidence``: what the procedure did record (its traces, files, findings), kept with the error so a
    reviewer sees why the rig could not decide."""

    def __init__(self, message: str, evidence: ProcedureOutcome | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence


class NotPerformed(CannotJudge):
    """A physical action the case needs (a card at the reader, a plug without a vehicle emulator) was asked of the
    operator and the charger's message showing it never came: the case is skipped with that reason (the rig
    cannot tell an action not done from a charger that did not react), never passed and never failed."""


class DutNotReady(PreconditionError):
    """The DUT did not become ready (e.g. reconnect and export) within the time the plan declares.

    One clear finding: the engine records the case as an error and does not
    energise the bench for the rest of the run's cases (they are skipped).
    """


@dataclass(frozen=True)
class SetpointChange:
    """One change a case will command, checked against the bench envelope before anything opens.

    ``quantity`` is an envelope entry (``ac_voltage_v``, ``dc_current_a`` ...).
    ``how`` is ``step`` (instantaneous, e.g. inside a list program), ``ramp``
    (over ``duration_s``), ``fixed`` (a fixed-mode setpoint, which the source
    slews at the envelope's slew limit when the bench sets one, else steps) or
    ``level`` (a value held, with no change the envelope limits).
    """

    quantity: str
    old: float
    new: float
    how: Literal["step", "ramp", "fixed", "level"]
    duration_s: float = 0.0
    what: str = ""


class Strict(BaseModel):
    """Plan records: unknown keys and non-finite numbers (``.inf``, ``.nan``) are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BoundedLimit(Limit):
    """A limit in a plan must bound something, with finite bounds in order."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds(self) -> BoundedLimit:
        if self.min is None and self.max is None:
            raise ValueError("a limit needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}: no value could pass")
        return self


REACTION_RULE = "a disturbance must last at least as long as the longest reaction its limit allows"
"""The rule every suite that times a reaction to a disturbance holds its plans to (trip, run-on, response,
correction and fail-safe times)."""

TIME_RESOLUTION_S = 1e-9
"""Durations worked out from rates (2.5 Hz / 3 Hz/s) are compared this loosely: a float's rounding is no gap."""


def require_lasting(where: tuple[str | int, ...], lasts_s: float, allowed_s: float | None, what: str, *,
                    strictly: bool = False) -> None:
    """Refuse a plan whose disturbance (or the observation of it) ends before the latest reaction its limit allows.

    A DUT that would react inside the limit but after the disturbance has ended never reacts at all (or reacts
    depending on where its own evaluation grid falls), so it fails a limit it meets; and one that reacts after
    the observation ends is not seen. ``strictly``: where a DUT still going at the end is judged on the
    observation's length as a lower bound, that bound must lie beyond the limit. ``where`` is relative to the
    model validated, so the loader names the file's line and field.
    """
    if allowed_s is None:
        return
    short = lasts_s <= allowed_s + TIME_RESOLUTION_S if strictly else lasts_s < allowed_s - TIME_RESOLUTION_S
    if short:
        bound = "longer than" if strictly else "at least"
        raise LocatedValueError(where, f"{what} lasts {lasts_s:.6g} s, it must last {bound} the {allowed_s:g} s the "
                                       f"limit allows ({REACTION_RULE})")


class Standard(Strict):
    """A standard a plan's cases judge clauses of (``standards:``, by a key the cases name): its name and the
    edition the plan follows (issue, amendment, year), as the public source states them.

    The name is what the report groups its clause matrix by, and what a catalogue of the standard's clauses
    (``rig/evidence/catalogues``) is found by; the rig's own procedures are the standard ``v2g-rig``.
    """

    name: str = Field(min_length=1)
    edition: str = Field(min_length=1)


class ClauseRef(Strict):
    """The clause a case judges: the plan's key of the standard, the clause, table or test-case id in it, and
    the plan's words for what is judged.

    ``confirmed`` is required: an id a public source confirms (an OCTT case id) says so; one nobody has checked
    against the standard's text (the closest section a reference gives) is false, and the report shows it as
    unconfirmed rather than as the standard's numbering.
    """

    standard: str = Field(min_length=1)
    ref: str = Field(min_length=1)
    confirmed: bool
    text: str = Field(min_length=1)


CLAUSE_FORM = ("{standard: <a key of the plan's standards>, ref: <clause or test-case id>, confirmed: <true|false>, "
               "text: <what is judged>}")
"""How a plan writes a case's clause (for the loader's one-line refusal of anything else)."""


class SuiteCase(Strict):
    """What every case has: an id, the clause it evidences, its procedure, parameters and limits."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    clause: ClauseRef | str
    """A plan's case names a structured ``ClauseRef`` (its plan refuses text alone); text is accepted only for a
    case validated on its own, outside a plan, where no standard could be resolved anyway."""
    description: str = ""
    procedure: str
    params: Any
    limits: Any

    def limit_map(self) -> dict[str, Limit]:
        """The case's limits by measured quantity, as the engine judges them (only those the case sets)."""
        return {name: Limit(**limit.model_dump()) for name, limit in dict(self.limits).items() if limit is not None}

    def setting_record(self) -> dict[str, float | str]:
        """The setting the case judges, as results.json records it (names end in their unit)."""
        return {}

    def setpoint_changes(self, plan: SuitePlan) -> list[SetpointChange]:
        """Every setpoint the case will command (its suite says; the engine checks each against the envelope)."""
        raise NotImplementedError(f"{type(self).__name__} must say which setpoints it commands")


class SuitePlan(Strict):
    """What every plan file has; a suite's plan model adds its own sections and its case union."""

    suite: str
    title: str
    standard: str = ""
    standards: dict[str, Standard] = Field(default_factory=dict)
    """The standards the cases judge clauses of, by the key a case's ``clause.standard`` names."""
    decision_rule: DecisionRule
    cases: Sequence[SuiteCase]

    @model_validator(mode="after")
    def _clauses_name_declared_standards(self) -> SuitePlan:
        """Every case's clause is a reference to a standard the plan declares, so the report can trace each
        verdict to a clause of a named edition; text alone, or a key the plan lacks, is refused at its line."""
        declared = ", ".join(self.standards) or "none declared"
        for index, case in enumerate(self.cases):
            if isinstance(case.clause, str):
                raise LocatedValueError(("cases", index, "clause"), f"expected {CLAUSE_FORM}, got text")
            if case.clause.standard not in self.standards:
                raise LocatedValueError(("cases", index, "clause", "standard"),
                                        f"unknown standard {case.clause.standard!r} (the plan's standards: {declared})")
        return self

    def clause_record(self, clause: ClauseRef | str) -> ClauseRecord:
        """A case's clause as results.json records it: the standard's name and edition resolved from the plan."""
        if isinstance(clause, str):
            return ClauseRecord(text=clause)
        standard = self.standards[clause.standard]
        return ClauseRecord(standard=standard.name, edition=standard.edition, ref=clause.ref,
                            confirmed=clause.confirmed, text=clause.text)

    def setpoints(self) -> list[SetpointChange]:
        """Plan-wide setpoints (e.g. the nominal grid), checked against the envelope like the cases'."""
        return []

    def bind(self, document: YamlDocument) -> None:
        """Resolve what the plan names relative to its own file (vehicle profiles, ...) once it is loaded.

        Raise ``InputFileError`` naming the line and field (``document.line_of``) for a file that is
        missing or does not validate.
        """

    def runnable(self) -> list[tuple[SuiteCase, int]]:
        """The cases to run, each with the index of the plan entry it comes from (for its line).

        Usually the plan's cases as written; a suite may run one entry several times (a CHAdeMO case for
        each vehicle it names), each with its own id.
        """
        return [(case, index) for index, case in enumerate(self.cases)]


@dataclass
class PlotRequest:
    """Ask the engine for a plot of trace ``trace`` (a key of the outcome's ``traces``).

    ``kind`` names one of the suite's plot kinds; ``options`` is what that kind
    needs beyond the trace (thresholds, the judged instant, the acceptance
    window), in the kind's own options model, recorded as set in results.json.
    """

    kind: str
    trace: str
    options: PlotOptions


@dataclass
class ProcedureOutcome:
    measured: dict[str, float | None]
    traces: dict[str, pd.DataFrame] = field(default_factory=dict)
    plot: PlotRequest | None = None
    uncertainty: dict[str, Uncertainty] = field(default_factory=dict)
    """Expanded uncertainty of measured values; every value a limit judges must have one."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Raw recordings kept beside the traces as they are (a CAN log, say), by file name."""
    findings: list[str] = field(default_factory=list)
    """What the procedure found, in words, for the reviewer (a rule broken, by whom, when)."""
    trace_roles: dict[str, str] = field(default_factory=dict)
    """The bench role whose instrument recorded a trace, by trace name, where the name is not the role itself
    (a trace named after a role is that role's; any other the rig derived): for the trace's descriptor."""


@dataclass(frozen=True)
class Procedure:
    """A procedure and what of the bench it needs: its instrument roles, and the bench file's sections beyond
    ``instruments`` it reads (``site``, ``grid_switch``), so a bench that lacks one is refused before the run."""

    run: Callable[..., ProcedureOutcome]
    roles: tuple[str, ...]
    sections: tuple[Literal["site", "grid_switch"], ...] = ()


Cell = str | list[tuple[str, str]]
"""A summary cell: text, or a list of (text, verdict) items the report marks with their verdicts."""


@dataclass(frozen=True)
class SummaryTable:
    """A suite's summary for the report: a titled table (a type-test form, a compatibility matrix)."""

    title: str
    introduction: str
    header: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class SuiteFigure:
    """A figure drawn from several cases of a suite (an efficiency curve over the load points, an OCPP sequence
    chart): its file name (``plots/suite-<suite>-<name>.svg``), caption, and what it shows."""

    name: str
    caption: str
    drawing: Drawing


@dataclass(frozen=True)
class SuiteSection:
    """What a suite adds to the report beside its case table: summary tables (a type-test form, a compatibility
    matrix) and figures drawn from several cases."""

    tables: list[SummaryTable] = field(default_factory=list)
    figures: list[SuiteFigure] = field(default_factory=list)


def tables_only(summary: Callable[[list[CaseResult]], SummaryTable | None]
                ) -> Callable[[list[CaseResult]], SuiteSection | None]:
    """A suite's report hook made of one summary table (the section is absent when the table is)."""
    def section(cases: list[CaseResult]) -> SuiteSection | None:
        table = summary(cases)
        return None if table is None else SuiteSection(tables=[table])
    return section


@dataclass(frozen=True)
class Suite:
    """A suite as the engine, the plan loader and the report see it."""

    name: str
    """The plan files' ``suite:`` value."""
    plan: type[SuitePlan]
    procedures: dict[str, Procedure]
    plot_kinds: dict[str, PlotKind] = field(default_factory=dict)
    """Plot kinds by name; names are global (``g99.trip_time``), so a record names its kind alone."""
    report: Callable[[list[CaseResult]], SuiteSection | None] | None = None
    """The suite's own part of the report, from its recorded cases (None: its case table alone)."""
