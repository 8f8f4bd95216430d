"""Yokogawa WT power-analyzer driver against protocol scripts, and the power accuracy rule it hands the budget.

Every driver method's exact wire traffic (the error query is ``:STATus:ERRor?``), refusals before any I/O,
the integration state machine, ``read`` waiting for the UPD event on a fake clock (no wall clock, no sleep).
"""

from __future__ import annotations

import math

import pytest
from fake_clock import FakeClock
from protocol import OK, expected_protocol

from drivers import driver_class
from drivers.power_analyzer.yokogawa_wt import YokogawaWT
from rig.core.errors import InstrumentError
from rig.core.identity import Idn
from rig.core.roles import AnalyzerUpdate, ElementReading, PowerAnalyzer, PowerSpec

ERR = ":STATus:ERRor?"
WT3000_IDN = "YOKOGAWA,760304-40-MV,0,F5.01"
WT1800_IDN = "YOKOGAWA,WT1806E-5A3-50A3,1234567890,F1.01"
AC_RANGES = {"voltage_v": [15.0, 30.0, 60.0, 100.0, 150.0, 300.0, 600.0, 1000.0],
             "current_a": [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0]}
DC_RANGES = {"voltage_v": [150.0, 300.0, 600.0, 1000.0], "current_a": [0.005, 0.05, 0.2, 0.5, 1.0, 2.0]}
"""Ranges as a bench states them (the driver confirms none): element 4 like a 2 A element."""
OPTIONS = {"elements": {"ac": 1, "dc": 4}, "ranges": {1: AC_RANGES, 4: DC_RANGES}}
ITEMS = ["U,1", "I,1", "P,1", "S,1", "LAMBDA,1", "FU,1", "WP,1", "ITIME,1", "UDC,4", "IDC,4", "P,4", "WP,4", "ITIME,4"]
"""The item table set-up defines: per element, its readings, then the integrated energy and time."""


def setting(command: str, reply: str = OK) -> list[tuple[str, str | None]]:
    """A setting as the driver sends it: the command, then the WT's error query as its own message."""
    return [(command, None), (ERR, reply)]


def settings(*commands: str) -> list[tuple[str, str | None]]:
    return [pair for command in commands for pair in setting(command)]


SETUP = ([("*RST", None), (":COMMunicate:HEADer OFF", None), (ERR, OK)]
         + settings("*CLS", ":COMMunicate:REMote ON", ":COMMunicate:VERBose ON", ":NUMeric:FORMat ASCii",
                    ":RATE 0.5", ":INPut:VOLTage:RANGe:ELEMent1 1000", ":INPut:CURRent:RANGe:ELEMent1 30",
                    ":INPut:VOLTage:RANGe:ELEMent4 1000", ":INPut:CURRent:RANGe:ELEMent4 2",
                    ":NUMeric:NORMal:NUMber 13", *(f":NUMeric:NORMal:ITEM{k} {item}" for k, item in
                                                   enumerate(ITEMS, start=1)),
                    ":STATus:FILTer1 FALL"))
"""What set-up sends after ``*IDN?``: *RST with the header switch in one write, then one setting at a time."""
IDENTIFIED = [("*IDN?", WT3000_IDN)] + SETUP

VALUES = ("2.30100E+02,3.00000E+01,6.90000E+03,6.90300E+03,9.99500E-01,5.00000E+01,0.00000E+00,0.00000E+00,"
          "4.00000E+02,-1.63250E+00,-6.53000E+02,0.00000E+00,0.00000E+00")
"""One update: 6.9 kW in on the AC element at 50 Hz, 653 W out of the DC element (the battery side)."""


def analyzer(script, **kwargs):
    kwargs.setdefault("options", OPTIONS)
    return expected_protocol(YokogawaWT, script, name="analyzer", **kwargs)


# -- role, registry, identity ---------------------------------------------------------------------------


def test_driver_fulfils_the_power_analyzer_role_and_is_registered() -> None:
    with analyzer([]) as wt:
        assert isinstance(wt, PowerAnalyzer)
        assert wt.elements == {"ac": 1, "dc": 4}
    assert driver_class("yokogawa_wt") is YokogawaWT


