"""The simulated Yokogawa WT3000 (rig/sim/instruments/yokogawa_wt_dialect.py) over its SCPI parser: ranges,
update rate and integration as strict as the manual, updates that take their time in virtual time, P the exact
average, errors inside the specification and drawn from the seed, and a range chosen too large worse than a good
one; and once through the real driver on the lab's socket."""

from __future__ import annotations

import math

import numpy as np
import pytest
from wire import DUTS

import rig.sim.instruments.analyzer_errors as errors_module
import rig.sim.instruments.yokogawa_wt_dialect as wt_module
from rig.core.clock import VirtualClock
from rig.sim.charger.ac_port import ALIGNED_CLOCK
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.connector import Side
from rig.sim.instruments.dc_source import DcRatings
from rig.sim.instruments.yokogawa_wt_dialect import SPEC, YokogawaWT3000
from rig.sim.model import LabModel
from rig.sim.simulated_lab import SimulatedLab

OK = '0,"No error"'
COMPLIANT = load_dut_profile(DUTS / "compliant.yaml")


def make_lab(seed: int = 1) -> LabModel:
    model = LabModel(COMPLIANT, seed=seed, clock=ALIGNED_CLOCK)
    model.dc_bus.source.rate(DcRatings(500.0, 50.0, 1.0, 600.0))
    return model


def analyzer(model: LabModel) -> YokogawaWT3000:
    wt = YokogawaWT3000(model, ac_element=1, dc_element=4)
    assert wt.execute(":COMM:HEAD OFF") is None
    return wt


def setting(wt: YokogawaWT3000, command: str) -> str:
    wt.execute(command)
    return wt.execute(":STAT:ERR?")  # type: ignore[return-value]


def values(wt: YokogawaWT3000, *items: str) -> list[float]:
    """Set the item table to ``items`` ("P,4", ...) and read the last completed update."""
    assert setting(wt, f":NUM:NORM:NUM {len(items)}") == OK
    for k, item in enumerate(items, start=1):
        assert setting(wt, f":NUM:NORM:ITEM{k} {item}") == OK
    return [float(v) for v in str(wt.execute(":NUM:NORM:VAL?")).split(",")]


def charging_session(model: LabModel, t: float, volts: float = 350.0) -> None:
    """Grid on, a vehicle plugged, the battery at ``volts``, a session running from ``t`` with no current yet."""
    model.grid.set_voltage(t, 230.0)
    model.grid.set_relay(t, True)
    model.grid.set_output(t, True)
    source = model.dc_bus.source
    source.set_battery(t, volts, 0.0)
    source.set_output(t, True)
    model.dc_bus.set_contactor(t, True)
    model.chademo.io.session(t, True)


@pytest.fixture
def exact(monkeypatch):
    """The analyzer without its errors (gain, offset, noise): what it computes is the interval's exact value."""
    monkeypatch.setattr(errors_module, "DRAWN_SHARE", 0.0)
    monkeypatch.setattr(errors_module, "NOISE_SHARE", 0.0)


# -- commands as strict as the manual ---------------------------------------------------------------------


def test_identity_and_its_error_queue() -> None:
    wt = analyzer(make_lab())
    assert wt.execute("*IDN?").startswith("YOKOGAWA,")
    assert wt.execute(":STATus:ERRor?") == OK
    wt.execute("SYST:ERR?")  # not a WT command
    wt.execute(":RATE 0.3")
    assert wt.execute(":STAT:ERR?") == '113,"Undefined header"'
    assert wt.execute(":STAT:ERR?") == '224,"Illegal parameter value"'
    assert wt.execute(":STAT:ERR?") == OK


@pytest.mark.parametrize(("command", "query", "kept"), [
    (":INP:VOLT:RANG:ELEM1 250", ":INP:VOLT:RANG:ELEM1?", "1.00000E+03"),
    (":INPut:VOLTage:RANGe:ELEMent4 1200", ":INP:VOLT:RANG:ELEM4?", "1.00000E+03"),
    (":INP:CURR:RANG:ELEM4 25", ":INP:CURR:RANG:ELEM4?", "3.00000E+01"),
    (":INP:CURR:RANG:ELEM1 0.2", ":INP:CURR:RANG:ELEM1?", "3.00000E+01"),
    (":RATE 0.3", ":RATE?", "5.00000E-01"),
])
def test_a_value_that_is_not_one_of_the_units_is_refused_and_the_old_one_kept(command, query, kept) -> None:
    wt = analyzer(make_lab())
    assert setting(wt, command).startswith("224,")
    assert wt.execute(query) == kept


