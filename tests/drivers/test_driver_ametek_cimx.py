"""Ametek / California Instruments MX driver against protocol scripts: exact wire traffic for every method,
refusals before any I/O, wrong replies and queued errors as instrument errors naming the role and command."""

from __future__ import annotations

from pathlib import Path

import pytest
from protocol import OK, expected_protocol, setting, settings

from drivers.grid.ametek_cimx import AmetekCiMx
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.bench_checks import BenchCheck
from rig.core.errors import EnvelopeBreach, EnvelopeError, InstrumentError
from rig.core.identity import Idn
from rig.core.roles import GridProgram, GridReading, GridSimulator, GridStep
from rig.sim.instruments.ametek_cimx_dialect import AmetekMX as SimulatedMX

BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim-ametek_cimx.yaml"

FIXED = ("*CLS", "ABOR", "OUTP OFF", "VOLT:MODE FIX", "FREQ:MODE FIX", "PHAS:MODE FIX", "FUNC:MODE FIX",
         "VOLT:SLEW:MODE FIX", "FREQ:SLEW:MODE FIX", "VOLT:RANG 300", "FUNC SIN", "PHAS 0.0")
TRIGGERING = ("OUTP:TTLT:STAT ON", "OUTP:TTLT:SOUR BOT", "TRIG:TRAN:SOUR IMM", "TRIG:SYNC:SOUR IMM", "LIST:STEP AUTO",
              "LIST:COUN 1")


def stored(command: str, value: str, reply: str) -> list[tuple[str, str | None]]:
    return setting(f"{command} {value}") + [(f"{command}?", reply)]


def setup_script(current: str = "40.00", delay: str = "0.10", slews: tuple[str, str] = ("1000", "50")):
    return (settings(*FIXED, f"CURR {current}") + stored("CURR:PROT:STAT", "ON", "1")
            + stored("CURR:PROT:DEL", delay, delay) + settings(f"VOLT:SLEW {slews[0]}", f"FREQ:SLEW {slews[1]}")
            + settings(*TRIGGERING))


SETUP = setup_script()
APPLY = settings("FREQ 50.000", "VOLT:AC 230.00")
OV2 = GridProgram((GridStep.hold(1.0, 277.7, 50.0), GridStep.hold(0.5, 230.0, 50.0)))
OV2_LIST = settings("ABOR", "VOLT:MODE LIST", "FREQ:MODE LIST", "VOLT:SLEW:MODE LIST", "FREQ:SLEW:MODE LIST",
                    "LIST:DWEL 1,0.5", "LIST:VOLT 277.700,230.000", "LIST:VOLT:SLEW MAX,MAX",
                    "LIST:FREQ 50.0000,50.0000", "LIST:FREQ:SLEW MAX,MAX", "LIST:REP 0,0", "INIT")
VECTOR_SHIFT = GridProgram((GridStep((49.5 - 50.0) / -0.5, (230.0, 230.0), (50.0, 49.5)),
                            GridStep.hold(2.0, 230.0, 49.5),
                            GridStep(3.0, (230.0, 230.0), (49.5, 49.5), 50.0),
                            GridStep.hold(0.5, 230.0, 50.0)))


@pytest.fixture(scope="module")
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(BENCH))


def ready(guard: EnvelopeGuard | None, *script, **kwargs):
    """A driver after set-up and apply(230, 50) (on the bench envelope unless ``guard`` is None)."""
    prefix = (SETUP if guard is not None else setup_script(current="125.00", slews=("MAX", "MAX"))) + APPLY
    return expected_protocol(AmetekCiMx, prefix + [pair for part in script for pair in part], name="grid",
                             envelope=guard, **kwargs)


def prepare(grid: AmetekCiMx) -> None:
    grid.setup()
    grid.apply(230.0, 50.0)


# -- identity, session, role ---------------------------------------------------------------------------


def test_session_is_a_newline_terminated_socket_and_constructing_sends_nothing() -> None:
    with expected_protocol(AmetekCiMx, [("*IDN?", SimulatedMX.idn)]) as grid:
        assert grid.scripted_session.sent == []
        assert grid.identify() == SimulatedMX.idn
    ((_, kwargs),) = grid.scripted_manager.opened
    assert kwargs["read_termination"] == "\n" and kwargs["write_termination"] == "\n"
    assert isinstance(grid, GridSimulator)


