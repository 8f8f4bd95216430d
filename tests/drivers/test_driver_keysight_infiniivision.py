"""Keysight InfiniiVision driver against protocol scripts: set-up and its read-back, arming, completion and
scaled fetch (against the simulated scope: tests/sim/test_sim_infiniivision_geometry.py)."""

from __future__ import annotations

import numpy as np
import pytest
from protocol import expected_protocol, setting, settings

from drivers.analyzer.keysight_infiniivision import KeysightInfiniiVision
from rig.core.errors import InstrumentError
from rig.core.identity import Idn
from rig.core.roles import Capture, Digitizer
from rig.sim.instruments.infiniivision_dialect import InfiniiVision

def word_block(codes: list[int] | np.ndarray) -> bytes:
    """An IEEE 488.2 definite-length block of little-endian int16 codes, written out by hand."""
    payload = np.asarray(codes, dtype="<i2").tobytes()
    length = str(len(payload))
    return f"#{len(length)}{length}".encode() + payload


def preamble(points: int, x_inc: float, x_origin: float, y_inc: float, y_origin: float, y_ref: float, *,
             fmt: int = 1, x_ref: int = 0) -> str:
    # format, type, points, count, xincrement, xorigin, xreference, yincrement, yorigin, yreference
    return (f"{fmt:+d},+0,+{points},+1,{x_inc:+.6E},{x_origin:+.6E},{x_ref:+d},{y_inc:+.6E},{y_origin:+.6E},"
            f"{y_ref:+.0f}")


def read_back(*, current_probe: str = "+1.00000E+02", voltage_probe: str = "+1.00000E+02", current_units: str = "AMP",
              current_coupling: str = "DC", acquisition: str = "NORM") -> list[tuple[str, str]]:
    """The front end read back, as the scope answers its queries (NR3 numbers, short-form words)."""
    return [(":CHAN1:PROB?", current_probe), (":CHAN1:UNIT?", current_units), (":CHAN1:COUP?", current_coupling),
            (":CHAN2:PROB?", voltage_probe), (":CHAN2:UNIT?", "VOLT"), (":CHAN2:COUP?", "DC"),
            (":ACQ:TYPE?", acquisition)]


def setup_script(*, current: tuple[str, str] = ("100", "100"), voltage: tuple[str, str] = ("100", "800"),
                 trigger: tuple[str, str] = ("1.5", "POS")) -> list:
    """What ``setup`` sends: each channel's probe (before its range), units and coupling, the acquisition type,
    the centre reference, the trigger and the readout; then the front end read back. ``current`` and
    ``voltage`` are (probe ratio, range) as sent."""
    return settings(
        "*CLS", ":CHAN1:DISP ON", f":CHAN1:PROB {current[0]}", ":CHAN1:UNIT AMP", ":CHAN1:COUP DC",
        f":CHAN1:RANG {current[1]}", ":CHAN1:OFFS 0", ":CHAN2:DISP ON", f":CHAN2:PROB {voltage[0]}", ":CHAN2:UNIT VOLT",
        ":CHAN2:COUP DC", f":CHAN2:RANG {voltage[1]}", ":CHAN2:OFFS 0", ":ACQ:TYPE NORM", ":TIM:REF CENT",
        ":TRIG:MODE EDGE", ":TRIG:SWE NORM", ":TRIG:EDGE:SOUR EXT", f":TRIG:EDGE:LEV {trigger[0]}",
        f":TRIG:EDGE:SLOP {trigger[1]}", ":WAV:FORM WORD", ":WAV:BYT LSBF", ":WAV:UNS 0", ":WAV:POIN:MODE RAW")


SETUP = setup_script() + read_back()


def test_driver_fulfils_the_digitizer_role() -> None:
    with expected_protocol(KeysightInfiniiVision, []) as scope:
        assert isinstance(scope, Digitizer)


def test_word_block_helper_matches_the_ieee_layout() -> None:
    assert word_block([1, -2]) == b"#14\x01\x00\xfe\xff"


def test_constructing_sends_nothing_and_identify_sends_only_idn() -> None:
    with expected_protocol(KeysightInfiniiVision, [("*IDN?", InfiniiVision.idn)]) as scope:
        assert scope.scripted_session.sent == []
        scope.identify()
    assert scope.scripted_session.sent == ["*IDN?"]


