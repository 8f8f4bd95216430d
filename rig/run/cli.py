"""The ``rig`` command: run plans, list cases, verify and re-render evidence.

Exit codes are a contract: ``rig run`` exits 0 when every case passed, 1 when
any case failed or errored (or the run was stopped or cut short), 2 on a
usage, plan, bench or output error (including evidence that could not be
written), which is one clear message and never a traceback. The process's
first and last instants (stop handling, the final exit code) belong to
``rig.run.launch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from rig.config.bench_file import load_bench
from rig.run.engine import RunRequest, default_out_dir, run_campaign
from rig.core.errors import EvidenceWriteError, RigError, RigInputError
from rig.config.plans import load_cases
from rig.run.progress import TerminalProgress
from rig.evidence.report import render_report
from rig.evidence.signature import check_signature, fingerprint, generate_key, load_public_key
from rig.evidence.verify import format_verify_report, verify_run

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PLAN = PROJECT_ROOT / "test_plans" / "campaigns" / "certification.yaml"
DEFAULT_BENCH = PROJECT_ROOT / "fixtures" / "benches" / "sim.yaml"
DEFAULT_DUT = PROJECT_ROOT / "fixtures" / "duts" / "compliant.yaml"

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="v2g-rig: hardware-in-the-loop test and certification rig for V2G chargers.")
err_console = Console(stderr=True, soft_wrap=True)

last_run_dir: Path | None = None
"""The run directory ``rig run`` started (``rig.run.launch`` amends it if a stop comes while it closes)."""


def _version(shown: bool) -> None:
    if shown:
        from rig import __version__
        typer.echo(f"v2g-rig {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the rig's version and exit.")] = False) -> None:
    """v2g-rig: hardware-in-the-loop test and certification rig for V2G chargers."""


def _fail_input(err: RigError) -> None:
    err_console.print(f"[bold red]error:[/bold red] {err}", highlight=False)
    raise typer.Exit(2)


@app.command()
def run(
    plans: Annotated[Optional[list[Path]], typer.Argument(help="Plan files, campaign files or directories.")] = None,
    bench: Annotated[Path, typer.Option(help="Bench file.")] = DEFAULT_BENCH,
    dut: Annotated[Optional[Path], typer.Option(
        help="DUT profile (simulated lab) or DUT identity file (real bench).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Run directory to create (default reports/run-<time>).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Override the simulated lab's seed (0 or more).")] = None,
) -> None:
    """Run plans (default: the full certification campaign on the simulated bench, compliant DUT)."""
    global last_run_dir
    plan_paths = plans or [DEFAULT_PLAN]
    out_dir = out or default_out_dir(Path("reports"))
    try:
        simulated = load_bench(bench).simulated_lab is not None
        dut_path = dut if dut is not None else (DEFAULT_DUT if simulated else None)
        last_run_dir = out_dir
        results = run_campaign(RunRequest(plan_paths, bench, dut_path, out_dir, seed), TerminalProgress())
    except RigInputError as err:
        _fail_input(err)
    except EvidenceWriteError as err:
        err_console.print(f"[bold red]error:[/bold red] {err}; outputs are off, the run was stopped",
                          highlight=False)
        raise typer.Exit(2)
    except KeyboardInterrupt as err:
        what = f" ({err})" if str(err) else ""
        kept = "; the record is marked incomplete" if (out_dir / "results.json").exists() else ""
        err_console.print(f"[bold red]interrupted{what}[/bold red]: outputs are off{kept}", highlight=False)
        raise typer.Exit(1)
    except RigError as err:
        notes = "".join(f"; {note}" for note in getattr(err, "__notes__", []))
        err_console.print(f"[bold red]run aborted:[/bold red] {err}{notes}", highlight=False)
        raise typer.Exit(1)
    passed = results.run.status == "complete" and all(c.verdict == "pass" for c in results.cases)
    raise typer.Exit(0 if passed else 1)


@app.command("list")
def list_cases(
    plans: Annotated[Optional[list[Path]], typer.Argument(help="Plan files, campaign files or directories.")] = None,
) -> None:
    """List suites and their case ids."""
    try:
        cases = load_cases(plans or [DEFAULT_PLAN])
    except RigInputError as err:
        _fail_input(err)
    suite = None
    for loaded in cases:
        if loaded.plan.suite != suite:
            suite = loaded.plan.suite
            typer.echo(f"{suite}  ({loaded.plan.title})")
        clause = loaded.plan.clause_record(loaded.case.clause)
        typer.echo(f"  {loaded.case.id:32s} {loaded.case.procedure:11s} {clause}")


@app.command()
def verify(run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
           key: Annotated[Optional[Path], typer.Option(help="The bench's public key (PEM, from `rig keygen`): the "
                                                            "manifest must carry its valid signature.")] = None) -> None:
    """Check every file of a run against its manifest (SHA-256) and, with --key, the manifest against the bench's
    signature. Exit 0 if all match, 1 otherwise, 2 for a key file that cannot be used."""
    public = None
    if key is not None:
        try:
            public = load_public_key(key)
        except RigInputError as err:
            _fail_input(err)
    report = verify_run(run_dir)
    typer.echo(format_verify_report(report))
    signed = True
    if public is not None and report.problem is None:
        check = check_signature(run_dir, public)
        signed = check.ok
        typer.echo(("SIGNATURE OK: " if check.ok else "SIGNATURE NOT VERIFIED: ") + check.detail)
    raise typer.Exit(0 if report.ok and signed else 1)


@app.command()
def diff(run_a: Annotated[Path, typer.Argument(help="The run before (the last certified one).")],
         run_b: Annotated[Path, typer.Argument(help="The run after (a new firmware, say).")],
         html: Annotated[Optional[Path], typer.Option(help="Also write the comparison as an HTML page here.")] = None
         ) -> None:
    """Compare two runs case by case: verdict changes, cases added or missing, values that moved by more than
    their combined uncertainty, and the charger, bench and plan differences. Exit 0 when no verdict changed and no
    case was added or missing, 1 otherwise, 2 when a run cannot be read or does not verify."""
    from rig.evidence.diff import diff_runs, format_diff, render_diff_html

    try:
        result = diff_runs(run_a, run_b)
    except RigInputError as err:
        _fail_input(err)
    typer.echo(format_diff(result))
    if html is not None:
        html.write_text(render_diff_html(result), encoding="utf-8")
        typer.echo(f"html: {html}")
    raise typer.Exit(1 if result.verdicts_changed else 0)


@app.command()
def keygen(name: Annotated[str, typer.Argument(help="The bench's name (the key's name).")],
           out: Annotated[Path, typer.Option(help="Where to write <name>.key.pem and <name>.pub.pem.")] = Path(".")
           ) -> None:
    """Make the bench's Ed25519 signing key: the private half stays on the bench (its bench file names it under
    `signing:`), the public half goes to whoever verifies its runs (`rig verify DIR --key PUB`)."""
    try:
        private_path, public_path = generate_key(name, out)
    except RigInputError as err:
        _fail_input(err)
    typer.echo(f"private key: {private_path} (keep it on the bench, never commit it)\npublic key:  {public_path} "
               f"(SHA-256 {fingerprint(load_public_key(public_path))})")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Re-render report.html and report.pdf from the evidence in a run directory (refused unless it verifies); a
    killed run also gets its results.json."""
    try:
        typer.echo(render_report(run_dir))
    except (RigInputError, EvidenceWriteError) as err:
        _fail_input(err)