@pytest.mark.parametrize("reply", [SimulatedMX.idn, "CALIFORNIA INSTRUMENTS,MX45-3, 12345, Rev 4.0",
                                   "California Instruments,RS90-3Pi,56789,Rev 1.2",
                                   "AMETEK CALIFORNIA INSTRUMENTS,MX30,0,Rev 4.1"])
def test_family_admits_mx_and_rs_answers(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and AmetekCiMx.family.admits(idn)


@pytest.mark.parametrize("reply", ["CALIFORNIA INSTRUMENTS,4500LX,12435,0.1", "Chroma ATE,61845,1,1.00",
                                   "Pacific Power,AFX,1,1", "KEYSIGHT TECHNOLOGIES,MSOX3104T,MY1,07.50"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not AmetekCiMx.family.admits(idn)


def test_close_closes_the_session() -> None:
    with expected_protocol(AmetekCiMx, []) as grid:
        grid.close()
    assert grid.scripted_session.closed


# -- set-up ------------------------------------------------------------------------------------------


def test_setup_brings_every_stored_setting_to_the_rigs_state_from_the_bench_envelope(guard: EnvelopeGuard) -> None:
    with expected_protocol(AmetekCiMx, SETUP, envelope=guard) as grid:
        grid.setup()


def test_setup_without_an_envelope_uses_the_units_rating_and_maximum_slews() -> None:
    script = setup_script(current="60.00", delay="1.50", slews=("MAX", "MAX"))
    with expected_protocol(AmetekCiMx, script, options={"max_current_a": 60.0, "ocp_delay_s": 1.5}) as grid:
        grid.setup()


def test_setup_refuses_a_current_limit_above_the_units_rating_before_any_io(guard: EnvelopeGuard) -> None:
    with expected_protocol(AmetekCiMx, [], name="grid", envelope=guard, options={"max_current_a": 30.0}) as grid:
        with pytest.raises(InstrumentError, match="grid.*40.0 A is outside the instrument's 0..30.0 A"):
            grid.setup()
    assert grid.scripted_session.sent == []


@pytest.mark.parametrize("command,sent,reply", [("CURR:PROT:STAT", "ON", "0"), ("CURR:PROT:DEL", "0.10", "2.00"),
                                                ("CURR:PROT:DEL", "0.10", "soon")])
def test_setup_fails_when_the_unit_keeps_another_protection_setting(guard: EnvelopeGuard, command: str, sent: str,
                                                                    reply: str) -> None:
    script = settings(*FIXED, "CURR 40.00")
    if command == "CURR:PROT:DEL":
        script += stored("CURR:PROT:STAT", "ON", "1")
    script += stored(command, sent, reply)
    with expected_protocol(AmetekCiMx, script, name="grid", envelope=guard) as grid:
        with pytest.raises(InstrumentError, match=f"grid.*{command}\\?.*kept {reply}"):
            grid.setup()


@pytest.mark.parametrize("options", [{"voltage_range": 400}, {"ocp_delay_s": 0.0}, {"max_current_a": -1.0},
                                     {"phase_mode": "three"}])
def test_unusable_options_are_refused_before_any_io(options: dict) -> None:
    with pytest.raises(InstrumentError, match="grid.*options"):
        with expected_protocol(AmetekCiMx, [], name="grid", options=options):
            pass


def test_an_error_queued_by_a_setting_raises_naming_the_role_and_command(guard: EnvelopeGuard) -> None:
    script = settings(*FIXED[:9]) + setting("VOLT:RANG 300", '-221,"Settings conflict"') + [("SYST:ERR?", OK)]
    with expected_protocol(AmetekCiMx, script, name="grid", envelope=guard) as grid:
        with pytest.raises(InstrumentError, match='grid.*VOLT:RANG 300.*-221,"Settings conflict"'):
            grid.setup()


# -- fixed mode and output -------------------------------------------------------------------------------


def test_apply_sends_frequency_then_voltage_and_only_what_changes(guard: EnvelopeGuard) -> None:
    with ready(guard, settings("VOLT:AC 240.00")) as grid:
        prepare(grid)
        grid.apply(230.0, 50.0)  # unchanged: nothing sent
        grid.apply(240.0, 50.0)


@pytest.mark.parametrize("voltage,frequency", [(301.0, 50.0), (230.0, 15.0), (-1.0, 50.0)])
def test_apply_outside_the_instrument_range_is_refused_before_any_io(voltage: float, frequency: float) -> None:
    with expected_protocol(AmetekCiMx, [], name="grid") as grid:
        with pytest.raises(InstrumentError, match="grid.*outside the instrument range"):
            grid.apply(voltage, frequency)


def test_the_150_v_range_narrows_what_apply_takes() -> None:
    with expected_protocol(AmetekCiMx, [], name="grid", options={"voltage_range": 150}) as grid:
        with pytest.raises(InstrumentError, match="0.0..150.0 V"):
            grid.apply(230.0, 50.0)


def test_apply_outside_the_envelope_is_refused_before_any_io(guard: EnvelopeGuard) -> None:
    with expected_protocol(AmetekCiMx, [], envelope=guard) as grid:
        with pytest.raises(EnvelopeError):
            grid.apply(230.0, 66.0)
    assert grid.scripted_session.sent == []


def test_output_on_and_off() -> None:
    with expected_protocol(AmetekCiMx, settings("OUTP ON", "OUTP OFF")) as grid:
        grid.output(True)
        grid.output(False)


# -- list mode -------------------------------------------------------------------------------------------


def test_a_step_program_is_a_list_of_maximum_slew_points_started_by_init(guard: EnvelopeGuard) -> None:
    with ready(guard, OV2_LIST) as grid:
        prepare(grid)
        grid.run_program(OV2)


def test_a_ramp_is_a_point_whose_slew_spans_its_dwell_and_a_phase_jump_a_phase_list(guard: EnvelopeGuard) -> None:
    lists = settings("ABOR", "VOLT:MODE LIST", "FREQ:MODE LIST", "VOLT:SLEW:MODE LIST", "FREQ:SLEW:MODE LIST",
                     "PHAS:MODE LIST", "LIST:DWEL 1,2,3,0.5", "LIST:VOLT 230.000,230.000,230.000,230.000",
                     "LIST:VOLT:SLEW MAX,MAX,MAX,MAX", "LIST:FREQ 49.5000,49.5000,49.5000,50.0000",
                     "LIST:FREQ:SLEW 0.5,MAX,MAX,MAX", "LIST:REP 0,0,0,0", "LIST:PHAS 0.00,0.00,50.00,50.00",
                     "INIT")
    back = settings("ABOR", "VOLT:MODE FIX", "FREQ:MODE FIX", "PHAS:MODE FIX", "FREQ 50.000", "VOLT:AC 230.00")
    again = settings("ABOR", "VOLT:MODE LIST", "FREQ:MODE LIST", *OV2_LIST_TAIL)
    with ready(guard, lists, back, again) as grid:
        prepare(grid)
        grid.run_program(VECTOR_SHIFT)
        grid.apply(230.0, 50.0)  # every function back to FIX and both setpoints sent again
        grid.run_program(OV2)  # slew modes stay LIST; no phase list: phase stays FIX


OV2_LIST_TAIL = ("LIST:DWEL 1,0.5", "LIST:VOLT 277.700,230.000", "LIST:VOLT:SLEW MAX,MAX", "LIST:FREQ 50.0000,50.0000",
                 "LIST:FREQ:SLEW MAX,MAX", "LIST:REP 0,0", "INIT")


def test_a_program_after_a_program_starts_where_the_last_one_ended(guard: EnvelopeGuard) -> None:
    ramp = GridProgram((GridStep(1.0, (230.0, 230.0), (50.0, 50.5)),))
    tail = settings("ABOR", "VOLT:MODE LIST", "FREQ:MODE LIST", "LIST:DWEL 1", "LIST:VOLT 230.000",
                    "LIST:VOLT:SLEW MAX", "LIST:FREQ 50.5000", "LIST:FREQ:SLEW 0.5", "LIST:REP 0", "INIT")
    with ready(guard, OV2_LIST, tail) as grid:
        prepare(grid)
        grid.run_program(OV2)
        grid.run_program(ramp)  # from 230 V 50 Hz, where OV2 left the output: a ramp, not a jump


@pytest.mark.parametrize("program,match", [
    (GridProgram((GridStep(1.0, (230.0, 230.0), (51.0, 51.5)),)), "steps the frequency to 51 and then ramps"),
    (GridProgram(tuple(GridStep.hold(0.1, 230.0, 50.0) for _ in range(33))), "1 to 32 points"),
    (GridProgram((GridStep.hold(0.0005, 230.0, 50.0),)), "dwell"),
    (GridProgram((GridStep(1.0, (230.0, 230.0), (50.0, 50.0), 400.0),)), "phase jump"),
])
def test_what_the_family_cannot_run_is_refused_before_any_io(program: GridProgram, match: str) -> None:
    with ready(None) as grid:
        prepare(grid)
        sent = len(grid.scripted_session.sent)
        with pytest.raises(InstrumentError, match=f"grid.*{match}"):
            grid.run_program(program)
        assert len(grid.scripted_session.sent) == sent


def test_a_program_outside_the_envelope_is_refused_before_any_io(guard: EnvelopeGuard) -> None:
    with ready(guard) as grid:
        prepare(grid)
        with pytest.raises(EnvelopeError):
            grid.run_program(GridProgram((GridStep.hold(1.0, 310.0, 50.0),)))


def test_phase_angles_accumulate_across_programs_within_a_turn(guard: EnvelopeGuard) -> None:
    jump = GridProgram((GridStep.hold(1.0, 230.0, 50.0), GridStep(1.0, (230.0, 230.0), (50.0, 50.0), 300.0)))
    first = settings("ABOR", "VOLT:MODE LIST", "FREQ:MODE LIST", "VOLT:SLEW:MODE LIST", "FREQ:SLEW:MODE LIST",
                     "PHAS:MODE LIST", "LIST:DWEL 1,1", "LIST:VOLT 230.000,230.000", "LIST:VOLT:SLEW MAX,MAX",
                     "LIST:FREQ 50.0000,50.0000", "LIST:FREQ:SLEW MAX,MAX", "LIST:REP 0,0", "LIST:PHAS 0.00,300.00",
                     "INIT")
    second = settings("ABOR", "VOLT:MODE LIST", "FREQ:MODE LIST", "LIST:DWEL 1,1", "LIST:VOLT 230.000,230.000",
                      "LIST:VOLT:SLEW MAX,MAX", "LIST:FREQ 50.0000,50.0000", "LIST:FREQ:SLEW MAX,MAX", "LIST:REP 0,0",
                      "LIST:PHAS 300.00,240.00", "INIT")
    with ready(guard, first, second) as grid:
        prepare(grid)
        grid.run_program(jump)
        grid.run_program(jump)  # 300 + 300 = 600: the same angle as 240


def test_an_error_while_loading_a_list_stops_before_init(guard: EnvelopeGuard) -> None:
    script = settings(*[c for c, _ in OV2_LIST[:12:2]]) + setting("LIST:VOLT 277.700,230.000", '-222,"Data out of range"') \
        + [("SYST:ERR?", OK)]
    with ready(guard, script) as grid:
        prepare(grid)
        with pytest.raises(InstrumentError, match='grid.*LIST:VOLT 277.700,230.000.*-222'):
            grid.run_program(OV2)
    assert "INIT" not in grid.scripted_session.sent


@pytest.mark.parametrize("reply,running", [("IDLE", False), ("BUSY", True), ("WTRIG", True), ("ARM", True)])
def test_program_running_reads_the_transient_state(reply: str, running: bool) -> None:
    with expected_protocol(AmetekCiMx, [("TRIG:STAT?", reply)]) as grid:
        assert grid.program_running() is running


def test_an_unknown_transient_state_is_an_instrument_error() -> None:
    with expected_protocol(AmetekCiMx, [("TRIG:STAT?", "RUNNING")], name="grid") as grid:
        with pytest.raises(InstrumentError, match="grid.*TRIG:STAT\\?.*RUNNING"):
            grid.program_running()


# -- measurements, faults, safe state ---------------------------------------------------------------------


def test_read_queries_the_four_measurements() -> None:
    script = [("MEAS:VOLT:AC?", "230.01"), ("MEAS:FREQ?", "50.0001"), ("MEAS:CURR:AC?", "26.087"),
              ("MEAS:POW:AC?", "-6000.2")]
    with expected_protocol(AmetekCiMx, script) as grid:
        assert grid.read() == GridReading(230.01, 50.0001, 26.087, -6000.2)


def test_current_and_power_are_one_query_each() -> None:
    with expected_protocol(AmetekCiMx, [("MEAS:CURR:AC?", "1.5"), ("MEAS:POW:AC?", "345.0")]) as grid:
        assert grid.current_a() == 1.5 and grid.power_w() == 345.0


@pytest.mark.parametrize("reply", ["", "OVERRANGE", "1.2.3"])
def test_a_measurement_that_is_not_a_number_is_an_instrument_error(reply: str) -> None:
    with expected_protocol(AmetekCiMx, [("MEAS:CURR:AC?", reply)], name="grid") as grid:
        with pytest.raises(InstrumentError, match="grid.*MEAS:CURR:AC\\?.*expected a number"):
            grid.current_a()


def test_a_measured_current_above_the_envelope_is_a_breach(guard: EnvelopeGuard) -> None:
    with expected_protocol(AmetekCiMx, [("MEAS:CURR:AC?", "41.0")], envelope=guard) as grid:
        with pytest.raises(EnvelopeBreach):
            grid.current_a()


def test_faults_are_empty_when_nothing_tripped(guard: EnvelopeGuard) -> None:
    script = [("STAT:QUES:EVEN?", "0"), ("SYST:ERR?", OK), ("MEAS:CURR:AC?", "26.0"), ("MEAS:POW:AC?", "-6000.0")]
    with expected_protocol(AmetekCiMx, script, envelope=guard) as grid:
        assert grid.faults() == []


def test_faults_report_a_latched_trip_a_queued_error_and_what_is_outside_the_envelope(guard: EnvelopeGuard) -> None:
    script = [("STAT:QUES:EVEN?", "4098"), ("SYST:ERR?", '-200,"Execution error"'), ("SYST:ERR?", OK),
              ("MEAS:CURR:AC?", "45.0"), ("MEAS:POW:AC?", "-6000.0")]
    with expected_protocol(AmetekCiMx, script, envelope=guard) as grid:
        found = grid.faults()
    assert found[0].startswith("CF (over-current protection tripped)") and len(found) == 3  # CL (4096) is a state
    assert "-200" in found[1] and "ac_current_a" in found[2]


def test_a_status_register_that_is_not_a_number_is_an_instrument_error() -> None:
    with expected_protocol(AmetekCiMx, [("STAT:QUES:EVEN?", "CF")], name="grid") as grid:
        with pytest.raises(InstrumentError, match="grid.*STAT:QUES:EVEN\\?"):
            grid.faults()


def test_safe_off_stops_the_transient_opens_the_output_returns_to_fixed_and_clears_a_trip() -> None:
    script = settings("ABOR", "OUTP OFF", "VOLT:MODE FIX", "FREQ:MODE FIX", "PHAS:MODE FIX", "OUTP:PROT:CLE")
    with expected_protocol(AmetekCiMx, script) as grid:
        grid.safe_off()


def bench_check_script(trigger_source: str = "BOT") -> list[tuple[str, str | None]]:
    """What bench_checks sends and the unit answers; ``trigger_source``: what it reads back once set to BOT."""
    def asked(command: str, reply: str) -> list[tuple[str, str | None]]:
        return [(command, reply), ("SYST:ERR?", OK)]
    return (settings("OUTP:TTLT:SOUR BOT") + asked("OUTP:TTLT:SOUR?", trigger_source) + asked("LIST:PHAS:POIN?", "1")
            + settings("PHAS:MODE FIX") + asked("PHAS:MODE?", "FIX")
            + asked("VOLT:SLEW?", "1000") + asked("MEAS:VOLT:AC?", "0.0") + asked("MEAS:FREQ?", "50.0")
            + asked("MEAS:CURR:AC?", "0.0") + asked("MEAS:POW:AC?", "0.0") + asked("TRIG:STAT?", "IDLE"))


def test_bench_checks_ask_the_unconfirmed_forms_with_nothing_energised(guard: EnvelopeGuard) -> None:
    with expected_protocol(AmetekCiMx, bench_check_script(), envelope=guard) as grid:
        checks = grid.bench_checks()
    outcomes = [c.outcome for c in checks]
    assert outcomes.count(BenchCheck.problem("", "").outcome) == 0
    assert outcomes.count(BenchCheck.needs_energising("", "").outcome) == 2


def test_a_unit_whose_trigger_output_will_not_take_the_transients_beginning_fails_its_bench_check(
        guard: EnvelopeGuard) -> None:
    """Set as set-up sets it, the source still reads back EOT: the digitizer would start at the list's end."""
    with expected_protocol(AmetekCiMx, bench_check_script("EOT"), envelope=guard) as grid:
        checks = grid.bench_checks()
    assert [c.what for c in checks if c.outcome == "problem"] == [
        "the trigger output pulses at the transient's beginning (OUTP:TTLT:SOUR, Sequoia manual)"]

