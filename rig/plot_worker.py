"""Plots drawn in a worker process while the run goes on; the run commits what comes back.

Why a worker: matplotlib needs tens of milliseconds of CPU per plot and a
run draws one per case. On the run's own thread that cost as much wall time
again as the whole simulated bench. A separate process draws on the
machine's other core (a thread would not: it would share the interpreter
lock with the bench, and matplotlib is not thread-safe). It is started as
the run starts, so importing matplotlib overlaps opening the bench, and it
draws each plot as soon as its case has ended.

What the worker may do: read a trace that the run has already written (a
plot is a view of the evidence on disk, like the report) and answer the SVG
bytes. It writes no file: the run commits every answer through
``rig.evidence`` like any other file, so the manifest keeps its one writer
and every write its staging order. A plot the worker did not deliver (it
could not start, it died, the run ended before it answered) is drawn by
``rig.report`` when the report is rendered, with the same function from the
same trace, so the bytes are the same either way.

The worker runs in its own process group, so a terminal's Ctrl-C reaches
only the rig, which decides how the run ends; it ignores SIGINT anyway, and
ends when the rig closes its job pipe, or is gone.

Wire format, both ways: a 4-byte big-endian length, then a pickle. A job is
``(case_id, trace_path, plot)``, an answer ``(case_id, svg_or_None)``.
Pickles are only exchanged with a child this process started from the same
code.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rig.results import StaircasePlot, TripPlot

_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class DrawnPlot:
    """The worker's answer for one case: the SVG, or None when the trace could not be drawn
    (the report then tries again and says why)."""

    case_id: str
    svg: bytes | None


def _write_frame(fd: int, payload: bytes) -> None:
    data = memoryview(_LENGTH.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]


def _read_exactly(fd: int, count: int) -> bytes | None:
    """``count`` bytes, or None at end of file (the other side closed its end or is gone)."""
    chunks: list[bytes] = []
    while count:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes | None:
    header = _read_exactly(fd, _LENGTH.size)
    if header is None:
        return None
    return _read_exactly(fd, _LENGTH.unpack(header)[0])


class PlotWorker:
    """The rig's side of the worker: send jobs as cases end, take answers as they come."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        self._jobs = process.stdin.fileno()
        self._answers = process.stdout.fileno()
        self._outstanding: set[str] = set()

    @classmethod
    def start(cls) -> PlotWorker | None:
        """Start a worker on this interpreter and this copy of ``rig``; None if no process can be started."""
        rig_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([rig_root, *filter(None, [env.get("PYTHONPATH")])])
        try:
            process = subprocess.Popen([sys.executable, "-m", "rig.plot_worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                       process_group=0)
        except OSError:
            return None
        return cls(process)

    @property
    def outstanding(self) -> int:
        """Jobs sent and not answered yet."""
        return len(self._outstanding)

    def submit(self, case_id: str, trace: Path, plot: TripPlot | StaircasePlot) -> bool:
        """Send a job; False if the worker is gone (the plot is then drawn with the report)."""
        try:
            _write_frame(self._jobs, pickle.dumps((case_id, str(trace), plot)))
        except OSError:
            return False
        self._outstanding.add(case_id)
        return True

    def answers(self, timeout_s: float = 0.0) -> list[DrawnPlot]:
        """Answers that have arrived; waits up to ``timeout_s`` for the first one if none has.

        A worker that has died or sends garbage answers nothing more: its
        outstanding jobs are dropped (the report draws those plots).
        """
        found: list[DrawnPlot] = []
        deadline = time.monotonic() + timeout_s
        while self._outstanding:
            wait = 0.0 if found else max(deadline - time.monotonic(), 0.0)
            if not select.select([self._answers], [], [], wait)[0]:
                break
            try:
                frame = _read_frame(self._answers)
                answer = None if frame is None else DrawnPlot(*pickle.loads(frame))
            except (OSError, pickle.UnpicklingError, EOFError, TypeError, ValueError):
                answer = None
            if answer is None or answer.case_id not in self._outstanding:
                self._outstanding.clear()
                break
            self._outstanding.discard(answer.case_id)
            found.append(answer)
        return found

    def close(self) -> None:
        """Stop the worker: it has nothing left that the run needs. Safe to call twice."""
        process = self._process
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        self._outstanding.clear()
        if process.poll() is None:
            process.kill()  # our own child, by its handle: nothing of the record is in it
        process.wait()


def _draw(case_id: str, trace_path: str, plot: TripPlot | StaircasePlot) -> tuple[str, bytes | None]:
    """One job: ``(case_id, svg)``, or ``(case_id, None)`` when the trace cannot be drawn."""
    from rig.plots import plot_svg, read_trace

    try:
        return case_id, plot_svg(read_trace(Path(trace_path), plot), plot)
    except (OSError, ValueError, KeyError):
        return case_id, None


def main() -> None:
    """The worker: draw each job it is sent, in order, until the rig closes the pipe or is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import rig.plots  # noqa: F401  -- matplotlib loads now, while the rig opens the bench

    jobs, answers = sys.stdin.fileno(), sys.stdout.fileno()
    while (frame := _read_frame(jobs)) is not None:
        try:
            _write_frame(answers, pickle.dumps(_draw(*pickle.loads(frame))))
        except BrokenPipeError:
            return  # the rig is gone


if __name__ == "__main__":
    main()
