"""Chroma 61800 driver against protocol scripts: exact wire traffic, refusals before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from protocol import OK, expected_protocol, setting, settings

from drivers.grid.chroma_61800 import Chroma61800
from rig.config.bench_file import Envelope, load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeBreach, EnvelopeError, InstrumentError
from rig.core.identity import Idn
from rig.core.roles import GridProgram, GridReading, GridSimulator, GridStep
from rig.sim.instruments.chroma_61800_dialect import Chroma61800 as SimulatedChroma

SIM_BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim.yaml"

# What set-up sends on the simulated bench (envelope: 40 A, 1000 V/s, 50 Hz/s), single-phase use.
OLD_SETUP = ("*CLS", "TRIG OFF", "OUTP:STAT OFF", "OUTP:MODE FIXED", "INST:PHAS SINGLE", "VOLT:RANG HIGH",
             "SOUR:CURR:LIM 40.00", "OUTP:SLEW:VOLT:AC 1", "OUTP:SLEW:FREQ 0.05", "OUTP:REL ON")
"""What set-up sent before it set the stored settings (``tests/sim/test_sim_chroma_stored_state.py`` replays it)."""


def stored(command: str, value: str) -> list[tuple[str, str | None]]:
    """A stored setting as set-up sends it: set, then read back."""
    return setting(f"{command} {value}") + [(f"{command}?", value)]


STORED = (stored("SOUR:CURR:DEL", "0.0") + stored("SOUR:FUNC:SHAP:A", "SINE") + stored("SOUR:FUNC:SHAP", "A")
          + stored("SOUR:VOLT:LEV:IMM:AMPL:DC", "0.0") + stored("SOUR:VOLT:LIM:AC", "300.00"))
"""The stored settings set-up sends after the current limit, as the bench and the default options set them."""
SETUP = (settings(*OLD_SETUP[:7]) + STORED
         + settings("OUTP:SLEW:VOLT:AC 1", "OUTP:SLEW:FREQ 0.05", "OUTP:REL ON"))
LIST_SETTINGS = ("LIST:COUP ALL", "LIST:BASE TIME", "LIST:TRIG AUTO", "LIST:COUN 1")


@pytest.fixture(scope="module")
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(SIM_BENCH))


def stepped_guard(**extra) -> EnvelopeGuard:
    """An envelope with step limits and no slew limits: fixed-mode changes are steps."""
    return EnvelopeGuard(Envelope.model_validate({"ac_voltage_v": {"min": 0.0, "max": 300.0},
                                                  "ac_frequency_hz": {"min": 45.0, "max": 65.0},
                                                  "ac_voltage_step_v": {"max": 10.0},
                                                  "ac_frequency_step_hz": {"max": 1.0}, **extra}), "step-bench.yaml")


# -- identity, session, role ---------------------------------------------------------------------


def test_session_is_opened_as_a_newline_terminated_socket() -> None:
    with expected_protocol(Chroma61800, [], resource="TCPIP0::192.0.2.10::5025::SOCKET") as grid:
        pass
    ((resource, kwargs),) = grid.scripted_manager.opened
    assert resource == "TCPIP0::192.0.2.10::5025::SOCKET"
    assert kwargs["read_termination"] == "\n" and kwargs["write_termination"] == "\n"


def test_driver_fulfils_the_grid_simulator_role() -> None:
    with expected_protocol(Chroma61800, []) as grid:
        assert isinstance(grid, GridSimulator)


def test_constructing_sends_nothing_and_identify_sends_only_idn() -> None:
    with expected_protocol(Chroma61800, [("*IDN?", "Chroma ATE,61845,618450000066,1.00")]) as grid:
        assert grid.scripted_session.sent == []
        assert grid.identify() == "Chroma ATE,61845,618450000066,1.00"
    assert grid.scripted_session.sent == ["*IDN?"]


@pytest.mark.parametrize("reply", ["Chroma ATE,61845,618450000066,1.00", "CHROMA,61812,123,2.0",
                                   "Chroma ATE,61830,1,1", SimulatedChroma.idn])
def test_family_admits_61800_series_answers(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and Chroma61800.family.admits(idn)


@pytest.mark.parametrize("reply", ["Chroma ATE,61605,1,1", "Chroma ATE,62012P-80-60,1,1",
                                   "KEYSIGHT TECHNOLOGIES,MSOX3104T,MY1,07.50", "Pacific Power,AFX,1,1"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not Chroma61800.family.admits(idn)


# -- set-up ------------------------------------------------------------------------------------------


def test_setup_brings_the_source_to_the_rigs_state_from_the_bench_envelope(guard: EnvelopeGuard) -> None:
    with expected_protocol(Chroma61800, SETUP, envelope=guard) as grid:
        grid.setup()


def test_setup_three_phase_couples_every_phase_and_selects_the_measured_one() -> None:
    script = settings("*CLS", "TRIG OFF", "OUTP:STAT OFF", "OUTP:MODE FIXED", "INST:PHAS THREE", "INST:COUP ALL",
                      "INST:NSEL 2", "VOLT:RANG HIGH", "SOUR:CURR:LIM 50.00") + STORED + settings("OUTP:REL ON")
    options = {"phase_mode": "three", "measure_phase": 2, "max_current_a": 50.0}
    with expected_protocol(Chroma61800, script, options=options) as grid:
        grid.setup()  # no envelope: the instrument's own maximum, slew rates untouched


def test_setup_refuses_a_current_limit_above_the_instruments_maximum_before_any_io(guard: EnvelopeGuard) -> None:
    with expected_protocol(Chroma61800, [], envelope=guard, options={"max_current_a": 30.0}) as grid:
        with pytest.raises(InstrumentError, match="40.0 A is outside the instrument's 0..30.0 A"):
            grid.setup()
    assert grid.scripted_session.sent == []


def test_setup_sets_the_stored_trip_delay_from_the_bench_option_and_reads_it_back(guard: EnvelopeGuard) -> None:
    script = settings(*OLD_SETUP[:7]) + stored("SOUR:CURR:DEL", "1.5") + STORED[3:] + settings(*OLD_SETUP[7:])
    with expected_protocol(Chroma61800, script, envelope=guard, options={"ocp_delay_s": 1.5}) as grid:
        grid.setup()


def test_setup_fails_when_the_unit_keeps_another_trip_delay(guard: EnvelopeGuard) -> None:
    """A unit that rounds or ignores the delay must not leave the protection slower than the bench asked."""
    script = settings(*OLD_SETUP[:7], "SOUR:CURR:DEL 0.0") + [("SOUR:CURR:DEL?", "2.0")]
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        with pytest.raises(InstrumentError, match="kept 2.0, not the 0.0 sent"):
            grid.setup()


@pytest.mark.parametrize(("command", "kept"), [("SOUR:FUNC:SHAP:A", "SQUA"), ("SOUR:FUNC:SHAP", "B"),
                                               ("SOUR:VOLT:LEV:IMM:AMPL:DC", "5.00"), ("SOUR:VOLT:LIM:AC", "250.00")])
def test_setup_fails_when_the_unit_keeps_another_waveform_or_dc_offset(guard: EnvelopeGuard, command: str,
                                                                        kept: str) -> None:
    """A stored non-sine shape, the other buffer or a DC offset must not reach the charger."""
    before = STORED[:[c for c, _ in STORED].index(f"{command}?") - 2]
    sent = {"SOUR:FUNC:SHAP:A": "SINE", "SOUR:FUNC:SHAP": "A", "SOUR:VOLT:LEV:IMM:AMPL:DC": "0.0",
            "SOUR:VOLT:LIM:AC": "300.00"}[command]
    script = settings(*OLD_SETUP[:7]) + before + setting(f"{command} {sent}") + [(f"{command}?", kept)]
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        with pytest.raises(InstrumentError, match=f"kept {kept}, not the {sent} sent"):
            grid.setup()


@pytest.mark.parametrize(("envelope_max", "voltage_range", "cap"), [(253.25, "HIGH", "253.25"), (None, "HIGH", "300.00"),
                                                                    (300.0, "LOW", "150.00")])
def test_setup_caps_the_output_voltage_at_the_envelope_within_the_range(envelope_max: float | None,
                                                                         voltage_range: str, cap: str) -> None:
    guard = None if envelope_max is None else EnvelopeGuard(Envelope.model_validate(
        {"ac_voltage_v": {"min": 0.0, "max": envelope_max}, "ac_frequency_hz": {"min": 45.0, "max": 65.0}}), "cap.yaml")
    script = (settings(*OLD_SETUP[:5], f"VOLT:RANG {voltage_range}", "SOUR:CURR:LIM 150.00") + STORED[:-3]
              + stored("SOUR:VOLT:LIM:AC", cap) + settings("OUTP:REL ON"))
    with expected_protocol(Chroma61800, script, envelope=guard, options={"voltage_range": voltage_range}) as grid:
        grid.setup()


@pytest.mark.parametrize("options", [{"phase_mode": "split"}, {"measure_phase": 4}, {"voltage_range": "MID"},
                                     {"ocp_delay_s": 0.3}, {"ocp_delay_s": 5.5}, {"ocp_delay_s": -0.5}])
def test_unusable_options_are_refused_before_any_io(options: dict) -> None:
    with pytest.raises(InstrumentError, match="unusable options"):
        with expected_protocol(Chroma61800, [], options=options):
            pass


# -- fixed mode ---------------------------------------------------------------------------------------


def test_apply_before_setup_returns_to_fixed_mode_then_sends_frequency_and_voltage() -> None:
    script = settings("TRIG OFF", "OUTP:MODE FIXED", "SOUR:FREQ 50.000", "SOUR:VOLT:LEV:IMM:AMPL:AC 230.00")
    with expected_protocol(Chroma61800, script) as grid:
        grid.apply(230, 50)


def test_apply_after_setup_sends_only_the_setpoints_that_change(guard: EnvelopeGuard) -> None:
    script = SETUP + settings("SOUR:FREQ 50.000", "SOUR:VOLT:LEV:IMM:AMPL:AC 230.00", "SOUR:VOLT:LEV:IMM:AMPL:AC 240.00",
                              "SOUR:FREQ 51.000")
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.setup()
        grid.apply(230.0, 50.0)
        grid.apply(230.0, 50.0)  # nothing changes: nothing is sent
        grid.apply(240.0, 50.0)
        grid.apply(240.0, 51.0)


def test_a_setting_and_its_error_query_are_separate_program_messages() -> None:
    script = [*setting("OUTP:REL ON", '+0,"No error"'), *setting("OUTP:STAT ON")]
    with expected_protocol(Chroma61800, script) as grid:
        grid.output(True)
    # not "OUTP:REL ON;:SYST:ERR?": a coupled command would run after that query
    assert grid.scripted_session.sent == ["OUTP:REL ON", "SYST:ERR?", "OUTP:STAT ON", "SYST:ERR?"]


def test_settings_read_back_as_numbers() -> None:
    script = [("SOUR:VOLT:LEV:IMM:AMPL:AC?", "230.00"), ("SOUR:FREQ?", "50.000"), ("SOUR:CURR:LIM?", "32.00")]
    with expected_protocol(Chroma61800, script) as grid:
        assert grid.voltage == 230.0
        assert grid.frequency == 50.0
        assert grid.current_limit == 32.0


def test_output_on_closes_the_relay_first_when_it_is_open_and_safe_off_opens_it() -> None:
    script = settings("OUTP:REL ON", "OUTP:STAT ON",
                      "TRIG OFF", "OUTP:STAT OFF", "OUTP:REL OFF", "OUTP:MODE FIXED", "OUTP:PROT:CLE",
                      "OUTP:REL ON", "OUTP:STAT ON")
    with expected_protocol(Chroma61800, script) as grid:
        grid.output(True)
        grid.safe_off()
        grid.output(True)  # after the safe state the relay is open again


def test_output_after_setup_does_not_touch_the_closed_relay(guard: EnvelopeGuard) -> None:
    with expected_protocol(Chroma61800, SETUP + settings("OUTP:STAT ON", "OUTP:STAT OFF"), envelope=guard) as grid:
        grid.setup()
        grid.output(True)
        grid.output(False)


def test_a_fixed_change_with_the_source_slewing_at_the_envelope_limit_is_a_ramp(guard: EnvelopeGuard) -> None:
    # 230 -> 280 V is a 50 V change; set-up set the source's slew to 1000 V/s, so it ramps within the envelope.
    script = SETUP + settings("SOUR:FREQ 50.000", "SOUR:VOLT:LEV:IMM:AMPL:AC 230.00", "OUTP:STAT ON",
                              "SOUR:VOLT:LEV:IMM:AMPL:AC 280.00")
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.setup()
        grid.apply(230.0, 50.0)
        grid.output(True)
        grid.apply(280.0, 50.0)


def test_a_fixed_step_beyond_the_envelope_step_limit_is_refused_before_any_io() -> None:
    setup = settings("*CLS", "TRIG OFF", "OUTP:STAT OFF", "OUTP:MODE FIXED", "INST:PHAS SINGLE", "VOLT:RANG HIGH",
                     "SOUR:CURR:LIM 150.00") + STORED + settings("OUTP:REL ON")
    script = setup + settings("SOUR:FREQ 50.000", "SOUR:VOLT:LEV:IMM:AMPL:AC 230.00", "OUTP:STAT ON",
                              "SOUR:VOLT:LEV:IMM:AMPL:AC 238.00")
    with expected_protocol(Chroma61800, script, envelope=stepped_guard()) as grid:
        grid.setup()  # no slew limits in this envelope: the source steps
        grid.apply(230.0, 50.0)  # the output is off: nothing at the terminals jumps
        grid.output(True)
        grid.apply(238.0, 50.0)  # an 8 V step, within 10 V
        sent = len(grid.scripted_session.sent)
        with pytest.raises(EnvelopeError, match="ac_voltage_step_v"):
            grid.apply(250.0, 50.0)  # a 12 V step
        with pytest.raises(EnvelopeError, match="ac_frequency_step_hz"):
            grid.apply(238.0, 51.5)
        assert len(grid.scripted_session.sent) == sent


def test_an_instrument_error_raises_naming_the_command_and_the_error() -> None:
    script = [
        *settings("TRIG OFF", "OUTP:MODE FIXED"),
        *setting("SOUR:FREQ 50.000", '-222,"Data out of range"'),
        ("SYST:ERR?", '-221,"Settings conflict"'),
        ("SYST:ERR?", OK),
    ]
    with expected_protocol(Chroma61800, script, name="grid") as grid:
        with pytest.raises(InstrumentError) as caught:
            grid.apply(230.0, 50.0)
    err = caught.value
    assert err.instrument == "grid"
    assert err.command == "SOUR:FREQ 50.000"
    assert "-222" in err.detail and "Data out of range" in err.detail and "-221" in err.detail
    assert "SOUR:FREQ 50.000" in str(err)


@pytest.mark.parametrize(("voltage", "frequency"), [(300.5, 50.0), (-1.0, 50.0), (230.0, 14.0), (230.0, 1600.0)])
def test_a_value_outside_the_instrument_range_raises_before_any_io(voltage: float, frequency: float) -> None:
    with expected_protocol(Chroma61800, []) as grid:
        with pytest.raises(InstrumentError, match="outside the instrument range"):
            grid.apply(voltage, frequency)
    assert grid.scripted_session.sent == []


def test_the_low_voltage_range_option_narrows_the_instrument_range() -> None:
    with expected_protocol(Chroma61800, [], options={"voltage_range": "LOW"}) as grid:
        with pytest.raises(InstrumentError, match="outside the instrument range 0.0..150.0 V"):
            grid.apply(230.0, 50.0)


def test_a_setting_outside_the_instrument_range_raises_before_any_io() -> None:
    with expected_protocol(Chroma61800, []) as grid:
        with pytest.raises(InstrumentError) as caught:
            grid.voltage = 301.0
    assert caught.value.command == "voltage"
    assert grid.scripted_session.sent == []


def test_apply_outside_the_envelope_is_refused_before_any_io(guard: EnvelopeGuard) -> None:
    # 70 Hz is within the instrument's range but outside the sim bench's 45..65 Hz.
    with expected_protocol(Chroma61800, [], envelope=guard) as grid:
        with pytest.raises(EnvelopeError, match="ac_frequency_hz"):
            grid.apply(230.0, 70.0)
    assert grid.scripted_session.sent == []


def test_a_setting_outside_the_envelope_is_refused_before_any_io(guard: EnvelopeGuard) -> None:
    with expected_protocol(Chroma61800, [], envelope=guard) as grid:
        with pytest.raises(EnvelopeError, match="ac_current_a"):
            grid.current_limit = 41.0
    assert grid.scripted_session.sent == []


# -- list mode ------------------------------------------------------------------------------------------

PROGRAM = GridProgram((
    GridStep.hold(0.5, 230.0, 50.0),
    GridStep(1.5, (280.0, 280.0), (50.0, 50.0)),
    GridStep(2.0, (230.0, 230.0), (50.0, 51.5)),
))
PROGRAM_ARRAYS = ("LIST:DWEL 500.0000,1500.0000,2000.0000", "LIST:VOLT:AC:STAR 230.0000,280.0000,230.0000",
                  "LIST:VOLT:AC:END 230.0000,280.0000,230.0000", "LIST:FREQ:STAR 50.0000,50.0000,50.0000",
                  "LIST:FREQ:END 50.0000,50.0000,51.5000")


def test_run_program_stops_the_list_edits_it_in_fixed_mode_then_lists_and_triggers(guard: EnvelopeGuard) -> None:
    script = SETUP + settings("SOUR:FREQ 50.000", "SOUR:VOLT:LEV:IMM:AMPL:AC 230.00", "OUTP:STAT ON",
                              "TRIG OFF", "OUTP:MODE FIXED", *LIST_SETTINGS, *PROGRAM_ARRAYS, "OUTP:MODE LIST", "TRIG ON")
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.setup()
        grid.apply(230.0, 50.0)
        grid.output(True)
        grid.run_program(PROGRAM)


def test_the_lists_fixed_settings_go_once_and_apply_after_a_program_returns_to_fixed_mode(guard: EnvelopeGuard) -> None:
    program = GridProgram((GridStep.hold(1.0, 230.0, 50.0),))
    arrays = ("LIST:DWEL 1000.0000", "LIST:VOLT:AC:STAR 230.0000", "LIST:VOLT:AC:END 230.0000",
              "LIST:FREQ:STAR 50.0000", "LIST:FREQ:END 50.0000")
    run = ("TRIG OFF", "OUTP:MODE FIXED")
    script = SETUP + settings(*run, *LIST_SETTINGS, *arrays, "OUTP:MODE LIST", "TRIG ON",
                              *run, *arrays, "OUTP:MODE LIST", "TRIG ON",
                              *run, "SOUR:FREQ 50.000", "SOUR:VOLT:LEV:IMM:AMPL:AC 230.00")
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.setup()
        grid.run_program(program)
        grid.run_program(program)
        grid.apply(230.0, 50.0)  # leaving LIST mode: both setpoints are sent again


@pytest.mark.parametrize(("reply", "running"), [("RUNNING", True), ("OFF", False)])
def test_program_running_reads_the_list_state(reply: str, running: bool) -> None:
    with expected_protocol(Chroma61800, [("TRIG:STATE?", reply)]) as grid:
        assert grid.program_running() is running


def test_an_instrument_error_in_a_program_stops_before_the_trigger() -> None:
    program = GridProgram((GridStep.hold(1.0, 230.0, 50.0),))
    script = [
        *settings("TRIG OFF", "OUTP:MODE FIXED"),
        *setting("LIST:COUP ALL", '-113,"Undefined header"'),
        ("SYST:ERR?", OK),
    ]
    with expected_protocol(Chroma61800, script) as grid:
        with pytest.raises(InstrumentError, match="LIST:COUP ALL"):
            grid.run_program(program)


@pytest.mark.parametrize(
    ("step", "quantity"),
    [
        (GridStep(1.0, (230.0, 310.0), (50.0, 50.0)), "ac_voltage_v"),  # a point above 300 V
        (GridStep(1.0, (230.0, 230.0), (50.0, 44.0)), "ac_frequency_hz"),  # a point below 45 Hz
        (GridStep(0.01, (230.0, 280.0), (50.0, 50.0)), "ac_voltage_slew_v_per_s"),  # 5000 V/s
        (GridStep(0.01, (230.0, 230.0), (50.0, 51.0)), "ac_frequency_slew_hz_per_s"),  # 100 Hz/s
        (GridStep(1.0, (295.0, 295.0), (50.0, 50.0)), "ac_voltage_step_v"),  # a 65 V step from 230 V
        (GridStep(1.0, (230.0, 230.0), (55.5, 55.5)), "ac_frequency_step_hz"),  # a 5.5 Hz step
    ],
)
def test_a_program_outside_the_envelope_is_refused_before_any_io(guard: EnvelopeGuard, step: GridStep,
                                                                  quantity: str) -> None:
    program = GridProgram((GridStep.hold(0.5, 230.0, 50.0), step))
    with expected_protocol(Chroma61800, [], envelope=guard) as grid:
        with pytest.raises(EnvelopeError, match=quantity):
            grid.run_program(program)
    assert grid.scripted_session.sent == []


def test_the_first_step_of_a_program_is_a_step_from_the_present_fixed_setpoint(guard: EnvelopeGuard) -> None:
    script = SETUP + settings("SOUR:FREQ 50.000", "SOUR:VOLT:LEV:IMM:AMPL:AC 230.00")
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.setup()
        grid.apply(230.0, 50.0)
        sent = len(grid.scripted_session.sent)
        with pytest.raises(EnvelopeError, match="step 1 start.*ac_voltage_step_v"):
            grid.run_program(GridProgram((GridStep.hold(1.0, 291.0, 50.0),)))  # 61 V from 230 V
        with pytest.raises(EnvelopeError, match="step 2 start.*ac_voltage_step_v"):
            grid.run_program(GridProgram((GridStep.hold(1.0, 270.0, 50.0), GridStep.hold(1.0, 200.0, 50.0))))
        assert len(grid.scripted_session.sent) == sent


def test_a_program_inside_the_envelope_is_sent(guard: EnvelopeGuard) -> None:
    program = GridProgram((GridStep(1.0, (230.0, 230.0), (50.0, 51.0)),))  # 1 Hz/s
    script = settings("TRIG OFF", "OUTP:MODE FIXED", *LIST_SETTINGS, "LIST:DWEL 1000.0000", "LIST:VOLT:AC:STAR 230.0000",
                      "LIST:VOLT:AC:END 230.0000", "LIST:FREQ:STAR 50.0000", "LIST:FREQ:END 51.0000",
                      "OUTP:MODE LIST", "TRIG ON")
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.run_program(program)


# -- measurements and faults --------------------------------------------------------------------------------


def test_read_queries_the_four_measurements() -> None:
    script = [("MEAS:VOLT:ACDC?", "230.01"), ("MEAS:FREQ?", "49.9990"), ("MEAS:CURR:AC?", "26.087"),
              ("MEAS:POW:AC?", "-6000.0")]
    with expected_protocol(Chroma61800, script) as grid:
        assert grid.read() == GridReading(voltage_v=230.01, frequency_hz=49.999, current_a=26.087, power_w=-6000.0)


def test_a_measured_current_outside_the_envelope_is_a_breach(guard: EnvelopeGuard) -> None:
    with expected_protocol(Chroma61800, [("MEAS:CURR:AC?", "41.500")], envelope=guard) as grid:
        with pytest.raises(EnvelopeBreach, match="41.5 A exceeds the bench envelope ac_current_a max 40.0"):
            grid.current_a()


def test_a_measured_power_outside_the_envelope_is_a_breach(guard: EnvelopeGuard) -> None:
    script = [("MEAS:VOLT:ACDC?", "230.01"), ("MEAS:FREQ?", "50.0000"), ("MEAS:CURR:AC?", "36.000"),
              ("MEAS:POW:AC?", "-8280.0")]
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        with pytest.raises(EnvelopeBreach, match="ac_power_w max 8000.0"):
            grid.read()  # an export beyond 8 kW counts by its magnitude


def test_faults_are_empty_when_nothing_tripped_and_all_is_inside_the_envelope(guard: EnvelopeGuard) -> None:
    script = [("STAT:QUES:COND?", "0"), ("SYST:ERR?", OK), ("MEAS:CURR:AC?", "26.087"), ("MEAS:POW:AC?", "-6000.0")]
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        assert grid.faults() == []


def test_faults_report_a_latched_protection_and_what_is_outside_the_envelope(guard: EnvelopeGuard) -> None:
    script = [("STAT:QUES:COND?", "+68"), ("SYST:ERR?", '-300,"Device-specific error;protection tripped"'),
              ("SYST:ERR?", OK), ("MEAS:CURR:AC?", "45.000"), ("MEAS:POW:AC?", "9000.0")]
    with expected_protocol(Chroma61800, script, envelope=guard, name="grid") as grid:
        found = grid.faults()
    assert len(found) == 5
    assert found[0].startswith("OCP (over-current protection)")
    assert found[1].startswith("OPP (over-power protection)")
    assert "-300" in found[2] and "protection tripped" in found[2]
    assert "ac_current_a" in found[3] and "ac_power_w" in found[4]


def test_close_closes_the_session() -> None:
    with expected_protocol(Chroma61800, []) as grid:
        grid.close()
    assert grid.scripted_session.closed


def test_a_phase_jump_list_goes_only_with_a_program_that_has_one_then_with_every_list(guard: EnvelopeGuard) -> None:
    """The list-mode phase step is an unconfirmed command: a bench without vector-shift cases never sees it; once
    sent, the instrument keeps it, so every later list sends its own (zeros) or the old jumps would run again."""
    plain = GridProgram((GridStep.hold(1.0, 230.0, 49.5),))
    jump = GridProgram((GridStep.hold(1.0, 230.0, 49.5), GridStep(1.0, (230.0, 230.0), (49.5, 49.5), 50.0)))
    plain_arrays = ("LIST:DWEL 1000.0000", "LIST:VOLT:AC:STAR 230.0000", "LIST:VOLT:AC:END 230.0000",
                    "LIST:FREQ:STAR 49.5000", "LIST:FREQ:END 49.5000")
    jump_arrays = ("LIST:DWEL 1000.0000,1000.0000", "LIST:VOLT:AC:STAR 230.0000,230.0000",
                   "LIST:VOLT:AC:END 230.0000,230.0000", "LIST:FREQ:STAR 49.5000,49.5000",
                   "LIST:FREQ:END 49.5000,49.5000", "LIST:PHAS:SHIF 0.0000,50.0000")
    run = ("TRIG OFF", "OUTP:MODE FIXED")
    script = SETUP + settings("SOUR:FREQ 49.500", *run, *LIST_SETTINGS, *plain_arrays, "OUTP:MODE LIST", "TRIG ON",
                              *run, *jump_arrays, "OUTP:MODE LIST", "TRIG ON",
                              *run, *plain_arrays, "LIST:PHAS:SHIF 0.0000", "OUTP:MODE LIST", "TRIG ON")
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.setup()
        grid.frequency = 49.5
        grid.run_program(plain)
        grid.run_program(jump)
        grid.run_program(plain)


def test_a_phase_jump_beyond_a_turn_is_refused_before_any_io() -> None:
    program = GridProgram((GridStep(1.0, (230.0, 230.0), (50.0, 50.0), 400.0),))
    with expected_protocol(Chroma61800, []) as grid:
        with pytest.raises(InstrumentError, match="phase jump"):
            grid.run_program(program)
