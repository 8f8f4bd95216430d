"""ZES LMG600 driver against protocol scripts, in each of its two languages: every method's exact wire traffic (the
``<cmd>;*OPC?;<error query>`` handshake), refusals before any I/O, wrong replies and queued errors named, ``read``
waiting for the cycle stamp on a fake clock.
"""

from __future__ import annotations

import pytest
from fake_clock import FakeClock
from protocol import expected_protocol

from drivers import driver_class
from drivers.power_analyzer.zes_lmg600 import ZesLmg600, stamp_seconds
from rig.core.errors import InstrumentError
from rig.core.identity import Idn
from rig.core.roles import AnalyzerUpdate, ElementReading, PowerAnalyzer, PowerSpec

IDN = "ZES ZIMMER Electronic Systems GmbH,LMG670,1234567,2.100"
RANGES = {"voltage_v": [60.0, 250.0, 600.0, 1000.0], "current_a": [1.2, 10.0, 20.0, 32.0]}
ACCURACY = {"dc": {"reading": 0.0005, "range": 0.001},
            "bands": [{"from_hz": 45.0, "to_hz": 66.0, "reading": 0.0002, "range": 0.0004, "pf_zero": 0.0003}]}
NO_ERROR = '0,"No error"'
LANGUAGES = ("short", "scpi")

# Every form each language sends (literal, from the driver's docstring table).
FORMS = {
    "short": {"err": "ERRALL?", "groups": "GROUP?", "group": "GROUP 6", "format": "FRMT ASCii", "cycle": "CYCL {}",
              "ranges": "IAUTO{c} 0;IRNG{c} {a};UAUTO{c} 0;URNG{c} {v}", "stamp": "TSNORM{c}?",
              "duration": "DURNORM{c}?", "ac": "UTRMS{c}?;ITRMS{c}?;P{c}?;S{c}?;PF{c}?;FCYC{c}?",
              "dc": "UDC{c}?;IDC{c}?;P{c}?", "mode": "INTM {}", "interval": "INTI {}", "start": "START",
              "stop": "STOP", "reset": "RESET", "state": "INTS?", "energy": "EP{c}?", "time": "INTT?",
              "scale": "ISCA{c}?", "format?": "FRMT?"},
    "scpi": {"err": ":SYST:ERR:ALL?", "groups": ":SENS:GRO:LIST?", "group": ":SENS:GRO:LIST 6",
             "format": ":FORM:DATA ASCii", "cycle": ":SENS:SWE:TIME {}",
             "ranges": ":SENS:CURR:RANG:AUTO{c} 0;:SENS:CURR:RANG{c} {a};:SENS:VOLT:RANG:AUTO{c} 0;"
                       ":SENS:VOLT:RANG{c} {v}",
             "stamp": ":FETC:TIME:NORM{c}?", "duration": ":FETC:TIME:DUR{c}?",
             "ac": ":FETC:VOLT:TRMS{c}?;:FETC:CURR:TRMS{c}?;:FETC:POW:ACT{c}?;:FETC:POW:APP{c}?;:FETC:POW:FACT{c}?;"
                   ":FETC:FREQ:FCYC{c}?",
             "dc": ":FETC:VOLT:DC{c}?;:FETC:CURR:DC{c}?;:FETC:POW:ACT{c}?", "mode": ":INTegral:MODE {}",
             "interval": ":INTegral:INTerval {}", "start": ":INTegral:STARt", "stop": ":INTegral:STOP",
             "reset": ":INTegral:RESet", "state": ":INTegral:STATe?", "energy": ":FETC:ENER:ACT{c}?",
             "time": ":FETC:INT:TIME?", "scale": ":SENS:CURR:SCAL{c}?", "format?": ":FORM:DATA?"},
}
T0 = "2026:01:01D00:00:01.000000000+0000"
T1 = "2026:01:01D00:00:01.500000000+0000"
T2 = "2026:01:01D00:00:02.000000000+0000"
AC_VALUES = "2.301000E+02;3.000000E+01;6.900000E+03;6.903000E+03;9.995000E-01;5.000000E+01"
DC_VALUES = "4.000000E+02;-1.632500E+00;-6.530000E+02"