def test_ranges_and_rates_take_long_and_short_forms_and_units() -> None:
    wt = analyzer(make_lab())
    for command in (":INPut:VOLTage:RANGe:ELEMent1 300V", ":INP:CURR:RANG:ELEM1 500mA", ":INP:CURR:RANG:ELEM4 20",
                    ":RATE 100MS", ":inp:volt:rang:elem4 6.0E+02"):
        assert setting(wt, command) == OK, command
    assert wt.execute(":INP:VOLT:RANG:ELEM1?;:INP:CURR:RANG:ELEM1?") == "3.00000E+02;5.00000E-01"
    assert wt.execute(":RATE?") == "1.00000E-01"
    assert wt.execute(":INP:VOLT:RANG:ELEM4?") == "6.00000E+02"
    assert setting(wt, ":INP:VOLT:RANG:ELEM5 300").startswith("113,")  # a WT3000 has four elements


def test_headers_and_verbose_forms() -> None:
    wt = YokogawaWT3000(make_lab())
    assert wt.execute(":RATE?") == ":RATE 5.00000E-01"  # headers on at power-on
    assert wt.execute(":INP:VOLT:RANG:ELEM1?") == ":INP:VOLT:RANG:ELEM1 1.00000E+03"
    wt.execute(":COMM:VERB ON")
    assert wt.execute(":INP:VOLT:RANG:ELEM1?") == ":INPUT:VOLTAGE:RANGE:ELEMENT1 1.00000E+03"
    assert wt.execute(":INTEG:STAT?") == ":INTEGRATE:STATE RESET"
    wt.execute("*RST")
    assert wt.execute(":COMM:HEAD?") == ":COMMUNICATE:HEADER 1"  # *RST leaves the communication settings alone
    wt.execute(":COMM:HEAD OFF;VERB OFF")
    assert wt.execute(":INTEG:STAT?") == "RES"


def test_item_functions_and_elements_are_checked() -> None:
    wt = analyzer(make_lab())
    assert setting(wt, ":NUM:NORM:ITEM3 WATTS,1").startswith("224,")
    assert setting(wt, ":NUM:NORM:ITEM3 P,5").startswith("224,")
    assert setting(wt, ":NUM:NORM:ITEM256 P,1").startswith("113,")
    assert setting(wt, ":NUM:NORM:NUM 0").startswith("224,")
    assert setting(wt, ":NUM:FORM FLOAT").startswith("224,")  # only ASCII is simulated
    assert setting(wt, ":NUM:FORM ASC") == OK
    assert setting(wt, ":NUM:NORM:ITEM3 LAMBDA,4") == OK and wt.execute(":NUM:NORM:ITEM3?") == "LAMBDA,4"


# -- the integration state machine ------------------------------------------------------------------------------


