"""Opening a bench: the simulated lab if the bench asks for one, drivers by role, the clock.

This is the only place that knows whether the lab is simulated. It starts
``rig.sim`` when the bench has a ``simulated_lab`` section and opens each
instrument's driver at its VISA address (a loopback port for simulated
ones). The first and, until it is accepted, only thing sent to an
instrument is ``*IDN?``: its answer must name a member of the driver's family
and match the bench file's pin, or the bench is refused (``IdentityError``)
before anything is set. Accepted instruments are set up (limits from the
envelope, outputs off), and on the way out the bench is brought to its safe
state before anything is closed.
"""

from __future__ import annotations

import datetime

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from drivers import DRIVERS, driver_class
from drivers.options import describe
from rig.core import stop
from rig.config.bench_file import Bench, InstrumentEntry
from rig.core.clock import Clock, RealClock, VirtualClock
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import InputFileError, SafetyError
from rig.core.identity import check_identity
from rig.run.bench_lab import Lab
from rig.core.results import DutRecord, InstrumentIdentity
from rig.config.calibration import calibration_state
from rig.core.roles import ROLES, ClockUser, Csms, Instrument, StatesBlindSpots, lacks
from rig.core.safety import bring_to_safe_state
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.simulated_lab import SimulatedLab
from rig.sim.instruments.moxa_e1212_dialect import wiring_mismatches
from rig.run.operator import SimulatedOperator
from rig.run.steps import StepLog
from rig.config.yaml_source import load_document, validate_part


@dataclass
class OpenBench:
    lab: Lab
    instruments: dict[str, Instrument]
    identities: list[InstrumentIdentity]
    sim: SimulatedLab | None = None
    safe_state_problems: list[str] = field(default_factory=list)


def check_roles(bench: Bench, required: dict[str, str], sections: dict[str, str] | None = None) -> None:
    """Refuse a bench that lacks a role some case needs (``required``: role -> the case that needs it), or a
    section of the bench file (``sections``: ``site`` or ``grid_switch`` -> the case that reads it)."""
    missing = [f"case {case_id} needs a {role!r} instrument" for role, case_id in required.items()
               if role not in bench.instruments]
    if missing:  # every missing role in one line: a bench engineer adds them all at once
        raise InputFileError(bench.source or Path("<bench>"), None, "instruments",
                             f"{'; '.join(missing)}; the bench has {', '.join(bench.instruments) or 'none'}")
    for section, case_id in (sections or {}).items():
        if getattr(bench, section) is None:
            raise InputFileError(bench.source or Path("<bench>"), None, section,
                                 f"case {case_id} needs the bench's {section!r} section, which this bench has not")


def check_drivers(bench: Bench) -> None:
    """Refuse a bench naming a driver the rig does not have, or options its driver does not take (each
    driver's ``Options``), or, on a simulated lab, lines the lab wires elsewhere; before anything is started:
    one ``file:line: field: message``."""
    for role, entry in bench.instruments.items():
        if entry.driver not in DRIVERS:
            raise InputFileError(bench.source or Path("<bench>"), None, f"instruments.{role}.driver",
                                 f"unknown driver {entry.driver!r} (known: {', '.join(sorted(DRIVERS))})")
    document = load_document(bench.source) if bench.source is not None else None
    for role, entry in bench.instruments.items():
        missing = lacks(driver_class(entry.driver), ROLES[role].offers)
        if missing:
            where = ("instruments", role, "driver")
            raise InputFileError(bench.source or Path("<bench>"), document.line_of(where) if document else None,
                                 ".".join(where), f"driver {entry.driver!r} cannot be the {role} "
                                 f"({ROLES[role].what}): it has no {', '.join(missing)}")
    for role, entry in bench.instruments.items():
        options = driver_class(entry.driver).Options
        if document is not None:
            validate_part(document, ("instruments", role, "options"), options)
            continue
        try:
            options.model_validate(entry.options or {})
        except ValidationError as err:
            raise InputFileError(Path("<bench>"), None, f"instruments.{role}.options", describe(err, options)) from None
    if bench.simulated_lab is not None:
        check_simulated_wiring(bench)


def check_simulated_wiring(bench: Bench) -> None:
    """A simulated bench's digital I/O lines must be where the simulated module wires them (file:line:field)."""
    for role, entry in bench.instruments.items():
        if entry.driver != "modbus_dio" or not entry.is_simulated:
            continue
        for loc, message in wiring_mismatches(entry.options or {}):
            where = ("instruments", role, "options", *loc)
            line = load_document(bench.source).line_of(where) if bench.source is not None else None
            raise InputFileError(bench.source or "bench", line, ".".join(str(x) for x in where), message)