@pytest.mark.parametrize("reply", [InfiniiVision.idn, "KEYSIGHT TECHNOLOGIES,DSOX2024A,MY5,02.50",
                                   "AGILENT TECHNOLOGIES,DSO-X 2002A,MY5,02.41", "AGILENT TECHNOLOGIES,MSO-X 3054A,MY5,2.3",
                                   "KEYSIGHT TECHNOLOGIES,MSOX4154A,MY5,7.2", "KEYSIGHT TECHNOLOGIES,DSOX3034G,MY5,1"])
def test_family_admits_infiniivision_2000x_3000x_3000t_4000x(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and KeysightInfiniiVision.family.admits(idn)


@pytest.mark.parametrize("reply", ["KEYSIGHT TECHNOLOGIES,DSOX1102G,CN5,1.1", "KEYSIGHT TECHNOLOGIES,34465A,MY5,A.02",
                                   "RIGOL TECHNOLOGIES,DS1054Z,DS1Z,00.04", "Chroma ATE,61845,1,1"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not KeysightInfiniiVision.family.admits(idn)


def test_setup_sets_and_reads_back_the_front_end_an_explicit_external_trigger_and_the_readout() -> None:
    with expected_protocol(KeysightInfiniiVision, SETUP) as scope:
        scope.setup()


def test_setup_takes_probes_ranges_and_the_trigger_edge_from_the_bench_options() -> None:
    script = setup_script(current=("10", "40"), voltage=("500", "1000"), trigger=("2.5", "NEG")) \
        + read_back(current_probe="+1.00000E+01", voltage_probe="+5.00000E+02")
    options = {"current_range_a": 40.0, "voltage_range_v": 1000.0, "current_probe_ratio": 10.0,
               "voltage_probe_ratio": 500, "trigger_level_v": 2.5, "trigger_slope": "neg"}
    with expected_protocol(KeysightInfiniiVision, script, options=options) as scope:
        scope.setup()


@pytest.mark.parametrize(("reply", "header", "why"), [
    ({"current_coupling": "AC"}, ":CHAN1:COUP", "channel 1 \\(current\\) coupling reads back 'AC', set 'DC'"),
    ({"current_units": "VOLT"}, ":CHAN1:UNIT", "channel 1 \\(current\\) units reads back 'VOLT', set 'AMP'"),
    ({"current_probe": "+1.00000E+01"}, ":CHAN1:PROB", "probe attenuation reads back '\\+1.00000E\\+01', set '100'"),
    ({"voltage_probe": "+1.00000E+01"}, ":CHAN2:PROB", "channel 2 \\(voltage\\) probe attenuation"),
    ({"acquisition": "HRES"}, ":ACQ:TYPE", "acquisition type reads back 'HRES', set 'NORM'"),
])
def test_a_front_end_the_scope_does_not_hold_as_set_is_refused_naming_the_setting(reply: dict, header: str,
                                                                                 why: str) -> None:
    with expected_protocol(KeysightInfiniiVision, setup_script() + read_back(**reply)) as scope:
        with pytest.raises(InstrumentError, match=why) as caught:
            scope.setup()
    assert caught.value.command == header
    assert "none is taken" in caught.value.detail


def test_every_setting_the_scope_does_not_hold_is_named() -> None:
    with expected_protocol(KeysightInfiniiVision,
                           setup_script() + read_back(current_coupling="AC", current_units="VOLT")) as scope:
        with pytest.raises(InstrumentError,
                           match="units reads back 'VOLT'.*; channel 1 .current. coupling reads back 'AC'") as caught:
            scope.setup()
    assert caught.value.command == ":CHAN1:UNIT"  # the first one read back


@pytest.mark.parametrize("reply", ["+100", "1.0E2", "+1.000000E+02"])
def test_a_probe_ratio_reads_back_as_a_number_in_any_form(reply: str) -> None:
    with expected_protocol(KeysightInfiniiVision, setup_script() + read_back(current_probe=reply)) as scope:
        scope.setup()


@pytest.mark.parametrize(("option", "value"), [("current_probe_ratio", 0.05), ("voltage_probe_ratio", 20_000.0),
                                               ("current_probe_ratio", "100")])
def test_an_unusable_probe_ratio_is_refused_before_any_io(option: str, value: object) -> None:
    with pytest.raises(InstrumentError, match=option):
        with expected_protocol(KeysightInfiniiVision, [], options={option: value}):
            pass


def test_an_unusable_trigger_slope_is_refused_before_any_io() -> None:
    with pytest.raises(InstrumentError, match="trigger_slope"):
        with expected_protocol(KeysightInfiniiVision, [], options={"trigger_slope": "RISING"}):
            pass


def arm_script(*, span: str | None = None, position: str | None = None, points: int | None = None) -> list:
    """What ``arm`` sends: the front end read back, the timebase and point request that changed, a read of a
    stale arm event, single."""
    changed = ([f":TIM:RANG {span}"] if span else []) + ([f":TIM:POS {position}"] if position else []) + \
        ([f":WAV:POIN {points}"] if points else [])
    return read_back() + settings(*changed) + [(":AER?", "+0"), *setting(":SING")]


def test_arm_sets_timebase_and_requests_enough_points_then_single() -> None:
    # 1.5 s at 10 kS/s needs 15000 points: the smallest valid RAW request that holds them is 20000.
    # The reference is the centre: the first sample is 0.25 - 1.5/2 = -0.5 s from the trigger.
    script = SETUP + arm_script(span="1.5", position="0.25", points=20000)
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        scope.setup()
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)


@pytest.mark.parametrize(("pre_s", "post_s", "position"), [(0.5, 1.0, 0.25), (0.0, 2.0, 1.0), (2.0, 0.0, -1.0),
                                                           (0.1, 1.1, 0.5), (1.0, 1.0, 0.0)])
def test_the_window_puts_the_first_sample_pre_s_before_the_trigger_with_the_reference_at_the_centre(
        pre_s: float, post_s: float, position: float) -> None:
    span, got = KeysightInfiniiVision.window(pre_s, post_s)
    assert (span, got) == (pytest.approx(pre_s + post_s), pytest.approx(position))
    assert got - span / 2.0 == pytest.approx(-pre_s) and got + span / 2.0 == pytest.approx(post_s)


def test_arm_refuses_to_capture_when_the_front_end_changed_since_setup() -> None:
    script = SETUP + read_back(current_coupling="AC")
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        scope.setup()
        with pytest.raises(InstrumentError, match="coupling reads back 'AC'") as caught:
            scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)
    assert caught.value.command == ":CHAN1:COUP"
    assert ":SING" not in scope.scripted_session.sent


def test_arm_sends_only_the_settings_that_changed_since_the_last_arm() -> None:
    script = SETUP + arm_script(span="1.5", position="0.25", points=20000) + arm_script(span="2", position="0.5") \
        + arm_script() + arm_script(span="2.5", position="1", points=50000)
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        scope.setup()
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)
        scope.arm(pre_s=0.5, post_s=1.5, sample_rate_hz=10_000.0)  # still 20000 points: the range and position change
        scope.arm(pre_s=0.5, post_s=1.5, sample_rate_hz=10_000.0)  # nothing changed
        scope.arm(pre_s=0.25, post_s=2.25, sample_rate_hz=10_000.0)