def test_the_integration_state_machine_and_error_813() -> None:
    model = make_lab()
    wt = analyzer(model)
    assert wt.execute(":INTEG:STAT?") == "RES"
    wt.execute(":COMM:VERB ON")
    assert setting(wt, ":INTEG:STOP").startswith("844,")  # STOP only from START
    assert setting(wt, ":INTEG:MODE NORM;TIM 0,0,0") == OK
    assert setting(wt, ":INTEG:MODE CONT").startswith("224,")
    assert setting(wt, ":INTEG:STAR") == OK and wt.execute(":INTEG:STAT?") == "START"
    assert setting(wt, ":INTEG:STAR").startswith("844,")
    assert setting(wt, ":INTEG:RES").startswith("844,")  # not while it runs
    for command in (":RATE 1", ":INP:VOLT:RANG:ELEM1 300", ":INP:CURR:RANG:ELEM4 5", ":INTEG:MODE NORM",
                    ":INTEG:TIM 0,1,0"):
        assert setting(wt, command) == '813,"Cannot be set while integration is running"', command
    assert wt.execute(":RATE?;:INP:VOLT:RANG:ELEM1?") == "5.00000E-01;1.00000E+03"  # kept
    model.advance_to(2.0)
    assert setting(wt, ":INTEG:STOP") == OK and wt.execute(":INTEG:STAT?") == "STOP"
    assert setting(wt, ":RATE 1").startswith("813,")  # only in RESET
    model.advance_to(5.0)
    assert setting(wt, ":INTEG:STAR") == OK  # resumes from STOP
    model.advance_to(6.0)
    assert values(wt, "ITIME,1") == [pytest.approx(3.0)]  # 0-2 s and 5-6 s
    assert setting(wt, ":INTEG:STOP;RES") == OK and wt.execute(":INTEG:STAT?") == "RESET"
    assert setting(wt, ":RATE 1") == OK


def test_a_timer_stops_it_at_timeup_and_the_falling_itg_edge_is_an_event() -> None:
    model = make_lab()
    wt = analyzer(model)
    wt.execute(":COMM:VERB ON")
    assert setting(wt, ":STAT:FILT2 FALL;:INTEG:MODE NORM;:INTEG:TIM 0,0,10") == OK
    assert wt.execute(":INTEG:TIM?") == "0,0,10"
    model.advance_to(1.0)
    assert setting(wt, ":INTEG:STAR") == OK
    model.advance_to(10.9)
    assert wt.execute(":INTEG:STAT?") == "START" and int(wt.execute(":STAT:EESR?")) & 2 == 0
    model.advance_to(11.0)
    assert wt.execute(":INTEG:STAT?") == "TIMEUP"
    assert int(wt.execute(":STAT:EESR?")) & 2 == 2
    assert int(wt.execute(":STAT:EESR?")) == 0  # reading cleared it
    model.advance_to(20.0)
    assert values(wt, "ITIME,4") == [pytest.approx(10.0, abs=1e-9)]
    assert setting(wt, ":INTEG:STAR").startswith("844,")
    assert setting(wt, ":INTEG:RES") == OK


# -- updates in virtual time ----------------------------------------------------------------------------------------


def test_an_update_is_there_only_once_its_interval_has_passed() -> None:
    model = make_lab()
    wt = analyzer(model)
    assert setting(wt, ":STAT:FILT1 FALL;:RATE 0.25") == OK
    model.advance_to(0.2)
    assert wt.execute(":STAT:EESR?") == "0"
    assert all(math.isnan(v) for v in values(wt, "U,1", "P,4"))  # no update yet: NAN
    model.advance_to(0.249)
    assert wt.execute(":STAT:EESR?") == "0"
    model.advance_to(0.25)
    assert int(wt.execute(":STAT:EESR?")) & 1 == 1
    assert not any(math.isnan(v) for v in values(wt, "U,1", "P,4"))
    assert wt.execute(":STAT:EESR?") == "0"
    model.advance_to(0.3)
    assert wt.execute(":STAT:EESR?") == "0"
    model.advance_to(0.5)
    assert wt.execute(":STAT:EESR?") == "1"


def test_a_range_change_restarts_the_cycle_and_the_last_update_stays_readable(exact) -> None:
    model = make_lab()
    wt = analyzer(model)
    charging_session(model, 0.0)
    model.chademo.io.set_current(0.0, 10.0)
    model.advance_to(0.6)
    before = values(wt, "P,4")[0]
    assert before == pytest.approx(3500.0)
    assert setting(wt, ":STAT:FILT1 FALL") == OK
    wt.execute(":STAT:EESR?")
    assert setting(wt, ":INP:CURR:RANG:ELEM4 20") == OK
    model.chademo.io.set_current(0.6, 20.0)
    model.advance_to(1.0)
    assert values(wt, "P,4")[0] == before and wt.execute(":STAT:EESR?") == "0"  # 0.6 + 0.5 s not yet
    model.advance_to(1.1)
    assert values(wt, "P,4")[0] == pytest.approx(7000.0) and wt.execute(":STAT:EESR?") == "1"


