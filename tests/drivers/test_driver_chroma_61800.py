"""Chroma 61800 driver against protocol scripts: exact wire traffic, refusals before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from protocol import OK, expected_protocol, setting

from drivers.grid.chroma_61800 import Chroma61800
from rig.bench import load_bench
from rig.envelope import EnvelopeGuard
from rig.errors import EnvelopeError, InstrumentError
from rig.roles import GridProgram, GridReading, GridSimulator, GridStep

SIM_BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim.yaml"
@pytest.fixture(scope="module")
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(SIM_BENCH))


def test_session_is_opened_as_a_newline_terminated_socket() -> None:
    with expected_protocol(Chroma61800, [], resource="TCPIP0::192.0.2.10::5025::SOCKET") as grid:
        pass
    ((resource, kwargs),) = grid.scripted_manager.opened
    assert resource == "TCPIP0::192.0.2.10::5025::SOCKET"
    assert kwargs["read_termination"] == "\n" and kwargs["write_termination"] == "\n"


def test_driver_fulfils_the_grid_simulator_role() -> None:
    with expected_protocol(Chroma61800, []) as grid:
        assert isinstance(grid, GridSimulator)


def test_apply_sends_mode_frequency_then_voltage_each_with_its_error_query() -> None:
    script = [
        setting("OUTP:MODE FIXED"),
        setting("SOUR:FREQ 50.000"),
        setting("SOUR:VOLT:LEV:IMM:AMPL:AC 230.00"),
    ]
    with expected_protocol(Chroma61800, script) as grid:
        grid.apply(230, 50)


def test_a_plus_zero_error_reply_is_an_empty_queue() -> None:
    with expected_protocol(Chroma61800, [setting("OUTP:STAT ON", '+0,"No error"')]) as grid:
        grid.output(True)


def test_settings_read_back_as_numbers() -> None:
    script = [("SOUR:VOLT:LEV:IMM:AMPL:AC?", "230.00"), ("SOUR:FREQ?", "50.000"), ("SOUR:CURR:LIM?", "32.00")]
    with expected_protocol(Chroma61800, script) as grid:
        assert grid.voltage == 230.0
        assert grid.frequency == 50.0
        assert grid.current_limit == 32.0


def test_output_and_safe_off() -> None:
    script = [
        setting("OUTP:STAT ON"),
        setting("TRIG OFF"),
        setting("OUTP:STAT OFF"),
        setting("OUTP:MODE FIXED"),
    ]
    with expected_protocol(Chroma61800, script) as grid:
        grid.output(True)
        grid.safe_off()


def test_run_program_loads_every_list_array_in_order_then_triggers() -> None:
    program = GridProgram((
        GridStep.hold(0.5, 230.0, 50.0),
        GridStep(1.5, (280.0, 280.0), (50.0, 50.0)),
        GridStep(2.0, (230.0, 230.0), (50.0, 51.5)),
    ))
    script = [
        setting("OUTP:MODE LIST"),
        setting("LIST:COUP ALL"),
        setting("LIST:BASE TIME"),
        setting("LIST:COUN 1"),
        setting("LIST:DWEL 500.0000,1500.0000,2000.0000"),
        setting("LIST:VOLT:AC:STAR 230.0000,280.0000,230.0000"),
        setting("LIST:VOLT:AC:END 230.0000,280.0000,230.0000"),
        setting("LIST:FREQ:STAR 50.0000,50.0000,50.0000"),
        setting("LIST:FREQ:END 50.0000,50.0000,51.5000"),
        setting("TRIG ON"),
    ]
    with expected_protocol(Chroma61800, script) as grid:
        grid.run_program(program)


def test_read_queries_the_four_measurements() -> None:
    script = [("MEAS:VOLT:AC?", "230.01"), ("MEAS:FREQ?", "49.9990"), ("MEAS:CURR:AC?", "26.087"),
              ("MEAS:POW:AC?", "-6000.0")]
    with expected_protocol(Chroma61800, script) as grid:
        assert grid.read() == GridReading(voltage_v=230.01, frequency_hz=49.999, current_a=26.087, power_w=-6000.0)


def test_an_instrument_error_raises_naming_the_command_and_the_error() -> None:
    script = [
        setting("OUTP:MODE FIXED"),
        setting("SOUR:FREQ 50.000", '-222,"Data out of range"'),
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


def test_an_instrument_error_in_a_program_stops_before_the_trigger() -> None:
    program = GridProgram((GridStep.hold(1.0, 230.0, 50.0),))
    script = [
        setting("OUTP:MODE LIST"),
        setting("LIST:COUP ALL", '-113,"Undefined header"'),
        ("SYST:ERR?", OK),
    ]
    with expected_protocol(Chroma61800, script) as grid:
        with pytest.raises(InstrumentError, match="LIST:COUP ALL"):
            grid.run_program(program)


@pytest.mark.parametrize(("voltage", "frequency"), [(300.5, 50.0), (-1.0, 50.0), (230.0, 14.0), (230.0, 1600.0)])
def test_a_value_outside_the_instrument_range_raises_before_any_io(voltage: float, frequency: float) -> None:
    with expected_protocol(Chroma61800, []) as grid:
        with pytest.raises(InstrumentError, match="outside the instrument range"):
            grid.apply(voltage, frequency)
    assert grid.scripted_session.sent == []


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


@pytest.mark.parametrize(
    ("step", "quantity"),
    [
        (GridStep(1.0, (230.0, 310.0), (50.0, 50.0)), "ac_voltage_v"),  # a point above 300 V
        (GridStep(1.0, (230.0, 230.0), (50.0, 44.0)), "ac_frequency_hz"),  # a point below 45 Hz
        (GridStep(0.01, (230.0, 280.0), (50.0, 50.0)), "ac_voltage_slew_v_per_s"),  # 5000 V/s
        (GridStep(0.01, (230.0, 230.0), (50.0, 51.0)), "ac_frequency_slew_hz_per_s"),  # 100 Hz/s
    ],
)
def test_a_program_outside_the_envelope_is_refused_before_any_io(guard: EnvelopeGuard, step: GridStep,
                                                                  quantity: str) -> None:
    program = GridProgram((GridStep.hold(0.5, 230.0, 50.0), step))
    with expected_protocol(Chroma61800, [], envelope=guard) as grid:
        with pytest.raises(EnvelopeError, match=quantity):
            grid.run_program(program)
    assert grid.scripted_session.sent == []


def test_a_program_inside_the_envelope_is_sent(guard: EnvelopeGuard) -> None:
    program = GridProgram((GridStep(1.0, (230.0, 230.0), (50.0, 51.0)),))  # 1 Hz/s
    script = [
        setting("OUTP:MODE LIST"),
        setting("LIST:COUP ALL"),
        setting("LIST:BASE TIME"),
        setting("LIST:COUN 1"),
        setting("LIST:DWEL 1000.0000"),
        setting("LIST:VOLT:AC:STAR 230.0000"),
        setting("LIST:VOLT:AC:END 230.0000"),
        setting("LIST:FREQ:STAR 50.0000"),
        setting("LIST:FREQ:END 51.0000"),
        setting("TRIG ON"),
    ]
    with expected_protocol(Chroma61800, script, envelope=guard) as grid:
        grid.run_program(program)


def test_close_closes_the_session() -> None:
    with expected_protocol(Chroma61800, []) as grid:
        grid.close()
    assert grid.scripted_session.closed