def test_constructing_sends_nothing_and_identify_sends_only_idn() -> None:
    with analyzer([("*IDN?", WT3000_IDN)]) as wt:
        assert wt.scripted_session.sent == []
        assert wt.identify() == WT3000_IDN
    assert wt.scripted_session.sent == ["*IDN?"]


@pytest.mark.parametrize("reply", [WT3000_IDN, WT1800_IDN, "YOKOGAWA,WT5000,C1B234567,F2.11",
                                   "YOKOGAWA,WT310,C2PH13047V,F1.03", "YOKOGAWA,WT3004E-2A0-30A4,0,F6.01"])
def test_family_admits_wt_answers(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and YokogawaWT.family.admits(idn)


@pytest.mark.parametrize("reply", ["Keysight Technologies,RP7942A,MY1,B.01", "YOKOGAWA,GS210,1,1.0",
                                   "ZES ZIMMER,LMG670,1,1.0"])
def test_family_refuses_other_instruments(reply: str) -> None:
    idn = Idn.parse(reply)
    assert idn is not None and not YokogawaWT.family.admits(idn)


@pytest.mark.parametrize(("options", "match"), [
    ({}, "elements"),
    ({"elements": {"grid": 1}}, "name each element ac or dc"),
    ({"elements": {"ac": 0}}, "start at 1"),
    ({"elements": {"ac": 1, "ac_l2": 1}}, "named twice"),
    ({"elements": {"ac": 1}, "ranges": {4: DC_RANGES}}, "element 4 is not one of elements"),
    ({"elements": {"ac": 1}, "ranges": {1: {"voltage_v": [], "current_a": [1.0]}}}, "voltage_v"),
    ({"elements": {"ac": 1}, "ranges": {1: {"voltage_v": [-1.0], "current_a": [1.0]}}}, "positive"),
    ({"elements": {"ac": 1}, "update_rate_s": 0}, "update_rate_s"),
    ({"elements": {"ac": 1}, "power_accuracy": {"dc": {"reading": 0.001, "range": 0.001}}}, "bands"),
    ({"elements": {"ac": 1}, "energy_item": "W P"}, "energy_item"),
])
def test_unusable_options_are_refused_before_any_io(options: dict, match: str) -> None:
    with pytest.raises(InstrumentError, match=f"unusable options: .*{match}"):
        with analyzer([], options=options):
            pass


# -- set-up ----------------------------------------------------------------------------------------------


def test_setup_resets_then_sets_format_rate_highest_ranges_item_table_and_the_upd_event() -> None:
    with analyzer(IDENTIFIED) as wt:
        wt.identify()
        wt.setup()


def test_setup_asks_the_identity_itself_when_nobody_did() -> None:
    with analyzer(IDENTIFIED) as wt:
        wt.setup()


def test_a_model_without_a_confirmed_accuracy_row_needs_it_stated_and_nothing_else_is_sent() -> None:
    with analyzer([("*IDN?", WT1800_IDN)]) as wt:
        wt.identify()
        with pytest.raises(InstrumentError, match=r"WT1806E-5A3-50A3: the driver has no confirmed power_accuracy "
                                                  r"for this model: state power_accuracy in the bench file"):
            wt.setup()
    assert wt.scripted_session.sent == ["*IDN?"]


def test_the_wt3000_needs_its_ranges_stated_and_nothing_else_is_sent() -> None:
    with analyzer([("*IDN?", WT3000_IDN)], options={"elements": {"ac": 1}}) as wt:
        wt.identify()
        with pytest.raises(InstrumentError, match="no confirmed ranges for this model: state ranges") as caught:
            wt.setup()
    assert caught.value.command == "*IDN?" and caught.value.instrument == "analyzer"
    assert wt.scripted_session.sent == ["*IDN?"]


def test_a_model_without_a_row_runs_on_the_accuracy_its_bench_states() -> None:
    stated = {**OPTIONS, "power_accuracy": {
        "dc": {"reading": 0.0005, "range": 0.001},
        "bands": [{"from_hz": 45.0, "to_hz": 66.0, "reading": 0.0003, "range": 0.0005, "pf_zero": 0.0005},
                  {"from_hz": 10.0, "to_hz": 1000.0, "reading": 0.001, "range": 0.001,
                   "current_ranges_a": [0.5, 30.0]}]}}
    with analyzer([("*IDN?", WT1800_IDN)] + SETUP, options=stated) as wt:
        wt.identify()
        wt.setup()
        assert wt.power_spec(1, 50.0, 30.0) == PowerSpec(0.0003, 0.0005, 0.0005)  # first band that holds
        assert wt.power_spec(1, 400.0, 5.0) == PowerSpec(0.001, 0.001)
        assert wt.power_spec(4, None, 2.0) == PowerSpec(0.0005, 0.001)
        with pytest.raises(InstrumentError, match="no stated accuracy at 400 Hz on the 0.2 A range"):
            wt.power_spec(4, 400.0, 0.2)


def test_an_error_in_the_queue_raises_naming_the_instrument_and_the_command() -> None:
    script = setting(":RATE 0.3", '813,"Cannot be set while integration is running"') + [(ERR, OK)]
    with analyzer(script) as wt:
        with pytest.raises(InstrumentError) as caught:
            wt.set_update_rate(0.3)
    assert (caught.value.instrument, caught.value.command) == ("analyzer", ":RATE 0.3")
    assert "813" in caught.value.detail and "integration is running" in caught.value.detail


def test_an_unusable_update_rate_is_refused_before_any_io() -> None:
    with analyzer([]) as wt:
        for rate in (0.0, -1.0, math.inf):
            with pytest.raises(InstrumentError, match="positive number of seconds: nothing was sent"):
                wt.set_update_rate(rate)


# -- ranges ---------------------------------------------------------------------------------------------


def test_ranges_are_the_stated_ones_ascending() -> None:
    shuffled = {"elements": {"ac": 1}, "ranges": {1: {"voltage_v": [300.0, 150.0], "current_a": [30.0, 5.0]}}}
    with analyzer([], options=shuffled) as wt:
        assert wt.ranges(1) == ((150.0, 300.0), (5.0, 30.0))


def test_set_ranges_sends_voltage_then_current_range() -> None:
    script = settings(":INPut:VOLTage:RANGe:ELEMent4 600", ":INPut:CURRent:RANGe:ELEMent4 0.2")
    with analyzer(script) as wt:
        wt.set_ranges(4, 600.0, 0.2)


@pytest.mark.parametrize(("element", "volts", "amps", "match"), [
    (1, 400.0, 30.0, r"ELEMent1 400'.*element 1 has no 400 V range \(it has 15, 30, 60, 100, 150, 300, 600, 1000 V\)"),
    (4, 600.0, 5.0, r"ELEMent4 5'.*element 4 has no 5 A range \(it has 0.005, 0.05, 0.2, 0.5, 1, 2 A\)"),
    (2, 300.0, 5.0, r"element 2 is not one the bench names \(ac: 1, dc: 4\)"),
])
def test_a_range_the_element_lacks_is_refused_before_any_io(element, volts, amps, match) -> None:
    with analyzer([]) as wt:
        with pytest.raises(InstrumentError, match=match):
            wt.set_ranges(element, volts, amps)
    assert wt.scripted_session.sent == []


# -- data updates ---------------------------------------------------------------------------------------


def test_read_waits_on_the_rigs_clock_for_the_upd_event_then_reads_the_values() -> None:
    script = (settings(":INPut:VOLTage:RANGe:ELEMent1 300", ":INPut:CURRent:RANGe:ELEMent1 30",
                       ":INPut:VOLTage:RANGe:ELEMent4 600", ":INPut:CURRent:RANGe:ELEMent4 2")
              + [(":STATus:EESR?", "0"), (":STATus:EESR?", "0"), (":STATus:EESR?", "4"), (":STATus:EESR?", "5"),
                 (":NUMeric:NORMal:VALue?", VALUES)])
    clock = FakeClock()
    with analyzer(script) as wt:
        wt.attach_clock(clock)
        wt.set_ranges(1, 300.0, 30.0)
        wt.set_ranges(4, 600.0, 2.0)
        update = wt.read([1, 4])
    assert clock.sleeps == [0.5 / 16] * 3  # the third poll saw UPD (bit 0; bit 2 alone is not an update)
    assert update == AnalyzerUpdate(t_s=2.5 / 32, interval_s=0.5, elements={
        1: ElementReading(230.1, 30.0, 6900.0, 6903.0, 50.0, 300.0, 30.0, 0.9995),
        4: ElementReading(400.0, -1.6325, -653.0, 653.0, None, 600.0, 2.0, None)})
    assert update.elements[1].power_range_w == 9000.0 and update.elements[4].power_range_w == 1200.0


def test_read_ignores_an_update_already_signalled_before_it_began() -> None:
    script = [(":STATus:EESR?", "1"), (":STATus:EESR?", "0"), (":STATus:EESR?", "1"),
              (":NUMeric:NORMal:VALue?", VALUES)]
    clock = FakeClock()
    clock.t = 100.0
    with analyzer(IDENTIFIED + script) as wt:
        wt.attach_clock(clock)
        wt.setup()
        update = wt.read([4])
    assert update.t_s == 100.0 + 1.5 / 32 and list(update.elements) == [4]
    assert update.elements[4].voltage_range_v == 1000.0  # set-up's highest ranges


def test_read_gives_up_after_three_intervals_and_a_second_without_an_update() -> None:
    polls = int(2.5 / (0.5 / 16))
    script = RANGED + [(":STATus:EESR?", "0")] * (1 + polls)
    clock = FakeClock()
    with analyzer(script) as wt:
        ranged(wt).attach_clock(clock)
        with pytest.raises(InstrumentError, match=r"EESR\?'.*no data update within 2.5 s .*HOLD"):
            wt.read([1])
    assert clock.t == 2.5 and len(clock.sleeps) == polls


def test_read_needs_known_elements_on_known_ranges_and_the_rigs_clock_before_any_io() -> None:
    with analyzer(setting(":INPut:VOLTage:RANGe:ELEMent1 300") + setting(":INPut:CURRent:RANGe:ELEMent1 30")) as wt:
        with pytest.raises(InstrumentError, match="element 1's ranges were never set"):
            wt.read([1])
        wt.set_ranges(1, 300.0, 30.0)
        sent = len(wt.scripted_session.sent)
        with pytest.raises(InstrumentError, match="no clock attached"):
            wt.read([1])
        wt.attach_clock(FakeClock())
        with pytest.raises(InstrumentError, match="element 3 is not one the bench names"):
            wt.read([1, 3])
    assert len(wt.scripted_session.sent) == sent


RANGED = settings(":INPut:VOLTage:RANGe:ELEMent1 300", ":INPut:CURRent:RANGe:ELEMent1 30",
                  ":INPut:VOLTage:RANGe:ELEMent4 600", ":INPut:CURRent:RANGe:ELEMent4 2")
UPDATE = [(":STATus:EESR?", "0"), (":STATus:EESR?", "1")]


def ranged(wt: YokogawaWT) -> YokogawaWT:
    """Both elements on fixed ranges (``RANGED``) and a fake clock attached: ready to ``read``."""
    wt.set_ranges(1, 300.0, 30.0)
    wt.set_ranges(4, 600.0, 2.0)
    wt.attach_clock(FakeClock())
    return wt


@pytest.mark.parametrize(("values", "match"), [
    ("2.3E+02,3.0E+01", r"2 values, the item table has 13"),
    (VALUES.replace("3.00000E+01", "OVER", 1), r"I of element 1 is 'OVER', not a number"),
    (VALUES.replace("3.00000E+01", "INF", 1), r"I of element 1 has no valid value \(over range"),
    (VALUES.replace("-1.63250E+00", "9.91E+37", 1), r"IDC of element 4 has no valid value"),
])
def test_a_wrong_reply_to_the_values_query_is_an_error_naming_it(values: str, match: str) -> None:
    with analyzer(RANGED + UPDATE + [(":NUMeric:NORMal:VALue?", values)]) as wt:
        with pytest.raises(InstrumentError, match=match) as caught:
            ranged(wt).read([1, 4])
    assert caught.value.command == ":NUMeric:NORMal:VALue?"


def test_an_ac_element_without_a_measured_frequency_reads_none() -> None:
    values = VALUES.replace("5.00000E+01", "NAN", 1)
    with analyzer(RANGED + UPDATE + [(":NUMeric:NORMal:VALue?", values)]) as wt:
        assert ranged(wt).read([1]).elements[1].frequency_hz is None


def test_a_wrong_reply_to_the_event_register_is_an_error_naming_it() -> None:
    with analyzer(RANGED + [(":STATus:EESR?", ":STATUS:EESR 0")]) as wt:
        with pytest.raises(InstrumentError, match=r"EESR\?'.*not a register value"):
            ranged(wt).read([1])


# -- integration ----------------------------------------------------------------------------------------


def test_start_integration_from_reset_sets_normal_mode_and_the_timer_then_starts() -> None:
    script = [(":INTEGrate:STATe?", "RESET")] + settings(":INTEGrate:MODE NORMal", ":INTEGrate:TIMer 1,1,5",
                                                          ":INTEGrate:STARt")
    with analyzer(script) as wt:
        wt.start_integration(3665)


@pytest.mark.parametrize("state", ["START", "STOP", "TIMEUP", "ERROR", "READY"])
def test_start_integration_outside_reset_is_refused_naming_the_state(state: str) -> None:
    with analyzer([(":INTEGrate:STATe?", state)]) as wt:
        with pytest.raises(InstrumentError, match=f"integration is {state}: reset_integration\\(\\) first"):
            wt.start_integration(60)


@pytest.mark.parametrize("timer", [-1, 1.5, 10000 * 3600 + 1, True])
def test_an_unusable_timer_is_refused_before_any_io(timer) -> None:
    with analyzer([]) as wt:
        with pytest.raises(InstrumentError, match="whole seconds"):
            wt.start_integration(timer)


@pytest.mark.parametrize(("method", "command", "state", "allowed"), [
    ("stop_integration", ":INTEGrate:STOP", "START", True),
    ("stop_integration", ":INTEGrate:STOP", "RESET", False),
    ("stop_integration", ":INTEGrate:STOP", "TIMEUP", False),
    ("reset_integration", ":INTEGrate:RESet", "STOP", True),
    ("reset_integration", ":INTEGrate:RESet", "TIMEUP", True),
    ("reset_integration", ":INTEGrate:RESet", "ERROR", True),
    ("reset_integration", ":INTEGrate:RESet", "RESET", True),
    ("reset_integration", ":INTEGrate:RESet", "START", False),
])
def test_integration_moves_follow_the_state_machine(method: str, command: str, state: str, allowed: bool) -> None:
    script = [(":INTEGrate:STATe?", state)] + (setting(command) if allowed else [])
    with analyzer(script) as wt:
        if allowed:
            getattr(wt, method)()
        else:
            with pytest.raises(InstrumentError, match=f"integration is {state}; .*nothing was sent") as caught:
                getattr(wt, method)()
            assert caught.value.command == command


def test_a_whole_integration_reset_start_stop_read_reset() -> None:
    integrated = VALUES.split(",")
    integrated[6:8] = ["6.90000E+02", "3.60000E+02"]  # WP, ITIME of element 1
    integrated[11:13] = ["-6.53000E+01", "3.60000E+02"]
    script = ([(":INTEGrate:STATe?", "RESET")] + settings(":INTEGrate:MODE NORMal", ":INTEGrate:TIMer 0,6,0",
                                                          ":INTEGrate:STARt")
              + [(":INTEGrate:STATe?", "TIMEUP"), (":NUMeric:NORMal:VALue?", ",".join(integrated)),
                 (":INTEGrate:STATe?", "TIMEUP")] + setting(":INTEGrate:RESet") + [(":INTEGrate:STATe?", "RESET")])
    with analyzer(script) as wt:
        wt.start_integration(360)
        assert wt.integration_state() == "TIMEUP"
        assert wt.integrated([1, 4]) == {1: (690.0, 360.0), 4: (-65.3, 360.0)}
        wt.reset_integration()
        assert wt.integration_state() == "RESET"


def test_a_wrong_integration_state_reply_is_an_error_naming_it() -> None:
    with analyzer([(":INTEGrate:STATe?", "RUNNING")]) as wt:
        with pytest.raises(InstrumentError, match=r"STATe\?'.*'RUNNING', not one of RESET, READY"):
            wt.integration_state()


def test_the_integrated_items_names_are_the_benches_to_change() -> None:
    options = {"elements": {"ac": 1}, "ranges": {1: AC_RANGES}, "energy_item": "WH", "time_item": "TIME"}
    script = [("*IDN?", WT3000_IDN), ("*RST", None), (":COMMunicate:HEADer OFF", None), (ERR, OK)] + settings(
        "*CLS", ":COMMunicate:REMote ON", ":COMMunicate:VERBose ON", ":NUMeric:FORMat ASCii", ":RATE 0.5",
        ":INPut:VOLTage:RANGe:ELEMent1 1000", ":INPut:CURRent:RANGe:ELEMent1 30", ":NUMeric:NORMal:NUMber 8",
        *(f":NUMeric:NORMal:ITEM{k} {item},1" for k, item in enumerate(["U", "I", "P", "S", "LAMBDA", "FU", "WH",
                                                                         "TIME"], start=1)),
        ":STATus:FILTer1 FALL")
    with analyzer(script, options=options) as wt:
        wt.setup()


# -- accuracy --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("frequency", "current_range", "spec"), [
    (None, 30.0, PowerSpec(0.0005, 0.001)),
    (30.0, 30.0, PowerSpec(0.0005, 0.0005)),
    (44.9, 30.0, PowerSpec(0.0005, 0.0005)),
    (45.0, 30.0, PowerSpec(0.0002, 0.0004)),
    (50.0, 0.5, PowerSpec(0.0002, 0.0004)),
    (66.0, 30.0, PowerSpec(0.0002, 0.0004)),
    (66.1, 30.0, PowerSpec(0.0005, 0.0005)),
    (1000.0, 30.0, PowerSpec(0.0005, 0.0005)),
    (1000.1, 30.0, PowerSpec(0.0015, 0.001)),
    (10000.0, 30.0, PowerSpec(0.0015, 0.001)),
])
def test_the_wt3000s_confirmed_power_accuracy_by_band(frequency, current_range, spec) -> None:
    with analyzer(IDENTIFIED) as wt:
        wt.setup()
        assert wt.power_spec(1, frequency, current_range) == spec