def test_p_is_the_exact_average_over_the_interval_on_both_sides(exact) -> None:
    model = make_lab()
    wt = analyzer(model)
    assert setting(wt, ":RATE 1") == OK
    charging_session(model, 0.0)
    port = model.chademo.io
    steps = [(0.0, 4.0), (0.3, 12.0), (0.55, -8.0), (0.9, 20.0)]
    for t, amps in steps:
        model.advance_to(t)
        port.set_current(t, amps)
    model.advance_to(1.0)
    p_dc, u_dc, i_dc = values(wt, "P,4", "UDC,4", "IDC,4")
    edges = [t for t, _ in steps] + [1.0]
    dc = sum((b - a) * 350.0 * amps for (a, amps), b in zip(steps, edges[1:]))
    ac = sum((b - a) * COMPLIANT.losses.ac_power_into_w(350.0 * amps, 350.0) for (a, amps), b in zip(steps, edges[1:]))
    assert p_dc == pytest.approx(dc, rel=1e-5)  # the reply's 6 digits
    assert u_dc == pytest.approx(350.0, rel=1e-5)
    assert i_dc == pytest.approx(dc / 350.0, rel=1e-5)
    p_ac, u_ac, f_ac = values(wt, "P,1", "U,1", "FU,1")
    assert p_ac == pytest.approx(ac, rel=1e-5)  # into the charger: positive while it charges
    assert u_ac == pytest.approx(230.0, rel=1e-5) and f_ac == pytest.approx(50.0, rel=1e-5)
    assert math.isnan(values(wt, "FU,4")[0])


def test_discharge_reads_negative_on_both_elements_and_wp_is_the_exact_energy(exact) -> None:
    model = make_lab()
    wt = analyzer(model)
    charging_session(model, 0.0, volts=380.0)
    port = model.chademo.io
    assert setting(wt, ":INTEG:STAR") == OK
    port.set_current(0.0, -16.0)
    model.advance_to(30.0)
    port.set_current(30.0, -8.0)
    model.advance_to(60.0)
    assert setting(wt, ":INTEG:STOP") == OK
    model.advance_to(61.0)
    dc_wh = -380.0 * (16.0 * 30.0 + 8.0 * 30.0) / 3600.0
    ac_wh = -sum(30.0 * -COMPLIANT.losses.ac_power_into_w(-380.0 * a, 380.0) for a in (16.0, 8.0)) / 3600.0
    wp_dc, wp_ac, p_ac, p_dc = values(wt, "WP,4", "WP,1", "P,1", "P,4")
    assert wp_dc == pytest.approx(dc_wh, rel=1e-5) and wp_ac == pytest.approx(ac_wh, rel=1e-5)
    assert wp_ac < 0 and wp_dc < 0 and abs(wp_ac) < abs(wp_dc)  # it feeds the grid less than the vehicle gives
    assert p_dc == pytest.approx(-380.0 * 8.0, rel=1e-5) and p_ac < 0


def test_standby_reads_positive_on_the_ac_element(exact) -> None:
    model = make_lab()
    wt = analyzer(model)
    model.grid.set_voltage(0.0, 230.0)
    model.grid.set_relay(0.0, True)
    model.grid.set_output(0.0, True)
    model.charger.limit_export(0.0, 0.0)
    model.advance_to(100.0)
    assert values(wt, "P,1")[0] == pytest.approx(6.0, rel=1e-4)  # nothing plugged
    model.connector.drive(100.0, "proximity", True, by=Side.VEHICLE)
    model.advance_to(110.0)
    assert values(wt, "P,1")[0] == pytest.approx(11.0, rel=1e-4)


# -- errors ---------------------------------------------------------------------------------------------------------