def test_setup_forgets_what_arm_had_sent() -> None:
    script = SETUP + arm_script(span="1.5", position="0.25", points=20000) + SETUP \
        + arm_script(span="1.5", position="0.25", points=20000)
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        for _ in range(2):
            scope.setup()
            scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)


@pytest.mark.parametrize(("pre_s", "post_s", "rate"), [(0.001, 0.001, 1000.0), (1.0, 1000.0, 10_000.0)])
def test_arm_refuses_a_record_length_the_scope_cannot_hold_before_any_io(pre_s: float, post_s: float,
                                                                         rate: float) -> None:
    with expected_protocol(KeysightInfiniiVision, []) as scope:
        with pytest.raises(InstrumentError, match="outside 100..4000000"):
            scope.arm(pre_s=pre_s, post_s=post_s, sample_rate_hz=rate)
    assert scope.scripted_session.sent == []


@pytest.mark.parametrize(("reply", "armed"), [("+1", True), ("+0", False), ("1", True)])
def test_armed_reads_the_arm_event_register(reply: str, armed: bool) -> None:
    with expected_protocol(KeysightInfiniiVision, [(":AER?", reply)]) as scope:
        assert scope.armed() is armed


def test_faults_of_a_scope_are_none_and_ask_nothing() -> None:
    with expected_protocol(KeysightInfiniiVision, []) as scope:
        assert scope.faults() == []


@pytest.mark.parametrize(("condition", "complete"), [("+8", False), ("+40", False), ("+0", True), ("32", True)])
def test_complete_reads_the_run_bit(condition: str, complete: bool) -> None:
    with expected_protocol(KeysightInfiniiVision, [(":OPER:COND?", condition)]) as scope:
        assert scope.complete() is complete