def test_the_wt3000s_2a_element_on_its_milliamp_ranges_has_its_own_45_66_hz_row() -> None:
    with analyzer(IDENTIFIED) as wt:
        wt.setup()
        assert wt.power_spec(4, 50.0, 0.2) == PowerSpec(0.0005, 0.0005)
        assert wt.power_spec(4, 50.0, 0.5) == PowerSpec(0.0002, 0.0004)


@pytest.mark.parametrize(("frequency", "match"), [(20.0, "no stated accuracy at 20 Hz"),
                                                  (20000.0, "no stated accuracy at 20000 Hz"),
                                                  (0.0, "a positive number of hertz")])
def test_no_accuracy_outside_the_stated_bands(frequency: float, match: str) -> None:
    with analyzer(IDENTIFIED) as wt:
        wt.setup()
        with pytest.raises(InstrumentError, match=match):
            wt.power_spec(1, frequency, 30.0)


def test_power_spec_refuses_a_range_the_element_lacks_and_an_unknown_model() -> None:
    with analyzer([]) as wt:
        with pytest.raises(InstrumentError, match="element 1 has no 40 A range"):
            wt.power_spec(1, 50.0, 40.0)
        with pytest.raises(InstrumentError, match="no power accuracy known for this model"):
            wt.power_spec(1, 50.0, 30.0)  # not identified yet, none stated