bench_app = typer.Typer(no_args_is_help=True, help="The bench: check it before anything is energised.")
app.add_typer(bench_app, name="bench")


@bench_app.command("check")
def bench_check(
    bench: Annotated[Path, typer.Argument(help="Bench file.")] = DEFAULT_BENCH,
    dut: Annotated[Optional[Path], typer.Option(help="DUT profile of a simulated bench's charger.")] = None,
) -> None:
    """Connect to every instrument, check who it is, its calibration, its ratings against the envelope and the
    commands its driver could not confirm from a manual; energise nothing. Exit 0 usable, 1 problems, 2 bad file."""
    from rig.run.bench_check import check_bench, format_bench_check
    from rig.sim.charger.dut_profile import load_dut_profile

    try:
        loaded = load_bench(bench)
        profile = load_dut_profile(dut or DEFAULT_DUT) if loaded.simulated_lab is not None else None
        report = check_bench(loaded, profile=profile)
    except RigInputError as err:
        _fail_input(err)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/bold red]: nothing was energised", highlight=False)
        raise typer.Exit(1)
    Console(soft_wrap=True).print(format_bench_check(report), highlight=False)
    raise typer.Exit(0 if report.usable else 1)


chademo_app = typer.Typer(no_args_is_help=True, help="CHAdeMO: check recorded sessions against the compliance rules.")
app.add_typer(chademo_app, name="chademo")


@chademo_app.command("check")
def chademo_check(
    traces: Annotated[list[Path], typer.Argument(help="CAN traces: SavvyCAN CSV, candump, candump -L log, ASC, BLF, TRC.")],
    param: Annotated[Optional[list[str]], typer.Option(
        help="Override a rule parameter, NAME=VALUE (e.g. can_silence_s=1.5); repeatable.")] = None,
) -> None:
    """Rebuild each recorded session and apply the CHAdeMO rules. Exit 0 clean, 1 violations, 2 unreadable input."""
    from rig.chademo.check import run_check  # cantools loads only for this command

    raise typer.Exit(run_check(traces, param or [], typer.echo,
                               lambda line: err_console.print(f"[bold red]{line}[/bold red]", highlight=False)))


def run_command_line(argv: list[str]) -> int:
    """Run one ``rig`` command line; returns the exit code (usage errors print one line, exit 2)."""
    try:
        app(args=argv, prog_name="rig")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except RigInputError as err:  # anything that escaped a command's own handling
        err_console.print(f"[bold red]error:[/bold red] {err}", highlight=False)
        return 2
    return 0


if __name__ == "__main__":
    from rig.run.launch import main

    main()