@contextmanager
def open_bench(bench: Bench, *, profile: DutProfile | None, seed: int,
               use_allure: bool = False, dut: DutRecord | None = None) -> Iterator[OpenBench]:
    """Connect to every instrument, check who it is, set it up; always leave the bench safe and closed.

    ``profile`` is the simulated charger's behaviour (a simulated bench needs
    one; a real bench has a real charger and takes None). ``dut``: the charger's identity and declarations, as
    procedures read them (``Lab.dut``).
    """
    check_drivers(bench)
    sim: SimulatedLab | None = None
    clock: Clock
    if bench.simulated_lab is not None:
        if profile is None:
            raise ValueError("a simulated lab needs the DUT profile of its charger")
        sim = SimulatedLab(profile, seed=seed, time_mode=bench.simulated_lab.time)
        if bench.site is not None:  # the lab's banks are the bench's: the rig and the lab use the same ratings
            sim.model.site.fit({bank: b.rated_power_w for bank, b in bench.site.load_banks.items()},
                               bench.site.nominal_voltage_v)
        clock = VirtualClock(sim) if bench.simulated_lab.time == "virtual" else RealClock()
    else:
        clock = RealClock()
    guard = EnvelopeGuard.from_bench(bench)
    instruments: dict[str, Instrument] = {}
    opened: OpenBench | None = None
    try:
        identities = []
        for role, entry in bench.instruments.items():
            stop.checkpoint()
            driver, address, idn = connect(role, entry, sim, guard)
            instruments[role] = driver
            blind = driver.cannot_see() if isinstance(driver, StatesBlindSpots) else []
            state, calibration = (("none", "the rig's own central system: nothing to calibrate")
                                  if isinstance(driver, Csms) else
                                  calibration_state(entry.calibration_due, datetime.date.today(),
                                                    simulated=entry.is_simulated))
            identities.append(InstrumentIdentity(role=role, driver=entry.driver, address=address,
                                                 idn=idn, calibration_due=entry.calibration_due,
                                                 calibration=calibration, calibration_state=state, cannot_see=blind))
        for driver in instruments.values():
            stop.checkpoint()
            if isinstance(driver, ClockUser):
                driver.attach_clock(clock)  # before set-up's first read: frames and updates go on the rig's axis
            driver.setup()
        csms = instruments.get("csms")
        if sim is not None and isinstance(csms, Csms):
            sim.attach_ocpp(csms.url, getattr(csms, "pki", None))  # the charger connects to the rig's listener
        lab = Lab(clock, StepLog(clock, use_allure=use_allure), instruments, site=bench.site,
                  grid_switch=bench.grid_switch, operator=SimulatedOperator(sim) if sim is not None else None,
                  dut=dut)
        opened = OpenBench(lab, instruments, identities, sim)
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


def connect(role: str, entry: InstrumentEntry, sim: SimulatedLab | None,
            guard: EnvelopeGuard) -> tuple[Instrument, str, str]:
    """Open the role's driver at its address (the lab's own on a simulated bench) and accept its identity:
    the driver, the address and its ``*IDN?`` answer. A peer whose identity is refused is closed untouched."""
    cls = driver_class(entry.driver)
    address = sim.serve(entry.driver, entry.options) if (entry.is_simulated and sim is not None) else entry.address
    driver = cls(address, name=role, envelope=guard, options=entry.options)
    try:
        idn = driver.identify()
        check_identity(role, address, idn, cls.family, entry.identity.pin() if entry.identity else None)
    except BaseException:
        driver.close()  # not (yet) ours: no safe state is sent to a peer we do not know
        raise
    if isinstance(driver, Csms):
        address = driver.url  # the rig's own listener: where it really listens (the bench may say port 0)
    return driver, address, idn


def _shut_down(instruments: dict[str, Instrument], sim: SimulatedLab | None, opened: OpenBench | None) -> list[str]:
    """Safe state first, then close every session and the simulated lab; no stop request cuts this short."""
    with stop.deferred():
        problems = bring_to_safe_state(instruments)
        for instrument in instruments.values():
            instrument.close()
        if sim is not None:
            sim.close()
    if opened is not None:
        opened.safe_state_problems = problems
    return problems
