"""The run's record as documents, written as the run goes, in the manner of bluesky's event model.

A run is a stream of documents, each its own file under ``documents/``,
numbered in the order they were written and never rewritten:

- ``start``: who and what: the run (bench, DUT, plans, seed, and the
  software: the rig's version and every package it runs on);
- ``instruments``: the instruments the bench accepted (role, driver,
  address, identity, calibration), once they have answered;
- ``case``: one per case, its result and a descriptor of each trace it
  wrote (what each column measures, in which unit, from which role's
  instrument, at what rate);
- ``stop``: how the run ended (status, reason, finished, durations);
- ``amend``: a closed run's status changed afterwards (a stop that came
  while it closed).

Writing a document costs the same for the thousandth case as for the first:
nothing written before is touched again. (``results.json`` was rewritten
whole after every case, so a run's record cost grew with the square of its
cases; ``benchmarks/evidence_speed.py`` measures the difference.)
``results.json`` stays, as a view of these documents written when the run
closes, for the tools and people who read it; ``read_run`` rebuilds the
same view from the documents of any run, one that was killed included.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, TypeAdapter, ValidationError

from rig.core.errors import RigInputError
from rig.core.results import CaseResult, InstrumentIdentity, Record, RunInfo, RunResults, RunStatus

DOCUMENTS_DIR = "documents"


class ColumnDescriptor(Record):
    """One column of a trace: its name, what it measures and in which unit (from the rig's column naming:
    ``v_v`` is a voltage in V, ``t_s`` a time in s), and its data type."""

    name: str
    quantity: str
    unit: str
    dtype: str


class TraceDescriptor(Record):
    """What a trace file holds, so a reader can use it without the code that wrote it."""

    path: str
    """The Parquet file, relative to the run directory."""
    name: str
    role: str | None
    """The bench role whose instrument recorded it; None: the rig derived it (a sequence of protocol
    messages, a table of checks) from what the instruments and peers said."""
    instrument: str | None
    """That instrument's identity as it answered (*IDN? or equivalent)."""
    rows: int
    columns: list[ColumnDescriptor]
    time_column: str | None
    """The column that stamps each row in bench time (seconds), if any."""
    rate_hz: float | None
    """Rows per second of bench time where they are evenly spaced; None: event-stamped or untimed."""
    span_s: float | None


class StartDocument(Record):
    kind: Literal["start"] = "start"
    run: RunInfo


class InstrumentsDocument(Record):
    kind: Literal["instruments"] = "instruments"
    instruments: list[InstrumentIdentity]


class CaseDocument(Record):
    kind: Literal["case"] = "case"
    case: CaseResult
    descriptors: list[TraceDescriptor] = Field(default_factory=list)


class StopDocument(Record):
    kind: Literal["stop"] = "stop"
    status: RunStatus
    reason: str | None
    finished: str
    sim_seconds: float
    wall_seconds: float
    speedup: float | None


class AmendDocument(Record):
    kind: Literal["amend"] = "amend"
    status: RunStatus
    reason: str


Document = Annotated[StartDocument | InstrumentsDocument | CaseDocument | StopDocument | AmendDocument,
                     Field(discriminator="kind")]
_DOCUMENT = TypeAdapter(Document)
_NAME = re.compile(r"^(\d{6})-(start|instruments|case|stop|amend)\.json$")


def document_relpath(sequence: int, document: Document) -> str:
    """``documents/000001-start.json``: the order of writing is the order of the names."""
    return f"{DOCUMENTS_DIR}/{sequence:06d}-{document.kind}.json"


def document_json(document: Document) -> dict[str, object]:
    return document.model_dump(mode="json")


def read_documents(run_dir: Path) -> list[Document]:
    """Every document of a run, in the order written; RigInputError naming the file that is unreadable."""
    folder = run_dir / DOCUMENTS_DIR
    found: list[tuple[int, Path]] = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match is None:
            raise RigInputError(f"{path}: not a run document (documents/NNNNNN-<kind>.json)")
        found.append((int(match.group(1)), path))
    documents = []
    for expected, (sequence, path) in enumerate(sorted(found), start=1):
        if sequence != expected:
            raise RigInputError(f"{folder}: document {expected:06d} is missing (next is {path.name})")
        try:
            documents.append(_DOCUMENT.validate_json(path.read_bytes()))
        except (OSError, ValidationError) as error:
            raise RigInputError(f"{path}: unreadable run document: {error}") from error
    return documents


def fold(documents: list[Document], where: Path) -> RunResults:
    """The run as ``results.json`` shows it: the start's run, updated by instruments, stop and amends, and
    every case in order."""
    if not documents or not isinstance(documents[0], StartDocument):
        raise RigInputError(f"{where}: a run's documents begin with its start document")
    run = documents[0].run
    cases: list[CaseResult] = []
    for document in documents[1:]:
        if isinstance(document, StartDocument):
            raise RigInputError(f"{where}: a second start document")
        if isinstance(document, InstrumentsDocument):
            run = run.model_copy(update={"instruments": document.instruments})
        elif isinstance(document, CaseDocument):
            cases.append(document.case)
        elif isinstance(document, StopDocument):
            run = run.model_copy(update=document.model_dump(exclude={"kind"}))
        else:
            run = run.model_copy(update={"status": document.status, "reason": document.reason})
    return RunResults(run=run, cases=cases)


def has_documents(run_dir: Path) -> bool:
    return (run_dir / DOCUMENTS_DIR).is_dir()


def read_run(run_dir: Path) -> RunResults:
    """The run's results, rebuilt from its documents."""
    return fold(read_documents(run_dir), run_dir / DOCUMENTS_DIR)


UNITS = {"s": "s", "ms": "ms", "v": "V", "a": "A", "w": "W", "kw": "kW", "var": "var", "va": "VA", "hz": "Hz",
         "wh": "Wh", "kwh": "kWh", "pct": "%", "percent": "%", "c": "degC", "ohm": "ohm", "pu": "p.u."}
"""Column name suffixes the rig's traces use, and the units they mean."""


def describe_column(name: str, dtype: str) -> ColumnDescriptor:
    """A column by the rig's naming rule: ``<quantity>_<unit>``; without a known unit suffix the column is a
    count, flag or label (unit "")."""
    quantity, _, suffix = name.rpartition("_")
    if quantity and suffix.lower() in UNITS:
        return ColumnDescriptor(name=name, quantity=quantity, unit=UNITS[suffix.lower()], dtype=dtype)
    return ColumnDescriptor(name=name, quantity=name, unit="", dtype=dtype)


TIME_COLUMNS = ("t_s", "time_s", "applied_s")


def describe_trace(path: str, name: str, frame: pd.DataFrame, role: str | None,
                   instrument: str | None) -> TraceDescriptor:
    """What a trace holds, read off the frame as it is written."""
    columns = [describe_column(str(column), str(frame[column].dtype)) for column in frame.columns]
    time_column = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    rate_hz = span_s = None
    if time_column is not None and len(frame) >= 2:
        t = pd.to_numeric(frame[time_column], errors="coerce").to_numpy(dtype=float)
        finite = t[np.isfinite(t)]
        if len(finite) >= 2:
            span_s = float(finite.max() - finite.min())
            steps = np.diff(finite)
            median = float(np.median(steps))
            if median > 0 and np.allclose(steps, median, rtol=1e-3, atol=1e-9):
                rate_hz = 1.0 / median
    return TraceDescriptor(path=path, name=name, role=role, instrument=instrument, rows=len(frame),
                           columns=columns, time_column=time_column, rate_hz=rate_hz, span_s=span_s)
