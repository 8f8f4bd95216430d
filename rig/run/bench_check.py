"""``rig bench check``: is this bench usable, before anything on it is energised?

For every instrument the bench file names: connect (within the driver's
timeout), read its identity and hold it against the driver's family and the
bench's pin, report its calibration date, hold the bench envelope against
the unit's ratings, and run the confirmations its driver offers for commands
no manual confirmed (``rig.core.bench_checks``). Nothing is set up, no output
is switched on: the only settings sent are those that make a unit safer (an
RLC load's input off) or that energise nothing (a sign convention, a reply
format, a trigger output's source: ``ScpiDriver.confirm_setting``), each read
back. Every instrument is checked even when an
earlier one failed, so one run names every problem.

The verdict: usable (exit 0) when every instrument answered as itself and no
check found a problem; a check that needs energising is listed as such and
does not count as confirmed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from rig.config.bench_file import Bench
from rig.config.envelope import EnvelopeGuard
from rig.core import stop
from rig.core.bench_checks import BenchCheck, SelfChecking
from rig.core.errors import RigError
from rig.config.calibration import calibration_state
from rig.core.roles import Csms
from rig.run.bench_session import check_drivers, connect
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.simulated_lab import SimulatedLab


@dataclass
class InstrumentCheck:
    """What one instrument answered and what its checks found."""

    role: str
    driver: str
    address: str
    idn: str | None = None
    calibration_due: str | None = None
    checks: list[BenchCheck] = field(default_factory=list)
    unusable: str | None = None
    """Why the rig cannot use it at all (unreachable, someone else answering); None when it answered as itself."""

    @property
    def problems(self) -> list[str]:
        found = [self.unusable] if self.unusable else []
        return found + [f"{c.what}: {c.detail}" for c in self.checks if c.outcome == "problem"]


@dataclass
class BenchCheckReport:
    bench: str
    instruments: list[InstrumentCheck]

    @property
    def usable(self) -> bool:
        return not any(i.problems for i in self.instruments)


def check_bench(bench: Bench, *, profile: DutProfile | None = None, today: datetime.date | None = None) -> BenchCheckReport:
    """Check every instrument of ``bench`` (a simulated bench serves its lab with ``profile``'s charger).

    A bad bench file raises (``InputFileError``) before anything is contacted."""
    check_drivers(bench)
    today = today or datetime.date.today()
    sim: SimulatedLab | None = None
    if bench.simulated_lab is not None:
        if profile is None:
            raise ValueError("a simulated bench needs the DUT profile of its charger")
        sim = SimulatedLab(profile, seed=0, time_mode=bench.simulated_lab.time)
    guard = EnvelopeGuard.from_bench(bench)
    results = []
    try:
        for role, entry in bench.instruments.items():
            stop.checkpoint()
            result = InstrumentCheck(role, entry.driver, entry.address, calibration_due=entry.calibration_due)
            results.append(result)
            try:
                driver, result.address, result.idn = connect(role, entry, sim, guard)
            except RigError as err:
                result.unusable = str(err)
                continue
            try:
                if isinstance(driver, Csms):
                    result.checks.append(BenchCheck.note("calibration", "the rig's own central system: nothing to "
                                                                        "calibrate"))
                else:
                    result.checks += _calibration(entry.calibration_due, today, simulated=entry.is_simulated)
                if isinstance(driver, SelfChecking):
                    result.checks += driver.bench_checks()
            except RigError as err:
                result.unusable = f"{role}: stopped answering during its checks: {err}"
            finally:
                driver.close()
    finally:
        if sim is not None:
            sim.close()
    return BenchCheckReport(str(bench.source or "<bench>"), results)


def _calibration(due: str | None, today: datetime.date, *, simulated: bool) -> list[BenchCheck]:
    """A real unit's calibration date is evidence (``rig.config.calibration``): past due is a problem; none stated
    or simulated is said."""
    state, text = calibration_state(due, today, simulated=simulated)
    if state == "expired":
        return [BenchCheck.problem("calibration", f"due {due}, past")]
    if state == "valid":
        return [BenchCheck.confirmed("calibration", text)]
    return [BenchCheck.note("calibration", "simulated: none" if simulated else "no calibration_due in the bench file")]


MARKS = {"confirmed": "ok", "problem": "PROBLEM", "needs energising": "unchecked", "note": "note"}


def format_bench_check(report: BenchCheckReport) -> str:
    """The report as a bench engineer reads it: each instrument, what answered, each check; then the verdict."""
    lines = [f"bench check: {report.bench}"]
    for inst in report.instruments:
        lines.append(f"{inst.role} ({inst.driver}) at {inst.address}")
        if inst.unusable:
            lines.append(f"  PROBLEM  {inst.unusable}")
            continue
        lines.append(f"  identity {inst.idn}")
        for check in inst.checks:
            detail = f" ({check.detail})" if check.detail else ""
            if check.outcome == "needs energising":
                detail = f" (needs energising: {check.detail})"
            lines.append(f"  {MARKS[check.outcome]:9s} {check.what}{detail}")
    problems = [p for inst in report.instruments for p in inst.problems]
    verdict = "usable: nothing energised" if report.usable else \
        f"NOT usable: {len(problems)} problem(s); nothing energised"
    return "\n".join(lines + [verdict])