def test_fetch_scales_codes_with_the_preamble_of_each_channel() -> None:
    current_codes = [-32768, -1000, 0, 1000, 32767]
    voltage_codes = [100, 200, 300, 400, 500]
    script = [
        *setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(5, 2.0e-4, -0.1, 1.0e-3, 0.5, 10)),
        (":WAV:DATA?", word_block(current_codes)),
        *setting(":WAV:SOUR CHAN2"),
        (":WAV:PRE?", preamble(5, 2.0e-4, -0.1, 0.0125, -2.0, 0)),
        (":WAV:DATA?", word_block(voltage_codes)),
    ]
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        capture = scope.fetch()
    assert isinstance(capture, Capture)
    # value = (code - yreference) * yincrement + yorigin
    np.testing.assert_allclose(capture.channels["current"], (np.array(current_codes) - 10) * 1.0e-3 + 0.5)
    np.testing.assert_allclose(capture.channels["voltage"], np.array(voltage_codes) * 0.0125 - 2.0)
    np.testing.assert_allclose(capture.t_s, -0.1 + np.arange(5) * 2.0e-4)
    assert capture.sample_rate_hz == pytest.approx(5000.0)


def test_fetch_reads_a_full_size_record() -> None:
    n = 20_000
    t = -0.5 + np.arange(n) / 10_000.0
    current = 26.0 * np.sqrt(2.0) * np.sin(2 * np.pi * 50.0 * t)
    y_inc = 100.0 / 65536
    codes = np.round(current / y_inc).astype("<i2")
    script = [
        *setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(n, 1.0e-4, -0.5, y_inc, 0.0, 0)),
        (":WAV:DATA?", word_block(codes)),
        *setting(":WAV:SOUR CHAN2"),
        (":WAV:PRE?", preamble(n, 1.0e-4, -0.5, 800.0 / 65536, 0.0, 0)),
        (":WAV:DATA?", word_block(np.zeros(n))),
    ]
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        capture = scope.fetch()
    assert len(capture.t_s) == n
    np.testing.assert_allclose(capture.channels["current"], current, atol=y_inc / 2 + 1e-9)
    assert float(np.sqrt(np.mean(capture.channels["current"] ** 2))) == pytest.approx(26.0, rel=1e-3)


def test_fetch_refuses_a_block_shorter_than_the_preamble_says() -> None:
    script = [
        *setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(6, 2.0e-4, -0.1, 1.0e-3, 0.0, 0)),
        (":WAV:DATA?", word_block([1, 2, 3, 4, 5])),
    ]
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        with pytest.raises(InstrumentError, match="5 points, preamble said 6") as caught:
            scope.fetch()
    assert caught.value.command == ":WAV:DATA?"


def test_fetch_takes_format_and_x_reference_from_the_preamble() -> None:
    byte_codes = np.array([-128, -1, 0, 1, 127], dtype="i1")
    byte_block = f"#1{len(byte_codes)}".encode() + byte_codes.tobytes()
    script = [
        *setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(5, 1.0e-3, 0.0, 0.5, 1.0, 0, fmt=0, x_ref=2)),  # BYTE; xorigin belongs to point 2
        (":WAV:DATA?", byte_block),
        *setting(":WAV:SOUR CHAN2"),
        (":WAV:PRE?", preamble(5, 1.0e-3, 0.0, 0.5, 0.0, 0, fmt=0, x_ref=2)),
        (":WAV:DATA?", byte_block),
    ]
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        capture = scope.fetch()
    np.testing.assert_allclose(capture.t_s, [-2e-3, -1e-3, 0.0, 1e-3, 2e-3])
    np.testing.assert_allclose(capture.channels["current"], byte_codes * 0.5 + 1.0)


def test_fetch_refuses_channels_whose_time_axes_differ() -> None:
    script = [
        *setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(5, 2.0e-4, -0.1, 1.0e-3, 0.0, 0)),
        (":WAV:DATA?", word_block([1, 2, 3, 4, 5])),
        *setting(":WAV:SOUR CHAN2"),
        (":WAV:PRE?", preamble(5, 4.0e-4, -0.1, 1.0e-3, 0.0, 0)),
        (":WAV:DATA?", word_block([1, 2, 3, 4, 5])),
    ]
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        with pytest.raises(InstrumentError, match="time axis differs"):
            scope.fetch()


def test_safe_off_stops_the_acquisition() -> None:
    with expected_protocol(KeysightInfiniiVision, setting(":STOP")) as scope:
        scope.safe_off()
