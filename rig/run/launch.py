"""The ``rig`` command's first and last instants: a stop is caught from start-up to exit.

Installed as the console script, this module is imported before anything
heavy, so its first act (routing SIGINT and SIGTERM to ``rig.core.stop``) comes
before the CLI, pandas or matplotlib are loaded: a stop during start-up is a
one-line message, never a traceback.

Its last act decides the exit code with stop signals held back: a stop
requested at any instant, however late, never yields exit 0, and a record
that was already closed as complete is amended to incomplete first. The
process then ends at once (``os._exit``), so no signal can arrive between
that decision and the exit; standard output and error are closed at that
moment, so a supervisor reading them knows the decision was made.
"""

from __future__ import annotations

import os
import sys
import traceback

from rig.core import stop


def main() -> None:
    stop.install()
    code = 1
    try:
        from rig.run import cli

        code = cli.run_command_line(sys.argv[1:])
    except KeyboardInterrupt:
        print("interrupted before the run started: nothing was energised", file=sys.stderr)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # a bug: show it whole, then still leave through the one exit below
        traceback.print_exc()
        code = 1
    _exit(code)


def _exit(code: int) -> None:
    with stop.signals_blocked():
        late = stop.requested() or stop.pending()
        if late:
            code = max(code, 1)
            _amend_a_closed_record(late)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        for fd in (1, 2):  # whoever reads our output sees its end now, at the moment of the decision
            try:
                os.close(fd)
            except OSError:
                pass
        os._exit(code)


def _amend_a_closed_record(signal_name: str) -> None:
    """A stop that came after the run closed its record as complete: the record must not say complete."""
    cli = sys.modules.get("rig.run.cli")
    run_dir = getattr(cli, "last_run_dir", None) if cli is not None else None
    if run_dir is None or not (run_dir / "results.json").exists():
        return  # no record was started: nothing can claim to be complete
    try:
        from rig.evidence.recorder import RunRecorder, read_results

        if read_results(run_dir).run.status != "complete":
            return
        from rig.evidence.report import render_report

        recorder = RunRecorder.reopen(run_dir)
        recorder.amend_status("incomplete", f"stop requested ({signal_name}) while the run was closing; "
                                            "every case had finished and outputs were off")
        render_report(run_dir, recorder)
        recorder.seal()
        print(f"stopped by {signal_name} while closing: the record is marked incomplete", file=sys.stderr)
    except Exception as err:  # noqa: BLE001 - the exit code already says it; never a traceback here
        print(f"stopped by {signal_name} while closing; the record could not be amended: {err}", file=sys.stderr)
