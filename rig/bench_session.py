"""Opening a bench: the simulated lab if the bench asks for one, drivers by role, the clock.

This is the only place that knows whether the lab is simulated. It starts
``rig.sim`` when the bench has a ``simulated_lab`` section, opens each
instrument's driver at its VISA address (a loopback port for simulated
ones), reads every ``*IDN?`` for the evidence, and on the way out brings
the bench to its safe state before closing anything.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from drivers import DRIVERS, driver_class
from rig.bench import Bench
from rig.clock import Clock, RealClock, VirtualClock
from rig.envelope import EnvelopeGuard
from rig.errors import InputFileError, RigInputError, SafetyError
from rig.lab import Lab
from rig.results import InstrumentIdentity
from rig.roles import Instrument
from rig.safety import bring_to_safe_state
from rig.sim.dut_profile import DutProfile, load_dut_profile
from rig.sim.lab import SimulatedLab
from rig.steps import StepLog

@dataclass
class OpenBench:
    lab: Lab
    instruments: dict[str, Instrument]
    identities: list[InstrumentIdentity]
    seed: int
    dut: str | None
    sim: SimulatedLab | None = None
    safe_state_problems: list[str] = field(default_factory=list)


def describe_dut(profile: DutProfile, path: Path) -> str:
    ident = profile.identity
    return f"{profile.dut}: {ident.manufacturer} {ident.model} s/n {ident.serial} firmware {ident.firmware} ({path})"


def check_roles(bench: Bench, required: dict[str, str]) -> None:
    """Refuse a bench that lacks a role some case needs (``required``: role -> the case that needs it)."""
    for role, case_id in required.items():
        if role not in bench.instruments:
            raise InputFileError(bench.source or Path("<bench>"), None, "instruments",
                                 f"case {case_id} needs a {role!r} instrument; the bench has "
                                 f"{', '.join(bench.instruments) or 'none'}")


def _check_drivers(bench: Bench) -> None:
    for role, entry in bench.instruments.items():
        if entry.driver not in DRIVERS:
            raise InputFileError(bench.source or Path("<bench>"), None, f"instruments.{role}.driver",
                                 f"unknown driver {entry.driver!r} (known: {', '.join(sorted(DRIVERS))})")


@contextmanager
def open_bench(bench: Bench, dut_path: Path | None, *, seed: int | None = None,
               use_allure: bool = False) -> Iterator[OpenBench]:
    """Connect to every instrument; always leave the bench safe and closed."""
    _check_drivers(bench)
    sim: SimulatedLab | None = None
    clock: Clock
    dut = None
    if bench.simulated_lab is not None:
        if dut_path is None:
            raise RigInputError("the simulated lab needs a DUT profile (--dut)")
        profile = load_dut_profile(dut_path)
        seed = bench.simulated_lab.seed if seed is None else seed
        sim = SimulatedLab(profile, seed=seed, time_mode=bench.simulated_lab.time)
        clock = VirtualClock(sim) if bench.simulated_lab.time == "virtual" else RealClock()
        dut = describe_dut(profile, dut_path)
    else:
        if dut_path is not None:
            raise RigInputError("--dut applies to the simulated lab only; this bench drives a real charger")
        clock = RealClock()
        seed = 0 if seed is None else seed
    guard = EnvelopeGuard.from_bench(bench)
    instruments: dict[str, Instrument] = {}
    opened: OpenBench | None = None
    try:
        identities = []
        for role, entry in bench.instruments.items():
            address = sim.serve(entry.driver) if (entry.is_simulated and sim is not None) else entry.address
            driver = driver_class(entry.driver)(address, name=role, envelope=guard, options=entry.options)
            instruments[role] = driver
            identities.append(InstrumentIdentity(role=role, driver=entry.driver, address=address,
                                                 idn=driver.identify(), calibration_due=entry.calibration_due))
            driver.setup()
        lab = Lab(clock, StepLog(clock, use_allure=use_allure), instruments)
        opened = OpenBench(lab, instruments, identities, seed, dut, sim)
        yield opened
    except BaseException as err:
        # The original error is the story; a safe-state problem on the way out is added to it.
        problems = _shut_down(instruments, sim, opened)
        if problems:
            err.add_note("could not confirm the safe state: " + "; ".join(problems))
        raise
    problems = _shut_down(instruments, sim, opened)
    if problems:
        raise SafetyError("could not confirm the safe state: " + "; ".join(problems))


def _shut_down(instruments: dict[str, Instrument], sim: SimulatedLab | None, opened: OpenBench | None) -> list[str]:
    """Safe state first, then close every session and the simulated lab."""
    problems = bring_to_safe_state(instruments)
    for instrument in instruments.values():
        instrument.close()
    if sim is not None:
        sim.close()
    if opened is not None:
        opened.safe_state_problems = problems
    return problems
