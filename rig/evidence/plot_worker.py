"""Plots drawn in a worker process while the run goes on; the run commits what comes back.

Why a worker: matplotlib needs tens of milliseconds of CPU per plot and a
run draws one per case. On the run's own thread that cost as much wall time
again as the whole simulated bench. A separate process draws on the
machine's other core (a thread would not: it would share the interpreter
lock with the bench, and matplotlib is not thread-safe). It is started as
the run starts, so importing matplotlib overlaps opening the bench, and it
draws each plot as soon as its case has ended.

What the worker does: the run reads each trace it has written back from the
evidence and reduces it to what the plot shows (``rig.evidence.plot_canvas.drawing``, cheap);
the worker draws that with matplotlib and answers the SVG bytes (and a JPEG of the same figure, for the
PDF report). So it loads
neither pyarrow nor pydantic, and starts sooner. It writes no file: the run
commits every answer through ``rig.evidence.recorder`` like any other file, so the
manifest keeps its one writer and every write its staging order. A plot the
worker did not deliver (it could not start, it died, the run ended before it
answered) is drawn by ``rig.evidence.report`` when the report is rendered, with the
same functions from the same trace, so the bytes are the same either way.

The worker runs in its own process group, so a terminal's Ctrl-C reaches
only the rig, which decides how the run ends; it ignores SIGINT anyway, and
ends when the rig closes its job pipe, or is gone.

Wire format, both ways: a 4-byte big-endian length, then a pickle. A job is
``(case_id, drawing)``, an answer ``(case_id, svg_or_None, jpeg_or_None)``.
Pickles are only exchanged with a child this process started from the same
code.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from rig.evidence.plot_canvas import Drawing, draw_files

_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class DrawnPlot:
    """The worker's answer for one case: the SVG and the JPEG, or None when it could not be drawn
    (the report then tries again and says why)."""

    case_id: str
    svg: bytes | None
    jpeg: bytes | None = None


def _write_frame(fd: int, payload: bytes) -> None:
    data = memoryview(_LENGTH.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]


PIPE_BYTES = 1 << 20
"""Pipe buffer asked for, where the system lets a pipe grow (Linux: up to ``/proc/sys/fs/pipe-max-size``)."""


def _widen(fd: int) -> None:
    """Let a pipe hold several jobs or answers (a job is ~150 kB, an SVG up to ~170 kB; the default
    buffer is 64 kB), so neither side waits for the other to read: the worker would otherwise idle
    while the rig runs a case, and the rig's write of a job wait for the worker's reading thread."""
    import fcntl

    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):  # not Linux, or above the system's limit: smaller pipes, same results
        pass


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
        for pipe in (self._jobs, self._answers):
            _widen(pipe)
        self._outstanding: set[str] = set()

    @classmethod
    def start(cls) -> PlotWorker | None:
        """Start a worker on this interpreter and this copy of ``rig``; None if no process can be started
        (or off POSIX, where pipes cannot be waited on with ``select``)."""
        if os.name != "posix":
            return None
        # The worker must import the same rig as this process (a checkout may sit on sys.path before an
        # installed copy): it gets this process's sys.path, in order, and no working directory in front (-P).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(entry for entry in sys.path if entry)}
        try:
            process = subprocess.Popen([sys.executable, "-P", "-m", "rig.evidence.plot_worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                       process_group=0)
        except OSError:
            return None
        return cls(process)

    @property
    def outstanding(self) -> int:
        """Jobs sent and not answered yet."""
        return len(self._outstanding)

    def submit(self, case_id: str, drawing: Drawing) -> bool:
        """Send a job; False if the worker is gone (the plot is then drawn with the report)."""
        try:
            _write_frame(self._jobs, pickle.dumps((case_id, drawing)))
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


def _draw(case_id: str, drawing: Drawing) -> tuple[str, bytes | None, bytes | None]:
    """One job: ``(case_id, svg, jpeg)``, or ``(case_id, None, None)`` when it cannot be drawn."""
    try:
        files = draw_files(drawing)
    except (OSError, ValueError):
        return case_id, None, None
    return case_id, files.svg, files.jpeg


def _receive_jobs(fd: int, jobs: queue.SimpleQueue[bytes | None]) -> None:
    """Read jobs as they come, so the rig's writes never wait on a drawing (None: no more jobs).

    Both directions carry large messages (a job's lines, an answer's SVG): if
    the worker drew with its job pipe full while the rig waited to write the
    next job, and the rig was not reading answers, each would wait for the
    other for ever.
    """
    while (frame := _read_frame(fd)) is not None:
        jobs.put(frame)
    jobs.put(None)


def main() -> None:
    """The worker: draw each job it is sent, in order, until the rig closes the pipe or is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Imports make objects by the hundred thousand and no garbage: the cyclic collector would only
    # walk them again and again. Collect from after the imports on, and never walk those again.
    gc.disable()
    import matplotlib.backends.backend_agg  # noqa: F401  -- loaded now, while the rig opens the bench
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    gc.freeze()
    gc.enable()
    jobs: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_receive_jobs, args=(sys.stdin.fileno(), jobs), daemon=True).start()
    answers = sys.stdout.fileno()
    while (frame := jobs.get()) is not None:
        try:
            _write_frame(answers, pickle.dumps(_draw(*pickle.loads(frame))))
        except BrokenPipeError:
            return  # the rig is gone


if __name__ == "__main__":
    main()