def _dc_error_w(seed: int, voltage_range: float, current_range: float, amps: float = 2.0) -> tuple[float, float]:
    """(reading less the exact value, the spec's limit) of P on the DC element at 350 V x ``amps``."""
    model = make_lab(seed)
    wt = analyzer(model)
    assert setting(wt, f":INP:VOLT:RANG:ELEM4 {voltage_range};:INP:CURR:RANG:ELEM4 {current_range}") == OK
    charging_session(model, 0.0)
    model.chademo.io.set_current(0.0, amps)
    model.advance_to(1.0)
    exact_w = 350.0 * amps
    reading, of_range = SPEC[("DC", "P")]
    return values(wt, "P,4")[0] - exact_w, reading * exact_w + of_range * voltage_range * current_range


def test_errors_are_inside_the_specification_on_every_seed_and_range() -> None:
    for seed in range(1, 13):
        for ranges in ((1000.0, 30.0), (600.0, 5.0), (600.0, 2.0)):
            error, limit = _dc_error_w(seed, *ranges)
            assert abs(error) <= 0.9 * limit, (seed, ranges)


def test_errors_are_drawn_from_the_seed_reproducibly() -> None:
    assert _dc_error_w(7, 600.0, 5.0) == _dc_error_w(7, 600.0, 5.0)
    assert _dc_error_w(7, 600.0, 5.0)[0] != _dc_error_w(8, 600.0, 5.0)[0]


def test_a_range_chosen_too_large_measures_worse_than_a_good_one() -> None:
    large = [abs(_dc_error_w(seed, 1000.0, 30.0)[0]) for seed in range(1, 21)]
    good = [abs(_dc_error_w(seed, 600.0, 2.0)[0]) for seed in range(1, 21)]
    assert np.mean(large) > 5.0 * np.mean(good)


def test_over_range_reads_inf() -> None:
    model = make_lab()
    wt = analyzer(model)
    assert setting(wt, ":INP:CURR:RANG:ELEM4 5") == OK
    charging_session(model, 0.0)
    model.chademo.io.set_current(0.0, 10.0)
    model.advance_to(1.0)
    assert values(wt, "P,4", "IDC,4") == [math.inf, math.inf]


# -- through the real driver ------------------------------------------------------------------------------------------


def test_the_real_driver_reads_both_elements_and_integrates_on_the_labs_socket() -> None:
    from drivers.power_analyzer.yokogawa_wt import YokogawaWT

    ranges = {"voltage_v": list(wt_module.VOLTAGE_RANGES_V), "current_a": list(wt_module.CURRENT_RANGES_A)}
    options = {"elements": {"ac": 1, "dc": 4}, "update_rate_s": 0.5, "ranges": {1: ranges, 4: ranges}}
    with SimulatedLab(COMPLIANT, seed=3, clock=ALIGNED_CLOCK) as lab:
        resource = lab.serve("yokogawa_wt", options)
        model = lab.model
        driver = YokogawaWT(resource, name="analyzer", options=options)
        try:
            driver.identify()
            driver.setup()
            clock = VirtualClock(lab)
            driver.attach_clock(clock)
            with lab.lock:
                model.dc_bus.source.rate(DcRatings(500.0, 50.0, 1.0, 600.0))  # as the battery emulator's dialect does
                charging_session(model, model.now)
                model.chademo.io.set_current(model.now, 20.0)
            driver.set_ranges(1, 300.0, 30.0)
            driver.set_ranges(4, 600.0, 20.0)
            update = driver.read([1, 4])
            ac, dc = update.elements[1], update.elements[4]
            assert dc.power_w == pytest.approx(7000.0, rel=0.002)
            assert ac.power_w == pytest.approx(COMPLIANT.losses.ac_power_into_w(7000.0, 350.0), rel=0.002)
            assert dc.power_w / ac.power_w == pytest.approx(COMPLIANT.losses.efficiency("charge", 7000.0, 350.0),
                                                            abs=0.002)
            driver.start_integration(10)
            clock.sleep(12.0)
            assert driver.integration_state() == "TIMEUP"
            (wh_ac, s_ac), (wh_dc, s_dc) = (driver.integrated([1, 4])[n] for n in (1, 4))
            assert s_ac == s_dc == pytest.approx(10.0)
            assert wh_dc == pytest.approx(7000.0 * 10.0 / 3600.0, rel=0.002)
            driver.reset_integration()
        finally:
            driver.close()
