"""The ZES LMG600 driver against its simulated twin over TCP, in both languages: what it reads is the lab's physics
over whole measuring cycles, the twin refuses what the driver must not do, integration runs in lab time, and the
bench checks confirm every unconfirmed form on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from drivers.grid.chroma_61800 import Chroma61800
from drivers.power_analyzer.zes_lmg600 import ZesLmg600
from drivers.scpi import resource_manager
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.clock import VirtualClock
from rig.core.errors import InstrumentError
from rig.core.identity import check_identity
from rig.sim.simulated_lab import SimulatedLab

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "fixtures" / "benches" / "sim-zes_lmg600.yaml"
OPTIONS = yaml.safe_load(BENCH.read_text())["instruments"]["analyzer"]["options"]


def open_analyzer(lab: SimulatedLab, language: str, **extra) -> ZesLmg600:
    options = {**OPTIONS, "language": language, **extra}
    driver = ZesLmg600(lab.serve("zes_lmg600", options), name="analyzer", options=options)
    driver.attach_clock(VirtualClock(lab))
    return driver


@pytest.fixture(params=["short", "scpi"])
def lmg(request, lab: SimulatedLab) -> Iterator[ZesLmg600]:
    driver = open_analyzer(lab, request.param)
    check_identity("analyzer", driver.resource, driver.identify(), ZesLmg600.family)
    driver.setup()
    yield driver
    driver.close()


@pytest.fixture
def grid_on(lab: SimulatedLab) -> Iterator[None]:
    grid = Chroma61800(lab.serve("chroma_61800"), name="grid", envelope=EnvelopeGuard.from_bench(load_bench(BENCH)))
    grid.setup()
    grid.apply(230.0, 50.0)
    grid.output(True)
    yield
    grid.close()


def test_it_reads_the_grid_over_whole_cycles_on_the_ranges_it_set(lab: SimulatedLab, grid_on, lmg) -> None:
    lmg.set_ranges(1, 250.0, 32.0)
    lmg.set_ranges(4, 400.0, 32.0)
    updates = [lmg.read([1, 4]) for _ in range(4)]
    for update in updates:
        ac = update.elements[1]
        assert ac.voltage_v == pytest.approx(230.0, abs=0.0001 * 230 + 0.0003 * 250)
        assert ac.frequency_hz == pytest.approx(50.0, rel=1e-4)
        assert (ac.voltage_range_v, ac.current_range_a) == (250.0, 32.0)
        assert update.interval_s == pytest.approx(0.5)  # 25 whole periods of 50 Hz
    steps = [b.t_s - a.t_s for a, b in zip(updates, updates[1:])]
    assert steps == pytest.approx([0.5] * 3, abs=0.5 / 16)  # one cycle each, known to a poll


def test_a_cycle_of_whole_periods_is_reported_as_the_unit_measured_it(lab: SimulatedLab, grid_on, lmg) -> None:
    lmg.set_update_rate(0.51)  # 25.5 periods at 50 Hz: the unit measures 26, 0.52 s
    lmg.set_ranges(1, 250.0, 32.0)
    assert lmg.read([1]).interval_s == pytest.approx(0.52)


def test_channels_left_in_different_groups_are_refused(lab: SimulatedLab, grid_on, lmg) -> None:
    group_set = lmg.dialect.group_set.format(n="3,3")
    lmg.write(group_set)  # back to the power-on grouping: channel 4's group has no sync signal
    lmg.set_update_rate(0.51)
    lmg.set_ranges(1, 250.0, 32.0)
    lmg.set_ranges(4, 400.0, 32.0)
    with pytest.raises(InstrumentError, match="different measuring groups"):
        for _ in range(3):  # both groups' first cycles start at the restart: they part from the second on
            lmg.read([1, 4])


def test_integration_runs_its_interval_in_lab_time(lab: SimulatedLab, grid_on, lmg) -> None:
    lmg.set_ranges(1, 250.0, 32.0)
    lmg.set_ranges(4, 400.0, 32.0)
    lmg.read([1, 4])
    lmg.start_integration(2)
    assert lmg.integration_state() == "START"
    with pytest.raises(InstrumentError, match="-221"):
        lmg.set_update_rate(1.0)  # refused while it runs
    for _ in range(6):
        lmg.read([1, 4])
    assert lmg.integration_state() == "TIMEUP"
    integrated = lmg.integrated([1, 4])
    assert integrated[1][1] == pytest.approx(2.0) and integrated[4][1] == pytest.approx(2.0)
    lmg.reset_integration()
    assert lmg.integration_state() == "RESET"
    lmg.start_integration(0)
    lmg.stop_integration()
    assert lmg.integration_state() == "STOP"


def test_bench_checks_confirm_every_unconfirmed_form_on_the_twin(lab: SimulatedLab, lmg) -> None:
    checks = lmg.bench_checks()
    assert [(c.what, c.detail) for c in checks if c.outcome != "confirmed"] == []
    assert lmg.faults() == []


@pytest.mark.parametrize("language", ["short", "scpi"])
def test_the_twin_refuses_what_the_driver_must_not_do(lab: SimulatedLab, language: str) -> None:
    other = {"short": "scpi", "scpi": "short"}[language]
    session = resource_manager().open_resource(lab.serve("zes_lmg600", OPTIONS), read_termination="\n",
                                               write_termination="\n", timeout=2000)
    errors = {"short": "ERRALL?", "scpi": ":SYST:ERR:ALL?"}
    try:
        session.write(f"*zlang {language}")
        manual = {"short": "IRNG1 32", "scpi": ":SENS:CURR:RANG1 32"}[language]
        assert session.query(f"{manual};*OPC?;{errors[language]}").startswith('1;-221,"Settings conflict')
        foreign = {"short": ":FETC:VOLT:TRMS1?", "scpi": "UTRMS1?"}[language]
        session.write(foreign)  # the other language's query: no answer, an undefined header in the queue
        assert session.query(f"*OPC?;{errors[language]}").startswith('1;-113,"Undefined header')
        assert session.query(f"{errors[other]};*OPC?").strip() == "1"  # the other language's query: no answer
        bad_range = {"short": "IAUTO1 0;IRNG1 31", "scpi": ":SENS:CURR:RANG:AUTO1 0;:SENS:CURR:RANG1 31"}[language]
        assert '-222,"Data out of range' in session.query(f"{bad_range};*OPC?;{errors[language]}")
        packed = {"short": "FRMT PACKed", "scpi": ":FORM:DATA PACKed"}[language]
        assert '-224,"Illegal parameter value' in session.query(f"{packed};*OPC?;{errors[language]}")
    finally:
        session.close()


def test_set_up_in_one_language_then_the_other_switches_the_unit(lab: SimulatedLab) -> None:
    first, second = open_analyzer(lab, "short"), open_analyzer(lab, "scpi")
    try:
        first.setup()
        second.setup()  # *zlang scpi: the unit now speaks SCPI to every session
        with pytest.raises(InstrumentError, match="speaking the short language"):
            first.set_update_rate(1.0)
    finally:
        first.close()
        second.close()