def test_the_wt3000_figures_give_the_efficiency_notes_worked_standard_uncertainties() -> None:
    """efficiency-sources.md 3.2, 100 % load: u(P_AC) 2.88 W on 300 V x 30 A, u(P_DC) 8.81 W on 600 V x 20 A."""
    with analyzer(IDENTIFIED) as wt:
        wt.setup()
        ac, dc = wt.power_spec(1, 50.0, 30.0), wt.power_spec(1, None, 20.0)
    assert ac.half_width_w(6900.0, 300.0 * 30.0, 6900.0) / math.sqrt(3) == pytest.approx(2.875, abs=0.005)
    assert dc.half_width_w(6530.0, 600.0 * 20.0, 6530.0) / math.sqrt(3) == pytest.approx(8.81, abs=0.005)


# -- the rest of the Instrument role ---------------------------------------------------------------------


def test_safe_off_sends_nothing_and_faults_read_the_wt_error_queue() -> None:
    script = [(ERR, '844,"Integration timer stopped"'), (ERR, OK)]
    with analyzer(script) as wt:
        wt.safe_off()
        assert wt.faults() == ['error queue: 844,"Integration timer stopped"']


# -- PowerSpec: the accuracy rule itself ------------------------------------------------------------------

WT310E_50HZ = PowerSpec(reading=0.001, range=0.0005, pf_zero=0.001)
"""WT310E, 45-66 Hz: 0.1 % of reading + 0.05 % of range, 0.1 % of S at lambda = 0 (IM WT310E-02EN)."""


