"""Keysight InfiniiVision driver against protocol scripts: arming, completion and scaled fetch."""

from __future__ import annotations

import numpy as np
import pytest
from protocol import OK, expected_protocol, setting

from drivers.analyzer.keysight_infiniivision import KeysightInfiniiVision
from rig.errors import InstrumentError
from rig.roles import Capture, Digitizer

def word_block(codes: list[int] | np.ndarray) -> bytes:
    """An IEEE 488.2 definite-length block of little-endian int16 codes, written out by hand."""
    payload = np.asarray(codes, dtype="<i2").tobytes()
    length = str(len(payload))
    return f"#{len(length)}{length}".encode() + payload


def preamble(points: int, x_inc: float, x_origin: float, y_inc: float, y_origin: float, y_ref: float) -> str:
    # format, type, points, count, xincrement, xorigin, xreference, yincrement, yorigin, yreference
    return f"+1,+0,+{points},+1,{x_inc:+.6E},{x_origin:+.6E},+0,{y_inc:+.6E},{y_origin:+.6E},{y_ref:+.0f}"


def test_driver_fulfils_the_digitizer_role() -> None:
    with expected_protocol(KeysightInfiniiVision, []) as scope:
        assert isinstance(scope, Digitizer)


def test_word_block_helper_matches_the_ieee_layout() -> None:
    assert word_block([1, -2]) == b"#14\x01\x00\xfe\xff"


def arm_script(*, current_range: str, voltage_range: str, span: str, position: str, points: int) -> list:
    """What ``arm`` must send, in order: probe ranges, timebase, external edge trigger, 16-bit readout, single."""
    return [setting(command) for command in (
        f":CHAN1:RANG {current_range}", ":CHAN1:OFFS 0", f":CHAN2:RANG {voltage_range}", ":CHAN2:OFFS 0",
        f":TIM:RANG {span}", ":TIM:REF LEFT", f":TIM:POS {position}", ":TRIG:MODE EDGE", ":TRIG:EDGE:SOUR EXT",
        ":WAV:FORM WORD", ":WAV:BYT LSBF", ":WAV:UNS 0", ":WAV:POIN:MODE RAW", f":WAV:POIN {points}", ":SING")]


def test_arm_sets_timebase_trigger_format_points_then_single() -> None:
    script = arm_script(current_range="100", voltage_range="800", span="1.5", position="-0.5", points=15000)
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        scope.arm(pre_s=0.5, post_s=1.0, sample_rate_hz=10_000.0)


def test_arm_uses_the_probe_ranges_from_the_bench_options() -> None:
    script = arm_script(current_range="40", voltage_range="1000", span="0.2", position="-0.1", points=1000)
    options = {"current_range_a": 40.0, "voltage_range_v": 1000.0}
    with expected_protocol(KeysightInfiniiVision, script, options=options) as scope:
        scope.arm(pre_s=0.1, post_s=0.1, sample_rate_hz=5000.0)


@pytest.mark.parametrize(("pre_s", "post_s", "rate"), [(0.001, 0.001, 1000.0), (1.0, 1000.0, 10_000.0)])
def test_arm_refuses_a_record_length_the_scope_cannot_hold_before_any_io(pre_s: float, post_s: float,
                                                                         rate: float) -> None:
    with expected_protocol(KeysightInfiniiVision, []) as scope:
        with pytest.raises(InstrumentError, match="outside 100..4000000"):
            scope.arm(pre_s=pre_s, post_s=post_s, sample_rate_hz=rate)
    assert scope.scripted_session.sent == []


@pytest.mark.parametrize(("condition", "complete"), [("+8", False), ("+40", False), ("+0", True), ("32", True)])
def test_complete_reads_the_run_bit(condition: str, complete: bool) -> None:
    with expected_protocol(KeysightInfiniiVision, [(":OPER:COND?", condition)]) as scope:
        assert scope.complete() is complete


def test_fetch_scales_codes_with_the_preamble_of_each_channel() -> None:
    current_codes = [-32768, -1000, 0, 1000, 32767]
    voltage_codes = [100, 200, 300, 400, 500]
    script = [
        setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(5, 2.0e-4, -0.1, 1.0e-3, 0.5, 10)),
        (":WAV:DATA?", word_block(current_codes)),
        setting(":WAV:SOUR CHAN2"),
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
        setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(n, 1.0e-4, -0.5, y_inc, 0.0, 0)),
        (":WAV:DATA?", word_block(codes)),
        setting(":WAV:SOUR CHAN2"),
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
        setting(":WAV:SOUR CHAN1"),
        (":WAV:PRE?", preamble(6, 2.0e-4, -0.1, 1.0e-3, 0.0, 0)),
        (":WAV:DATA?", word_block([1, 2, 3, 4, 5])),
    ]
    with expected_protocol(KeysightInfiniiVision, script) as scope:
        with pytest.raises(InstrumentError, match="5 points, preamble said 6") as caught:
            scope.fetch()
    assert caught.value.command == ":WAV:DATA?"


def test_safe_off_stops_the_acquisition() -> None:
    with expected_protocol(KeysightInfiniiVision, [setting(":STOP")]) as scope:
        scope.safe_off()