def f(language: str, key: str, *args, **kwargs) -> str:
    return FORMS[language][key].format(*args, **kwargs)


def setting(language: str, command: str, queue: str = NO_ERROR) -> list[tuple[str, str | None]]:
    """A setting as the driver sends it: one message with the handshake and the whole error queue."""
    return [(f"{command};*OPC?;{f(language, 'err')}", f"1;{queue}")]


def options(language: str, **extra) -> dict:
    return {"language": language, "elements": {"ac": 1, "dc": 4}, "ranges": {1: RANGES, 4: RANGES},
            "power_accuracy": ACCURACY, **extra}


def setup_script(language: str) -> list:
    return ([("*RST;*OPC?", "1"), (f"*zlang {language}", None)] + setting(language, "*CLS")
            + [(f(language, "groups"), "3,3")] + setting(language, f(language, "group"))
            + setting(language, f(language, "format")) + setting(language, f(language, "cycle", "0.5"))
            + setting(language, f(language, "ranges", c=1, a="32", v="1000"))
            + setting(language, f(language, "ranges", c=4, a="32", v="1000")))


def values_query(language: str, elements=(1, 4)) -> str:
    parts = [f(language, "stamp", c=1), f(language, "duration", c=1)]
    for c in elements:
        parts += [f(language, "stamp", c=c), f(language, "ac" if c == 1 else "dc", c=c)]
    return ";".join(parts + [f(language, "stamp", c=1)])


def values_reply(stamp: str = T1, duration: str = "0.500000000", elements=(1, 4), ac: str = AC_VALUES,
                 dc: str = DC_VALUES, last: str | None = None, stamps: dict | None = None) -> str:
    parts = [stamp, duration]
    for c in elements:
        parts += [(stamps or {}).get(c, stamp), ac if c == 1 else dc]
    return ";".join(parts + [last or stamp])


def analyzer(language: str, script, **kwargs):
    kwargs.setdefault("options", options(language))
    return expected_protocol(ZesLmg600, script, name="analyzer", **kwargs)


def ranged(language: str) -> list:
    return (setting(language, f(language, "ranges", c=1, a="32", v="250"))
            + setting(language, f(language, "ranges", c=4, a="20", v="600")))


def set_both(lmg: ZesLmg600) -> ZesLmg600:
    lmg.set_ranges(1, 250.0, 32.0)
    lmg.set_ranges(4, 600.0, 20.0)
    lmg.attach_clock(FakeClock())
    return lmg


# -- role, registry, identity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_driver_fulfils_the_power_analyzer_role_and_is_registered(language: str) -> None:
    with analyzer(language, []) as lmg:
        assert isinstance(lmg, PowerAnalyzer)
        assert lmg.elements == {"ac": 1, "dc": 4}
        assert lmg.error_query == f(language, "err")
    assert driver_class("zes_lmg600") is ZesLmg600


@pytest.mark.parametrize("reply", [IDN, "ZES ZIMMER Electronic Systems GmbH,LMG610,1,1.0",
                                   "ZES-ZIMMER,LMG671,1,1.0", "ZES ZIMMER,LMG641,1,2"])