def test_power_spec_the_manuals_worked_example() -> None:
    """IM WT310E-01EN App-23: 40 W at lambda = 0.5 (80 VA) on the 150 W range: +-0.1468 W."""
    assert WT310E_50HZ.half_width_w(40.0, 150.0, 80.0) == pytest.approx(0.1468, abs=5e-5)


def test_power_spec_at_unity_power_factor_is_reading_plus_range() -> None:
    assert WT310E_50HZ.half_width_w(100.0, 150.0, 100.0) == pytest.approx(0.1 + 0.075)
    assert WT310E_50HZ.half_width_w(-100.0, 150.0, 100.0) == pytest.approx(0.1 + 0.075)  # export: |P|
    assert WT310E_50HZ.half_width_w(0.0, 150.0, 0.0) == pytest.approx(0.075)  # no power: the range term
    assert WT310E_50HZ.half_width_w(100.0, 150.0, 99.99) == pytest.approx(0.175)  # S rounded below P: lambda 1


def test_power_spec_dc_term_has_no_power_factor() -> None:
    dc = PowerSpec(reading=0.0005, range=0.001)
    assert dc.half_width_w(-653.0, 1200.0, 653.0) == pytest.approx(0.0005 * 653.0 + 0.001 * 1200.0)


def test_power_spec_low_power_factor_terms() -> None:
    # lambda = 0: the stated error is pf_zero x S; the range term vanishes with lambda
    assert WT310E_50HZ.half_width_w(0.0, 150.0, 80.0) == pytest.approx(0.08)
    p, s = 60.0, 100.0  # lambda 0.6, tan(phi) 4/3
    expected = p * (0.001 + 0.0005 * 150.0 / s + (4.0 / 3.0) * 0.001)
    assert WT310E_50HZ.half_width_w(p, 150.0, s) == pytest.approx(expected)
    assert WT310E_50HZ.half_width_w(-p, 150.0, s) == pytest.approx(expected)


