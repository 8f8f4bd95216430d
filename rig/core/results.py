"""The evidence records of a run: what ``results.json`` holds.

These models are the contract between the engine (which fills them as the
run goes), the evidence writer (which streams them to disk), the report
(which is rendered from them) and outside checks that read
``results.json``. Field names here are part of the public contract.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Verdict = Literal["pass", "fail", "error", "skip", "conditional pass", "conditional fail"]
"""``conditional pass`` and ``conditional fail``: ILAC-G8 4.2.3 non-binary statements (``rig.core.decision``)."""
VERDICTS: tuple[Verdict, ...] = ("pass", "conditional pass", "conditional fail", "fail", "error", "skip")
"""Every verdict, in the order a report counts them."""
BINARY_VERDICTS = ("pass", "fail", "error", "skip")
"""The verdicts a count always shows (the conditional ones only where a case has one)."""
RunStatus = Literal["complete", "incomplete"]
EvidenceMode = Literal["full", "verdicts only"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limit(Record):
    """An acceptance window for one measured quantity; either bound may be open."""

    min: float | None = None
    max: float | None = None
    unit: str = ""

    def admits(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return True


class UncertaintyComponent(Record):
    """One entry of an uncertainty budget: where it comes from and its standard uncertainty."""

    source: str
    standard: float
    """Standard uncertainty u_i, in the measured value's unit."""
    distribution: Literal["rectangular", "normal"]


class Uncertainty(Record):
    """Expanded uncertainty of a measured value (GUM): ``expanded = coverage_factor * u_c``."""

    expanded: float
    coverage_factor: float = 2.0
    components: list[UncertaintyComponent] = Field(default_factory=list)


class DecisionRuleRecord(Record):
    """How a measured value and its uncertainty were turned into pass or fail (stated in the report)."""

    rule: Literal["simple_acceptance", "guarded_acceptance", "non_binary"]
    guard_band: float = 0.0
    """Guard band w as a multiple of the expanded uncertainty (0 for simple acceptance)."""
    statement: str


class DutRecord(Record):
    """What was tested: the charger's identity (type approval is tied to it) and where it came from."""

    name: str
    description: str = ""
    manufacturer: str
    model: str
    serial: str
    firmware: str
    simulated: bool
    """True when the DUT was the simulated lab's charger (its behaviour set by the profile in ``file``)."""
    ocpp_identity: str | None = None
    """Its OCPP identity, when it speaks OCPP (the rig's CSMS serves only this charger)."""
    file: str
    """The copy of the DUT profile or identity file in the run directory."""
    declared: dict[str, float | None] | None = None
    """What its manufacturer declares of its efficiency and standby power (``rig.config.declared``), as the DUT
    file states it; None when it declares nothing."""


class InstrumentIdentity(Record):
    """Who measured: role, driver, address and the instrument's own *IDN? answer."""

    role: str
    driver: str
    address: str
    idn: str = ""
    calibration_due: str | None = None
    calibration: str = ""
    """Its calibration on the day of the run (``rig.config.calibration``): due, EXPIRED, unknown or simulated."""
    calibration_state: str | None = None
    cannot_see: list[str] = Field(default_factory=list)
    """What this instrument cannot report on this bench, which a reviewer must know a pass did not cover (a CAN
    interface that cannot see the bus state, a battery emulator's log without true extremes): from the driver's
    ``cannot_see()`` (``rig.core.roles.StatesBlindSpots``)."""


class PlotRecord(Record):
    """What the report needs to draw a case's plot: its kind, its trace, and what the kind needs beyond it.

    ``kind`` names a suite's plot kind (``g99.trip_time``, ``g99.staircase``,
    ...); the suite documents the trace's columns and the ``options`` each kind
    reads (thresholds, the judged instant, the acceptance window). ``trace``
    is a Parquet file relative to the run directory.
    """

    kind: str
    trace: str
    title: str = ""
    options: dict[str, float | str | None] = Field(default_factory=dict)


class Step(Record):
    """One procedure step as it happened, with the bench time it started at."""

    name: str
    sim_time_s: float


class ClauseRecord(Record):
    """The clause a case judged, as the plan named it: the standard (name and edition, from the plan's
    ``standards:``), the clause or test-case id in it, whether that id was confirmed in a public source, and the
    plan's own words.

    A certification body reads the verdict against this, so an id nobody has checked says so (``confirmed``
    false) rather than passing for the standard's numbering. ``standard`` None: recorded before clauses were
    structured (an old ``results.json`` whose ``clause`` is text alone), read as that text with the standard
    unknown.
    """

    standard: str | None = None
    edition: str = ""
    ref: str = ""
    confirmed: bool = False
    text: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """An old run's clause, text alone: the standard is unknown."""
        return {"text": value} if isinstance(value, str) else value

    def __str__(self) -> str:
        """One line for a terminal or a label: ``standard | ref (unconfirmed) | text``."""
        if self.standard is None:
            return self.text
        mark = "" if self.confirmed else " (unconfirmed)"
        return f"{self.standard} | {self.ref}{mark} | {self.text}"


class CaseResult(Record):
    """One case's outcome: the row a certification body reads."""

    id: str
    suite: str
    clause: ClauseRecord
    procedure: str
    verdict: Verdict
    measured: dict[str, float | None] = Field(default_factory=dict)
    uncertainty: dict[str, Uncertainty] = Field(default_factory=dict)
    """Expanded uncertainty of measured values, by name (every judged value has one)."""
    limits: dict[str, Limit] = Field(default_factory=dict)
    acceptance: dict[str, Limit] = Field(default_factory=dict)
    """The acceptance zone the decision rule made of each limit (the limit itself under simple acceptance)."""
    decision_rule: DecisionRuleRecord | None = None
    setting: dict[str, float | str] = Field(default_factory=dict)
    params: dict[str, object] = Field(default_factory=dict)
    traces: list[str] = Field(default_factory=list)
    plot: PlotRecord | None = None
    findings: list[str] = Field(default_factory=list)
    """What the procedure found, in words (a rule broken, by whom, when), beside its measured values."""
    steps: list[Step] = Field(default_factory=list)
    error: str | None = None
    source: str = ""
    sim_started_s: float = 0.0
    sim_finished_s: float = 0.0
    wall_seconds: float = 0.0


class RunInfo(Record):
    """The run's start and stop record (``results.json['run']``)."""

    status: RunStatus = "incomplete"
    reason: str | None = None
    started: str
    finished: str | None = None
    bench: str
    bench_file: str | None = None
    """The copy of the bench file in the run directory."""
    dut: DutRecord | None = None
    rig_version: str
    seed: int
    plans: list[str] = Field(default_factory=list)
    """The copies of the plan and campaign files in the run directory."""
    software: dict[str, str] = Field(default_factory=dict)
    """Python's version and that of every package ``constraints.txt`` pins, as installed for this run."""
    software_differs: list[str] = Field(default_factory=list)
    """Each installed version that is not the one the rig is tested with (``rig.run.software``)."""
    instruments: list[InstrumentIdentity] = Field(default_factory=list)
    sim_seconds: float = 0.0
    wall_seconds: float = 0.0
    speedup: float | None = None
    evidence: EvidenceMode = "full"
    """"verdicts only": a run of the rig's own tests, judged on its verdicts: no plots, no report, writes not
    fsynced. Never certification evidence."""


class RunResults(Record):
    run: RunInfo
    cases: list[CaseResult] = Field(default_factory=list)