def test_family_admits_lmg600_answers(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and ZesLmg600.family.admits(idn)


@pytest.mark.parametrize("reply", ["ZES ZIMMER Electronic Systems GmbH,LMG500,1,1", "ZES ZIMMER,LMG95,1,1",
                                   "YOKOGAWA,760304-40-MV,0,F5.01", "ZES ZIMMER,LMG680,1,1"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not ZesLmg600.family.admits(idn)


@pytest.mark.parametrize(("opts", "match"), [
    ({"elements": {"ac": 1}}, "ranges"),
    ({"elements": {"ac": 1}, "ranges": {}}, "channel 1 has none"),
    ({"elements": {"grid": 1}, "ranges": {1: RANGES}}, "name each channel ac or dc"),
    ({"elements": {"ac": 0}, "ranges": {0: RANGES}}, "start at 1"),
    ({"elements": {"ac": 1, "dc": 1}, "ranges": {1: RANGES}}, "named twice"),
    ({"elements": {"ac": 1}, "ranges": {1: RANGES, 4: RANGES}}, "channel 4 is not one of elements"),
    ({"elements": {"ac": 1}, "ranges": {1: RANGES}, "language": "german"}, "language"),
    ({"elements": {"ac": 1}, "ranges": {1: RANGES}, "update_rate_s": 0}, "update_rate_s"),
])
def test_unusable_options_are_refused_before_any_io(opts: dict, match: str) -> None:
    with pytest.raises(InstrumentError, match=f"unusable options: .*{match}"):
        with expected_protocol(ZesLmg600, [], name="analyzer", options=opts):
            pass


# -- set-up and the handshake ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_setup_resets_switches_language_groups_all_channels_then_format_cycle_and_highest_ranges(language) -> None:
    with analyzer(language, [("*IDN?", IDN)] + setup_script(language)) as lmg:
        assert lmg.identify() == IDN
        lmg.setup()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_channel_beyond_the_unit_is_refused_at_setup(language: str) -> None:
    opts = options(language, elements={"ac": 1, "dc": 7}, ranges={1: RANGES, 7: RANGES})
    script = [("*RST;*OPC?", "1"), (f"*zlang {language}", None)] + setting(language, "*CLS") \
        + [(f(language, "groups"), "3,3")]
    with analyzer(language, script, options=opts) as lmg:
        with pytest.raises(InstrumentError, match="channel 7 named in elements, and the unit has 6 channels"):
            lmg.setup()


@pytest.mark.parametrize(("language", "reply", "match"), [
    ("short", "six", "not group sizes"), ("scpi", "3,0", "not group sizes")])
def test_group_sizes_in_the_wrong_form_are_named(language: str, reply: str, match: str) -> None:
    script = [("*RST;*OPC?", "1"), (f"*zlang {language}", None)] + setting(language, "*CLS") \
        + [(f(language, "groups"), reply)]
    with analyzer(language, script) as lmg:
        with pytest.raises(InstrumentError, match=match) as caught:
            lmg.setup()
    assert caught.value.command == f(language, "groups")


def test_a_reset_not_acknowledged_is_named() -> None:
    with analyzer("short", [("*RST;*OPC?", "0")]) as lmg:
        with pytest.raises(InstrumentError, match="answered '0', not 1"):
            lmg.setup()


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_error_in_the_queue_raises_naming_the_instrument_and_the_command(language: str) -> None:
    command = f(language, "cycle", "0.003")
    script = setting(language, command, '-222,"Data out of range;cycle time 0.003 s outside 0.01-60 s"')
    with analyzer(language, script) as lmg:
        with pytest.raises(InstrumentError) as caught:
            lmg.set_update_rate(0.003)
    assert (caught.value.instrument, caught.value.command) == ("analyzer", command)
    assert "-222" in caught.value.detail and "Data out of range" in caught.value.detail


@pytest.mark.parametrize(("language", "reply"), [("short", "1"), ("scpi", "0;0,\"No error\""), ("short", "garbage")])
def test_a_handshake_in_the_wrong_form_is_named(language: str, reply: str) -> None:
    command = f(language, "cycle", "1")
    with analyzer(language, [(f"{command};*OPC?;{f(language, 'err')}", reply)]) as lmg:
        with pytest.raises(InstrumentError, match=f"speaking the {language} language") as caught:
            lmg.set_update_rate(1.0)
    assert caught.value.command == command


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unusable_cycle_time_is_refused_before_any_io(language: str) -> None:
    with analyzer(language, []) as lmg:
        for rate in (0.0, -1.0, float("inf")):
            with pytest.raises(InstrumentError, match="positive number of seconds: nothing was sent"):
                lmg.set_update_rate(rate)


# -- ranges -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_set_ranges_turns_auto_off_and_sets_both_ranges_in_one_handshake(language: str) -> None:
    with analyzer(language, setting(language, f(language, "ranges", c=4, a="1.2", v="600"))) as lmg:
        assert lmg.ranges(4) == ((60.0, 250.0, 600.0, 1000.0), (1.2, 10.0, 20.0, 32.0))
        lmg.set_ranges(4, 600.0, 1.2)


@pytest.mark.parametrize(("element", "volts", "amps", "match"), [
    (1, 400.0, 32.0, r"channel 1 has no 400 V range \(it has 60, 250, 600, 1000 V\)"),
    (4, 600.0, 5.0, r"channel 4 has no 5 A range"),
    (2, 250.0, 10.0, r"channel 2 is not one the bench names \(ac: 1, dc: 4\)"),
])
def test_a_range_the_channel_lacks_is_refused_before_any_io(element, volts, amps, match) -> None:
    with analyzer("short", []) as lmg:
        with pytest.raises(InstrumentError, match=match):
            lmg.set_ranges(element, volts, amps)
    assert lmg.scripted_session.sent == []


# -- reading a cycle --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_read_waits_for_the_stamp_to_change_then_reads_the_cycle_in_one_message(language: str) -> None:
    stamp = f(language, "stamp", c=1)
    script = ranged(language) + [(stamp, T0), (stamp, T0), (stamp, T1),
                                 (values_query(language), values_reply(duration="0.500101824"))]
    with analyzer(language, script) as lmg:
        set_both(lmg)
        clock = lmg._clock
        update = lmg.read([1, 4])
    assert clock.sleeps == [0.5 / 16] * 2
    assert update == AnalyzerUpdate(t_s=1.5 * 0.5 / 16, interval_s=0.500101824, elements={
        1: ElementReading(230.1, 30.0, 6900.0, 6903.0, 50.0, 250.0, 32.0, 0.9995),
        4: ElementReading(400.0, -1.6325, -653.0, 653.0, None, 600.0, 20.0, None)})


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_next_read_sleeps_to_just_before_the_next_cycle(language: str) -> None:
    stamp = f(language, "stamp", c=1)
    script = ranged(language) + [(stamp, T0), (stamp, T1), (values_query(language, (1,)), values_reply(elements=(1,))),
                                 (stamp, T1), (stamp, T2),
                                 (values_query(language, (1,)), values_reply(T2, elements=(1,)))]
    with analyzer(language, script) as lmg:
        clock = set_both(lmg)._clock
        first = lmg.read([1])
        second = lmg.read([1])
    poll = 0.5 / 16
    assert first.t_s == pytest.approx(poll / 2)
    assert clock.sleeps[1] == pytest.approx(first.t_s + 0.5 - poll - clock.sleeps[0])
    assert second.t_s == pytest.approx(first.t_s + 0.5 - poll / 2)  # polled from a poll before the due instant


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_values_message_that_straddles_a_cycle_end_is_not_used(language: str) -> None:
    stamp = f(language, "stamp", c=1)
    script = ranged(language) + [(stamp, T0), (stamp, T1),
                                 (values_query(language, (1,)), values_reply(T1, elements=(1,), last=T2)),
                                 (stamp, T2), (stamp, T2), (stamp, T0.replace("01.0", "02.5")),
                                 (values_query(language, (1,)), values_reply(T0.replace("01.0", "02.5"),
                                                                             elements=(1,)))]
    with analyzer(language, script) as lmg:
        update = set_both(lmg).read([1])
    assert update.elements[1].power_w == 6900.0


@pytest.mark.parametrize("language", LANGUAGES)
def test_channels_in_different_groups_are_refused(language: str) -> None:
    stamp = f(language, "stamp", c=1)
    script = ranged(language) + [(stamp, T0), (stamp, T1),
                                 (values_query(language), values_reply(stamps={4: "2026:01:01D00:00:01.4"
                                                                                 "00000000+0000"}))]
    with analyzer(language, script) as lmg:
        with pytest.raises(InstrumentError, match="different measuring groups"):
            set_both(lmg).read([1, 4])


@pytest.mark.parametrize("language", LANGUAGES)
def test_read_gives_up_after_three_cycles_and_a_second_without_a_new_one(language: str) -> None:
    polls = int(2.5 / (0.5 / 16))
    stamp = f(language, "stamp", c=1)
    with analyzer(language, ranged(language) + [(stamp, T0)] * (1 + polls)) as lmg:
        clock = set_both(lmg)._clock
        with pytest.raises(InstrumentError, match=r"no new measuring cycle within 2.5 s .*holding"):
            lmg.read([1])
    assert clock.t == 2.5


@pytest.mark.parametrize(("reply", "match"), [
    (values_reply().replace(";6.903000E+03", ";OVER"), r"S of channel 1 is 'OVER', not a number"),
    (values_reply().replace("3.000000E+01", "9.910000E+37", 1), r"I of channel 1 has no valid value \(9.91E\+37"),
    (values_reply().replace("-1.632500E+00", "9.910000E+37"), r"I of channel 4 has no valid value"),
    (values_reply(duration="9.910000E+37"), "the cycle's duration"),
    ("1;2;3", r"3 answers to 14 queries"),
])
def test_a_wrong_reply_to_the_values_message_is_an_error_naming_it(reply: str, match: str) -> None:
    stamp = f("short", "stamp", c=1)
    with analyzer("short", ranged("short") + [(stamp, T0), (stamp, T1), (values_query("short"), reply)]) as lmg:
        with pytest.raises(InstrumentError, match=match) as caught:
            set_both(lmg).read([1, 4])
    assert caught.value.command == values_query("short")


def test_an_ac_channel_without_frequency_or_power_factor_reads_none() -> None:
    ac = AC_VALUES.replace("9.995000E-01", "9.910000E+37").replace("5.000000E+01", "9.910000E+37")
    stamp = f("scpi", "stamp", c=1)
    script = ranged("scpi") + [(stamp, T0), (stamp, T1), (values_query("scpi", (1,)), values_reply(elements=(1,), ac=ac))]
    with analyzer("scpi", script) as lmg:
        reading = set_both(lmg).read([1]).elements[1]
    assert reading.frequency_hz is None and reading.power_factor is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_stamp_in_the_wrong_form_is_named(language: str) -> None:
    stamp = f(language, "stamp", c=1)
    with analyzer(language, ranged(language) + [(stamp, "1.5")]) as lmg:
        with pytest.raises(InstrumentError, match="not a cycle stamp") as caught:
            set_both(lmg).read([1])
    assert caught.value.command == stamp


def test_read_needs_known_channels_on_known_ranges_and_the_rigs_clock_before_any_io() -> None:
    with analyzer("short", setting("short", f("short", "ranges", c=1, a="32", v="250"))) as lmg:
        with pytest.raises(InstrumentError, match="channel 1's ranges were never set"):
            lmg.read([1])
        lmg.set_ranges(1, 250.0, 32.0)
        with pytest.raises(InstrumentError, match="no clock attached"):
            lmg.read([1])
        lmg.attach_clock(FakeClock())
        with pytest.raises(InstrumentError, match="channel 3 is not one the bench names"):
            lmg.read([1, 3])


def test_stamps_are_read_as_seconds_of_the_units_clock() -> None:
    assert stamp_seconds(T1) - stamp_seconds(T0) == pytest.approx(0.5)
    assert stamp_seconds("2015:01:21D17:20:55.937918000+0000") - stamp_seconds(
        "2015:01:21D17:20:55.437817000+0000") == pytest.approx(0.500101, abs=1e-6)
    assert stamp_seconds("2026:01:01D01:00:00.0+0100") == stamp_seconds("2026:01:01D00:00:00.0+0000")


# -- integration -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_start_integration_from_reset_sets_interval_mode_the_interval_and_starts(language: str) -> None:
    script = ([(f(language, "state"), "0")] + setting(language, f(language, "mode", 1))
              + setting(language, f(language, "interval", 3665)) + setting(language, f(language, "start")))
    with analyzer(language, script) as lmg:
        lmg.start_integration(3665)


@pytest.mark.parametrize("language", LANGUAGES)
def test_start_integration_without_a_timer_is_continuous(language: str) -> None:
    script = ([(f(language, "state"), "0")] + setting(language, f(language, "mode", 0))
              + setting(language, f(language, "start")))
    with analyzer(language, script) as lmg:
        lmg.start_integration(0)


@pytest.mark.parametrize(("code", "state"), [("1", "START"), ("2", "STOP"), ("3", "TIMEUP")])
def test_start_integration_outside_reset_is_refused_naming_the_state(code: str, state: str) -> None:
    with analyzer("short", [("INTS?", code)]) as lmg:
        with pytest.raises(InstrumentError, match=f"integration is {state}: reset_integration\\(\\) first"):
            lmg.start_integration(60)


@pytest.mark.parametrize("timer", [-1, 1.5, 9999 * 3600 + 1, True])
def test_an_unusable_interval_is_refused_before_any_io(timer) -> None:
    with analyzer("scpi", []) as lmg:
        with pytest.raises(InstrumentError, match="whole seconds"):
            lmg.start_integration(timer)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("method", "key", "code", "allowed"), [
    ("stop_integration", "stop", "1", True), ("stop_integration", "stop", "0", False),
    ("stop_integration", "stop", "3", False), ("reset_integration", "reset", "2", True),
    ("reset_integration", "reset", "3", True), ("reset_integration", "reset", "0", True),
    ("reset_integration", "reset", "1", False)])
def test_integration_moves_follow_the_state_machine(language, method, key, code, allowed) -> None:
    script = [(f(language, "state"), code)] + (setting(language, f(language, key)) if allowed else [])
    with analyzer(language, script) as lmg:
        if allowed:
            getattr(lmg, method)()
        else:
            with pytest.raises(InstrumentError, match="nothing was sent") as caught:
                getattr(lmg, method)()
            assert caught.value.command == f(language, key)


@pytest.mark.parametrize("language", LANGUAGES)
def test_integrated_reads_each_channels_energy_and_the_time_in_one_message(language: str) -> None:
    query = ";".join([f(language, "energy", c=1), f(language, "energy", c=4), f(language, "time")])
    with analyzer(language, [(f(language, "state"), "3"), (query, "6.900000E+02;-6.530000E+01;3.600000E+02")]) as lmg:
        assert lmg.integration_state() == "TIMEUP"
        assert lmg.integrated([1, 4]) == {1: (690.0, 360.0), 4: (-65.3, 360.0)}


@pytest.mark.parametrize(("reply", "match"), [("6.9E+02;3.6E+02", "2 answers to 3 queries"),
                                              ("6.9E+02;x;3.6E+02", "energy of channel 4 is 'x'"),
                                              ("6.9E+02;9.91E+37;3.6E+02", "channel 4 has no valid integrated")])
def test_a_wrong_reply_to_the_integrated_values_is_named(reply: str, match: str) -> None:
    with analyzer("short", [("EP1?;EP4?;INTT?", reply)]) as lmg:
        with pytest.raises(InstrumentError, match=match) as caught:
            lmg.integrated([1, 4])
    assert caught.value.command == "EP1?;EP4?;INTT?"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wrong_integration_state_is_named(language: str) -> None:
    with analyzer(language, [(f(language, "state"), "RUNNING")]) as lmg:
        with pytest.raises(InstrumentError, match="'RUNNING', not one of 0 \\(RESET\\)") as caught:
            lmg.integration_state()
    assert caught.value.command == f(language, "state")


# -- accuracy ----------------------------------------------------------------------------------------------------


def test_power_spec_is_the_benches_stated_accuracy() -> None:
    with analyzer("short", []) as lmg:
        assert lmg.power_spec(1, 50.0, 32.0) == PowerSpec(0.0002, 0.0004, 0.0003)
        assert lmg.power_spec(4, None, 20.0) == PowerSpec(0.0005, 0.001)
        with pytest.raises(InstrumentError, match="no stated accuracy at 400 Hz"):
            lmg.power_spec(1, 400.0, 32.0)
        with pytest.raises(InstrumentError, match="channel 1 has no 40 A range"):
            lmg.power_spec(1, 50.0, 40.0)
        with pytest.raises(InstrumentError, match="a positive number of hertz"):
            lmg.power_spec(1, 0.0, 32.0)


def test_without_a_stated_accuracy_there_is_none() -> None:
    opts = options("scpi")
    del opts["power_accuracy"]
    with analyzer("scpi", [], options=opts) as lmg:
        with pytest.raises(InstrumentError, match="no power accuracy is stated for this LMG600 .*power_accuracy"):
            lmg.power_spec(1, 50.0, 32.0)


# -- the rest of the Instrument role, bench checks -------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_safe_off_sends_nothing_and_faults_read_the_whole_error_queue(language: str) -> None:
    queued = '-113,"Undefined header;XYZ",-222,"Data out of range"'
    with analyzer(language, [(f(language, "err"), queued), (f(language, "err"), NO_ERROR)]) as lmg:
        lmg.safe_off()
        assert lmg.faults() == [f"error queue: {queued}"]


def bench_check_script(language: str, *, scale: str = "1") -> list:
    def asked(query: str, reply: str) -> list:
        return [(query, reply), (f(language, "err"), NO_ERROR)]

    script = [(f"*zlang {language}", None)] + setting(language, "*CLS")
    script += asked(f(language, "groups"), "6") + asked(f(language, "format?"), "ASCii")
    script += asked(f(language, "state"), "0") + asked(f(language, "time"), "0.000000E+00")
    for channel, kind, answers in ((1, "ac", 6), (4, "dc", 3)):
        script += asked(f(language, "scale", c=channel), scale) + asked(f(language, "stamp", c=channel), T0)
        script += asked(f(language, "energy", c=channel), "0.000000E+00")
        for query in f(language, kind, c=channel).split(";"):
            script += asked(query, "1.000000E+00")
    stamp = f(language, "stamp", c=1)
    return script + [(stamp, T0), (stamp, "2026:01:01D00:00:02.000000000+0000"),
                     (f(language, "duration", c=1), "0.500000000")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_bench_checks_confirm_every_unconfirmed_form_and_the_cycle_timing(language: str) -> None:
    with analyzer(language, bench_check_script(language)) as lmg:
        lmg.attach_clock(FakeClock())
        checks = lmg.bench_checks()
    assert [c.what for c in checks if c.outcome != "confirmed"] == []
    assert checks[-1].detail.endswith("2 cycles of 0.5 s")
    assert lmg._clock.sleeps == [1.25]


def test_a_unit_that_scales_current_is_a_bench_check_problem() -> None:
    with analyzer("short", bench_check_script("short", scale="1000")) as lmg:
        lmg.attach_clock(FakeClock())
        problems = [c for c in lmg.bench_checks() if c.outcome == "problem"]
    assert [c.what for c in problems] == ["channel 1 does no current scaling (direct input)",
                                          "channel 4 does no current scaling (direct input)"]


def test_a_unit_that_does_not_take_the_language_is_one_bench_check_problem() -> None:
    with analyzer("scpi", [("*zlang scpi", None), ("*CLS;*OPC?;:SYST:ERR:ALL?", "1")]) as lmg:
        checks = lmg.bench_checks()
    assert [(c.outcome, c.what) for c in checks] == [("problem", "the unit speaks the scpi language (*zlang)")]