def test_power_spec_without_a_stated_power_factor_influence_refuses_below_unity() -> None:
    with pytest.raises(ValueError, match="power factor 0.9990 < 1, and this specification states no influence"):
        PowerSpec(0.0002, 0.0004).half_width_w(999.0, 9000.0, 1000.0)


def test_power_spec_refuses_an_unusable_range() -> None:
    with pytest.raises(ValueError, match="positive number of watts"):
        WT310E_50HZ.half_width_w(40.0, 0.0, 80.0)


# -- a peer that misbehaves ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("script", "call", "names"), [
    ([(":INTEGrate:STATe?", "GARBAGE")], lambda wt: wt.integration_state(), ":INTEGrate:STATe?"),
    ([(":NUMeric:NORMal:VALue?", "1.0,2.0")], lambda wt: wt.integrated([1, 4]), ":NUMeric:NORMal:VALue?"),
    ([(":NUMeric:NORMal:VALue?", ",".join(["x7"] * len(ITEMS)))], lambda wt: wt.integrated([1, 4]),
     ":NUMeric:NORMal:VALue?"),
])
def test_a_peer_answering_garbage_is_an_instrument_error_naming_the_command(script, call, names) -> None:
    """Not the analyzer the bench names (or one gone wrong): a clear error naming instrument and command."""
    with analyzer(script) as wt:
        with pytest.raises(InstrumentError) as raised:
            call(wt)
    assert "analyzer" in str(raised.value) and names in str(raised.value)
