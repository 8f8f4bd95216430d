"""What a person at the bench sees while a run goes: case n of N, step, bench and wall time.

On a terminal a live line is redrawn in place; in CI (no terminal) each case
prints one line when it ends, so the log stays readable. Either way the run
closes with a summary table and where the evidence is.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from rig.evidence.recorder import MANIFEST, sha256_file
from rig.evidence.formatting import format_limit, format_measured
from rig.core.results import VERDICTS, CaseResult, RunResults

def _is_tty() -> bool:
    return Console().is_terminal


VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold magenta", "skip": "yellow",
                 "conditional pass": "green", "conditional fail": "red"}


def _verdict(verdict: str) -> Text:
    return Text(verdict.upper(), style=VERDICT_STYLE.get(verdict, ""))


class TerminalProgress:
    """A ``RunListener`` for the terminal."""

    def __init__(self, console: Console | None = None) -> None:
        # In a CI log (no terminal) rich would assume 80 columns and wrap every row.
        self.console = console or Console(soft_wrap=True, width=None if _is_tty() else 140)
        self._live: Live | None = None
        self._case = ""
        self._index = 0
        self._total = 0
        self._bench = ""

    def run_started(self, total: int, bench: str, out_dir: Path) -> None:
        self._total, self._bench = total, bench
        self.console.print(f"[bold]v2g-rig[/bold]: {total} cases on bench [cyan]{bench}[/cyan]; evidence in {out_dir}")
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=8, transient=True)
            self._live.start()

    def case_started(self, index: int, total: int, case_id: str) -> None:
        self._index, self._case = index, case_id

    def step(self, name: str, sim_time_s: float, wall_s: float) -> None:
        if self._live is not None:
            self._live.update(Text.from_markup(
                f"case {self._index}/{self._total} [bold]{self._case}[/bold]  {name}\n"
                f"bench time {sim_time_s:9.2f} s   wall {wall_s:7.2f} s"))

    def case_finished(self, result: CaseResult) -> None:
        measured = ", ".join(format_measured(name, result.measured.get(name), limit, result.uncertainty.get(name))
                             for name, limit in result.limits.items())
        line = Text(f"[{self._index:>3}/{self._total}] ")
        line.append(_verdict(result.verdict))
        line.append(f" {result.id}  {measured or (result.error or '')}")
        self.console.print(line)

    def run_finished(self, results: RunResults, out_dir: Path) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self.console.print(summary_table(results))
        run = results.run
        speed = f"{run.speedup:.0f}x real time" if run.speedup else ""
        status_style = "bold green" if run.status == "complete" else "bold red"
        self.console.print(Text.assemble(
            ("run ", ""), (run.status.upper(), status_style),
            (f": bench time {run.sim_seconds:.1f} s in {run.wall_seconds:.2f} s wall {speed}", "")))
        if run.reason:
            self.console.print(f"reason: {run.reason}")
        self.console.print(f"report: {out_dir / 'report.html'}\nverify: rig verify {out_dir}")
        # Sent apart from the evidence (e-mail, ticket), this digest anchors the whole run.
        self.console.print(f"manifest SHA-256: {sha256_file(out_dir / MANIFEST)}")


def summary_table(results: RunResults) -> Table:
    table = Table(title="Results", show_lines=False)
    for column in ("case", "measured", "limit", "verdict"):
        table.add_column(column)
    for case in results.cases:
        measured = "; ".join(format_measured(name, case.measured.get(name), limit, case.uncertainty.get(name))
                             for name, limit in case.limits.items())
        limits = "; ".join(format_limit(limit) for limit in case.limits.values())
        table.add_row(case.id, measured if case.verdict != "error" else (case.error or "")[:100], limits,
                      _verdict(case.verdict))
    counts = {v: sum(c.verdict == v for c in results.cases) for v in VERDICTS}
    table.caption = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return table
