"""``rig chademo check TRACE...``: replay recorded sessions through the compliance rules.

Per file it prints what was read (frames, decoded, lines skipped with their numbers, frames
the CHAdeMO decoder refused), the session rebuilt from it (protocol, V2H or not, phases, who
ended it and why) and every violation with the side at fault and the frames that show it.

A damaged recording is judged on what could be read: damaged lines and undecodable frames are
counted and the first few named, never a reason to stop. Exit code: 0 no violation, 1 any
violation found in what was read, 2 any file with nothing to judge (missing, unreadable, no
frame in a known format, no CHAdeMO frame that decodes): one line naming it, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from pydantic import ValidationError

from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary, protocol_label, summarise
from rig.chademo.rules import RuleOutcome, check_session
from rig.chademo.session import Session, SessionFrame
from rig.chademo.traces import Trace, TraceReadError, read_trace
from rig.core.errors import RigInputError

SKIPPED_LINES_SHOWN = 5
EVIDENCE_SHOWN = 6

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_UNREADABLE = 0, 1, 2


@dataclass(frozen=True)
class TraceCheck:
    """One file's reading, its session and the rules' outcomes."""

    trace: Trace
    session: Session
    summary: SessionSummary
    outcomes: list[RuleOutcome]

    @property
    def violations(self) -> int:
        return sum(len(outcome.violations) for outcome in self.outcomes)


def parse_overrides(assignments: Iterable[str]) -> ChademoParameters:
    """``name=value`` pairs over the defaults (e.g. ``can_silence_s=1.5``), validated."""
    values: dict[str, str] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep:
            raise RigInputError(f"--param {assignment!r}: expected NAME=VALUE")
        values[name.strip()] = value.strip()
    try:
        return ChademoParameters(**values)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise RigInputError(f"--param: {problems}") from None


def check_trace(path: Path, params: ChademoParameters) -> TraceCheck:
    """Read, rebuild and judge one file; :class:`TraceReadError` when nothing in it can be judged."""
    trace = read_trace(path)
    session = Session.from_trace(trace)
    if not session.sides_present:
        raise TraceReadError(path, None, None, f"no CHAdeMO frame (ids 0x100-0x209) among its {len(trace.frames)} "
                                               "frames: nothing to check")
    if len(session.undecoded) == sum(frame.side is not None for frame in session.frames):
        raise TraceReadError(path, None, None, f"none of its {len(session.undecoded)} CHAdeMO frames decodes, "
                                               f"first {_undecoded(session.undecoded[0])}: nothing to check")
    summary = summarise(session, params)
    return TraceCheck(trace, session, summary, check_session(session, params, summary))


def format_check(result: TraceCheck) -> list[str]:
    trace, session, summary = result.trace, result.session, result.summary
    chademo = [f for f in session.frames if f.side is not None]
    decoded = [f for f in chademo if f.signals is not None]
    other_ids = sorted({f.frame_id for f in session.frames if f.side is None})
    lines = [f"== {trace.path} ({trace.format})",
             f"frames: {len(trace.frames)} read, {len(decoded)} of {len(chademo)} CHAdeMO frames decoded"
             + (f", {len(session.frames) - len(chademo)} with other ids ({', '.join(f'0x{i:03X}' for i in other_ids)})"
                if other_ids else ""),
             _skipped_line(trace)]
    if session.undecoded:
        lines.append(f"frames not decoded: {len(session.undecoded)} "
                     f"({_first_few([_undecoded(frame) for frame in session.undecoded])})")
    lines += [f"note: {note}" for note in (*trace.notes, *summary.notes)]
    sides = ", ".join(sorted(side.value for side in summary.sides_present)) or "none"
    lines.append(f"session: sides {sides}; protocol EV {protocol_label(summary.protocol_ev)}, EVSE "
                 f"{protocol_label(summary.protocol_evse)} -> {protocol_label(summary.negotiated_protocol)}")
    lines.append(f"V2H: {'yes' if summary.v2h else 'no'} ({summary.v2h_evidence})")
    lines.append("phases: " + ", ".join(f"{phase.name} {phase.start:.3f} s" for phase in summary.phases))
    if summary.ending is not None:
        lines.append("ended: " + summary.ending.describe())
        lines += [f"    {evidence.describe()}" for evidence in summary.ending.cause.evidence]
    else:
        lines.append("ended: no stop in the recording")
    counts = {verdict: sum(o.verdict == verdict for o in result.outcomes) for verdict in ("pass", "fail",
                                                                                         "not applicable")}
    not_applicable = "; ".join(f"{o.rule.id}: {o.not_applicable}" for o in result.outcomes if o.not_applicable)
    lines.append(f"rules: {counts['pass']} pass, {counts['fail']} fail, {counts['not applicable']} not applicable"
                 + (f" ({not_applicable})" if not_applicable else ""))
    for outcome in result.outcomes:
        for violation in outcome.violations:
            lines.append("violation " + violation.describe())
            lines += [f"    {evidence.describe()}" for evidence in violation.evidence[:EVIDENCE_SHOWN]]
    lines.append(f"result: {result.violations} violations" if result.violations else "result: no violations")
    return lines


def _skipped_line(trace: Trace) -> str:
    """How many lines held no frame, and the first few with their numbers and why."""
    if not trace.skipped:
        return "lines skipped: 0"
    items = [f"{s.line}: {s.reason}" if s.line is not None else s.reason for s in trace.skipped]
    where = "line " if trace.skipped[0].line is not None else ""
    return f"lines skipped: {len(trace.skipped)} ({where}{_first_few(items)})"


def _undecoded(frame: SessionFrame) -> str:
    """A frame the CHAdeMO decoder refused: where it was recorded and why."""
    return f"{frame.source}: {frame.decode_error}"


def _first_few(items: list[str]) -> str:
    """The first :data:`SKIPPED_LINES_SHOWN` of a list for one report line, and how many more there are."""
    more = len(items) - SKIPPED_LINES_SHOWN
    return ", ".join(items[:SKIPPED_LINES_SHOWN]) + (f", ... ({more} more)" if more > 0 else "")


def run_check(paths: Iterable[Path], overrides: Iterable[str], echo: Callable[[str], None],
              error: Callable[[str], None]) -> int:
    """Check every file; returns the exit code (2 if any file was unreadable, else 1 on any violation)."""
    try:
        params = parse_overrides(overrides)
    except RigInputError as err:
        error(f"error: {err}")
        return EXIT_UNREADABLE
    code = EXIT_CLEAN
    for path in paths:
        try:
            result = check_trace(Path(path), params)
        except RigInputError as err:
            error(f"error: {err}")
            code = EXIT_UNREADABLE
            continue
        for line in format_check(result):
            echo(line)
        if result.violations and code == EXIT_CLEAN:
            code = EXIT_VIOLATIONS
    return code
