"""The simulated instruments are as strict as the manuals: over TCP, the old command orders now fail.

Each test sends what the rig's drivers sent before (joined error queries,
list edits in LIST mode, no relay, triggering before the scope is armed,
AUTO sweep, asking the scope for points it will not give, decoding with the
default byte order) and shows the instrument refusing or misleading it, next
to the order the drivers use now.
"""

from __future__ import annotations

import numpy as np
import pytest
from wire import CONNECTED_AT, OK, SCOPE_SETUP, arm, energise, load_list, load_ov2_step, run_bit, setting

from rig.sim.instruments.chroma_61800_dialect import QUESTIONABLE_BITS
from rig.sim.instruments.infiniivision_dialect import AUTO_TRIGGER_S
from rig.sim.simulated_lab import SimulatedLab

OCP = QUESTIONABLE_BITS["OCP"]


def errors(session) -> list[str]:
    """Drain the error queue."""
    found = []
    while (reply := session.query("SYST:ERR?")) != OK:
        found.append(reply)
    return found


# -- 1. a list is edited stopped, in FIXED mode ------------------------------------------------------------


def test_the_old_list_order_editing_in_list_mode_is_a_settings_conflict(grid, lab: SimulatedLab) -> None:
    energise(grid, lab)
    assert setting(grid, "OUTP:MODE LIST") == OK
    assert setting(grid, "LIST:DWEL 500,1500").startswith("-221,")  # the old driver's order
    assert lab.model.grid.program.dwell_s == []


def test_a_list_cannot_be_edited_or_left_while_it_runs(grid, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(21.2)
    assert setting(grid, "OUTP:MODE FIXED").startswith("-221,")  # TRIG OFF first
    assert lab.model.grid.mode == "LIST"
    for command in ("TRIG OFF", "OUTP:MODE FIXED", "LIST:DWEL 100,100"):  # the manual's order
        assert setting(grid, command) == OK
    assert lab.model.grid.program.dwell_s == [0.1, 0.1]


def test_trigger_on_is_refused_outside_list_mode(grid, lab: SimulatedLab) -> None:
    energise(grid, lab)
    for command in ("TRIG OFF", "OUTP:MODE FIXED", "LIST:DWEL 500", "LIST:VOLT:AC:STAR 230", "LIST:VOLT:AC:END 230",
                    "LIST:FREQ:STAR 50", "LIST:FREQ:END 50"):
        assert setting(grid, command) == OK
    assert setting(grid, "TRIG ON").startswith("-221,")
    assert setting(grid, "OUTP:MODE LIST") == OK
    assert setting(grid, "TRIG ON") == OK
    assert lab.model.grid.trigger_times == [21.0]


# -- 2. the list state is TRIG:STATE? (OFF or RUNNING) ----------------------------------------------------------


def test_the_list_state_query_is_trig_state(grid, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    assert grid.query("TRIG:STATE?") == "OFF"
    assert setting(grid, "TRIG ON") == OK
    assert grid.query("TRIG:STATE?") == "RUNNING"
    lab.advance_to(23.0)
    assert grid.query("TRIG:STATE?") == "OFF"
    grid.write("TRIG?")  # the old query: not a query of this instrument, so no answer
    assert errors(grid) == ['-113,"Undefined header;TRIG?"']


def test_the_rms_voltage_is_meas_volt_acdc_the_61600_trees_form(grid, lab: SimulatedLab) -> None:
    energise(grid, lab)
    assert float(grid.query("MEAS:VOLT:ACDC?")) == pytest.approx(230.0, abs=0.1)
    assert float(grid.query("FETC:VOLT:ACDC?")) == pytest.approx(230.0, abs=0.1)
    grid.write("MEAS:VOLT:AC?")  # the old driver's query: not in the manual's tree, so no answer
    assert errors(grid) == ['-113,"Undefined header;MEAS:VOLT:AC?"']


# -- 3. output relay and phase selection ---------------------------------------------------------------------------


def test_output_on_without_the_relay_leaves_the_terminals_dead(grid, lab: SimulatedLab) -> None:
    assert setting(grid, "SOUR:VOLT:LEV:IMM:AMPL:AC 230") == OK
    assert setting(grid, "OUTP:STAT ON") == OK  # the old driver's output on: no relay
    lab.advance_to(60.0)
    assert float(grid.query("MEAS:VOLT:ACDC?")) == pytest.approx(0.0, abs=0.1)
    assert not lab.model.charger.conduction.intervals  # the charger never saw a grid
    assert setting(grid, "OUTP:REL ON") == OK  # live from 60 s: connected 20.1 s later
    lab.advance_to(81.0)
    assert float(grid.query("MEAS:VOLT:ACDC?")) == pytest.approx(230.0, abs=0.1)
    assert lab.model.charger.conduction.intervals == [[pytest.approx(60.0 + CONNECTED_AT, abs=1e-9), None]]


def test_opening_the_relay_removes_the_voltage_with_the_output_still_on(grid, lab: SimulatedLab) -> None:
    energise(grid, lab, t=25.0)
    assert setting(grid, "OUTP:REL OFF") == OK
    assert grid.query("OUTP?") == "ON"
    assert lab.model.voltage.at(25.0) == 0.0
    assert not lab.model.charger.conduction.conducting_at(25.0)


def test_measurements_read_the_selected_phase_and_settings_need_the_phases_coupled(grid, lab: SimulatedLab) -> None:
    for command in ("INST:PHAS THREE", "INST:COUP NONE", "INST:NSEL 2", "SOUR:VOLT:LEV:IMM:AMPL:AC 230"):
        assert setting(grid, command) == OK
    assert lab.model.grid.voltage_setpoint == 0.0  # programmed phase 2, not the charger's L1
    for command in ("INST:COUP ALL", "SOUR:VOLT:LEV:IMM:AMPL:AC 230", "SOUR:FREQ 50", "OUTP:REL ON", "OUTP:STAT ON"):
        assert setting(grid, command) == OK
    lab.advance_to(25.0)
    assert float(grid.query("MEAS:CURR:AC?")) == pytest.approx(0.0, abs=0.05)  # phase 2 carries nothing
    assert setting(grid, "INST:NSEL 1") == OK
    assert float(grid.query("MEAS:CURR:AC?")) == pytest.approx(6000.0 / 230.0, abs=0.05)
    assert setting(grid, "INST:PHAS SINGLE").startswith("-221,")  # not with the output on


# -- 4. coupled commands run at the end of the message: the joined error query misses them ---------------------------


def test_the_joined_error_query_misses_a_coupled_error_and_blames_the_next_command(grid, lab: SimulatedLab) -> None:
    assert grid.query("SOUR:VOLT:LEV:IMM:AMPL:AC 400;:SYST:ERR?") == OK  # the old driver's form: "no error"
    assert grid.query("SOUR:FREQ 50;:SYST:ERR?").startswith("-222,")  # ... then pinned on the frequency
    assert lab.model.grid.voltage_setpoint == 0.0


def test_the_error_query_as_its_own_message_catches_the_coupled_error_at_its_command(grid) -> None:
    assert grid.query("SOUR:VOLT:LEV:IMM:AMPL:AC 400\nSYST:ERR?").startswith("-222,")
    assert grid.query("SOUR:FREQ 50\nSYST:ERR?") == OK


@pytest.mark.parametrize("command", ["SOUR:FREQ 2000", "SOUR:CURR:LIM 500", "VOLT:RANG MID"])
def test_frequency_current_limit_and_range_are_coupled_too(grid, command: str) -> None:
    assert grid.query(f"{command};:SYST:ERR?") == OK
    assert grid.query("SYST:ERR?") != OK


def test_a_range_and_a_voltage_in_one_message_are_checked_together(grid) -> None:
    assert setting(grid, "VOLT:RANG LOW") == OK
    assert setting(grid, "SOUR:VOLT:LEV:IMM:AMPL:AC 230").startswith("-222,")  # above the 150 V range
    assert setting(grid, "VOLT:RANG HIGH;:SOUR:VOLT:LEV:IMM:AMPL:AC 230") == OK


# -- 5. the source's own current limit trips it at the exact instant ------------------------------------------------------


def test_a_26_a_charger_on_a_10_a_limit_trips_the_source_as_it_starts_exporting(grid, lab: SimulatedLab) -> None:
    assert setting(grid, "SOUR:CURR:LIM 10") == OK
    energise(grid, lab, t=30.0)
    g, charger = lab.model.grid, lab.model.charger
    assert charger.conduction.intervals == [[pytest.approx(CONNECTED_AT, abs=1e-9), pytest.approx(CONNECTED_AT, abs=1e-9)]]
    assert g.output_on is False and g.fault is not None and g.fault.startswith("OCP")
    assert grid.query("OUTP?") == "OFF"
    assert int(grid.query("STAT:QUES:COND?")) & OCP
    assert errors(grid)[0].startswith("-300,")
    assert setting(grid, "OUTP:STAT ON").startswith("-221,")  # latched
    assert setting(grid, "OUTP:PROT:CLE") == OK
    assert int(grid.query("STAT:QUES:COND?")) == 0


def test_the_trip_is_on_the_sources_millisecond_grid_during_a_ramp(grid, lab: SimulatedLab) -> None:
    """29 A limit, 6 kW export: over the limit below 206.897 V. The list ramps 230 -> 180 V from 21.5 s at
    50 V/s, so the current crosses the limit at 21.962069 s; the source sees it at 21.963 s."""
    assert setting(grid, "SOUR:CURR:LIM 29") == OK
    energise(grid, lab)
    load_list(grid, dwell="500,1000", v_start="230,230", v_end="230,180", f="50,50")
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(21.962)
    assert lab.model.grid.output_on and lab.model.current_rms_at(21.962) < 29.0
    lab.advance_to(23.0)
    (trip,) = lab.model.charger.conduction.intervals[-1][1:]
    assert trip == pytest.approx(21.963, abs=1e-9)
    assert not lab.model.grid.output_on
    assert lab.model.charger.trips == []  # the source opened before the charger's own U/V stage


def _ramp_over_29_a(grid, lab: SimulatedLab, delay_s: str, *, back_at_s: float | None = None) -> None:
    """As the ramp above (over 29 A from 21.962069 s, seen at 21.963 s), with the trip delay ``delay_s``; with
    ``back_at_s`` the list steps back to 230 V then (under the limit again)."""
    assert setting(grid, "SOUR:CURR:LIM 29") == OK
    energise(grid, lab)
    assert setting(grid, f"SOUR:CURR:DEL {delay_s}") == OK
    if back_at_s is None:
        load_list(grid, dwell="500,1000,5000", v_start="230,230,180", v_end="230,180,180", f="50,50,50")
    else:
        hold_ms = round((back_at_s - 22.5) * 1000)
        load_list(grid, dwell=f"500,1000,{hold_ms},5000", v_start="230,230,180,230", v_end="230,180,180,230",
                  f="50,50,50,50")
    assert setting(grid, "TRIG ON") == OK


def test_a_stored_trip_delay_holds_the_trip_until_the_current_has_been_over_for_that_long(grid, lab) -> None:
    """A 1.5 s delay (the unit's own setting, which the rig's driver zeroes): the trip comes 1.5 s after the
    first evaluation over the limit, on the millisecond grid."""
    _ramp_over_29_a(grid, lab, "1.5")
    lab.advance_to(23.4)
    assert lab.model.grid.output_on
    lab.advance_to(26.0)
    (trip,) = lab.model.charger.conduction.intervals[-1][1:]
    assert trip == pytest.approx(21.963 + 1.5, abs=1e-9)


def test_an_over_current_shorter_than_the_stored_delay_does_not_trip(grid, lab) -> None:
    """Over the limit from 21.963 s to 23.0 s (1.04 s) with a 1.5 s delay: no trip, the source runs on."""
    _ramp_over_29_a(grid, lab, "1.5", back_at_s=23.0)
    lab.advance_to(30.0)
    assert lab.model.grid.output_on and lab.model.grid.fault is None


def test_a_limit_above_the_chargers_rating_never_trips(grid, lab: SimulatedLab) -> None:
    assert setting(grid, "SOUR:CURR:LIM 40") == OK
    energise(grid, lab, t=200.0)
    assert lab.model.grid.output_on and lab.model.grid.fault is None


# -- 6. a channel that is not displayed acquires nothing -----------------------------------------------------------------------


def test_after_reset_only_channel_1_is_displayed(scope) -> None:
    assert setting(scope, "*RST") == OK
    assert (scope.query(":CHAN1:DISP?"), scope.query(":CHAN2:DISP?")) == ("1", "0")


def test_an_undisplayed_channel_yields_no_data(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    old_setup = [c for c in SCOPE_SETUP if not c.startswith(":CHAN2:DISP")]  # the old driver displayed nothing
    arm(scope, setup=old_setup)
    lab.advance_to(21.1)
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(23.0)
    assert setting(scope, ":WAV:SOUR CHAN2") == OK
    scope.write(":WAV:PRE?")  # a failed query sends nothing back
    scope.write(":WAV:DATA?")
    assert [e[:5] for e in errors(scope)] == ["-221,", "-221,"]
    assert setting(scope, ":WAV:SOUR CHAN1") == OK
    assert int(scope.query(":WAV:PRE?").split(",")[2]) == 1000


# -- 7. armed only once the pre-trigger memory has filled; an early trigger is missed ----------------------------------------


def test_the_scope_arms_after_its_pre_trigger_span_and_the_arm_event_clears_on_read(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    assert scope.query(":AER?") == "+0"
    arm(scope, range_s=1.5, pre_s=0.5)  # at 21.0
    lab.advance_to(21.49)
    assert scope.query(":AER?") == "+0"
    lab.advance_to(21.5)
    assert scope.query(":AER?") == "+1"
    assert scope.query(":AER?") == "+0"  # read: cleared


def test_a_trigger_before_the_scope_is_armed_is_missed(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    arm(scope, range_s=1.5, pre_s=0.5)
    assert setting(grid, "TRIG ON") == OK  # the old procedure: trigger right after :SINGle, at 21.0
    lab.advance_to(30.0)
    assert run_bit(scope)  # still waiting: NORMal sweep, the only trigger came too early
    load_ov2_step(grid)
    assert setting(grid, "TRIG ON") == OK  # a later trigger at 30.0 is taken
    lab.advance_to(31.0)
    assert not run_bit(scope)
    assert setting(scope, ":WAV:SOUR CHAN1") == OK
    assert float(scope.query(":WAV:PRE?").split(",")[5]) == pytest.approx(-0.5)


def test_an_unread_arm_event_of_an_earlier_acquisition_stays_latched(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    arm(scope, pre_s=0.1)
    lab.advance_to(21.5)
    arm(scope, pre_s=0.5)  # at 21.5; armed at 22.0
    assert scope.query(":AER?") == "+1"  # stale: read it away before :SINGle
    assert scope.query(":AER?") == "+0"
    lab.advance_to(22.0)
    assert scope.query(":AER?") == "+1"


# -- 8. AUTO sweep makes a capture that is not aligned to the disturbance ------------------------------------------------------


def test_auto_sweep_triggers_by_itself_and_misaligns_the_capture(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    auto = [c if c != ":TRIG:SWE NORM" else ":TRIG:SWE AUTO" for c in SCOPE_SETUP]  # AUTO: the power-on default
    arm(scope, range_s=1.5, pre_s=0.5, setup=auto)
    lab.advance_to(21.7)  # armed at 21.5; no trigger for AUTO_TRIGGER_S
    assert setting(grid, "TRIG ON") == OK  # the disturbance at 21.7
    lab.advance_to(23.0)
    assert not run_bit(scope)  # complete, but triggered at 21.55 by the sweep, not by the grid simulator
    assert scope.query(":TER?") == "+1"
    assert 21.5 + AUTO_TRIGGER_S < 21.7


def test_normal_sweep_waits_for_the_grid_simulators_trigger(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    arm(scope, range_s=1.5, pre_s=0.5)
    lab.advance_to(21.7)
    assert run_bit(scope)
    assert int(scope.query(":OPER:COND?")) & 32  # armed, waiting for the trigger
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(22.7)
    assert not run_bit(scope)


def test_a_level_outside_the_ttl_swing_never_triggers_and_the_falling_edge_is_late(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    high = [c if not c.startswith(":TRIG:EDGE:LEV") else ":TRIG:EDGE:LEV 6" for c in SCOPE_SETUP]
    arm(scope, range_s=1.5, pre_s=0.5, setup=high)
    lab.advance_to(21.5)
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(25.0)
    assert run_bit(scope)


# -- 9. the scope chooses its rate; :WAVeform:POINts is a request ------------------------------------------------------------------


def test_the_sample_rate_comes_from_the_time_range_and_the_displayed_channels(scope) -> None:
    assert setting(scope, ":TIM:RANG 1.5") == OK
    assert float(scope.query(":ACQ:SRAT?")) == 2e6  # one channel: 4 Mpts over 1.5 s, on a 1-2-5 ladder
    assert setting(scope, ":CHAN2:DISP ON") == OK
    assert float(scope.query(":ACQ:SRAT?")) == 1e6  # two channels share the memory: 2 Mpts
    assert int(scope.query(":ACQ:POIN?")) == 1_500_000


def capture_ov2(grid, scope, lab: SimulatedLab, *, points: int) -> tuple[int, float]:
    """A 1.5 s capture with ``points`` requested; returns the preamble's point count and x increment."""
    energise(grid, lab)
    load_ov2_step(grid)
    arm(scope, range_s=1.5, pre_s=0.5, points=points)
    lab.advance_to(21.5)
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(22.5)
    assert setting(scope, ":WAV:SOUR CHAN1") == OK
    fields = scope.query(":WAV:PRE?").split(",")
    n = int(fields[2])
    block = scope.query_binary_values(":WAV:DATA?", datatype="h", is_big_endian=False, container=np.array)
    assert len(block) == n
    return n, float(fields[4])


def test_asking_for_exactly_the_points_needed_gives_fewer_and_a_slower_rate(grid, scope, lab: SimulatedLab) -> None:
    n, x_inc = capture_ov2(grid, scope, lab, points=15_000)  # the old driver: 1.5 s x 10 kS/s
    assert scope.query(":WAV:POIN?") == "+10000"  # rounded down to a valid request
    assert n == 10_000 and 1.0 / x_inc == pytest.approx(6666.7, abs=0.1)  # below the plan's 10 kS/s


def test_asking_for_the_next_valid_count_keeps_the_rate(grid, scope, lab: SimulatedLab) -> None:
    n, x_inc = capture_ov2(grid, scope, lab, points=20_000)
    assert n == 20_000 and 1.0 / x_inc == pytest.approx(13_333.3, abs=0.1)  # decimated by 75 from 1 MS/s


# -- 10. byte order and signedness --------------------------------------------------------------------------------------------------


def test_default_byte_order_and_signedness_are_msb_first_unsigned(grid, scope, lab: SimulatedLab) -> None:
    defaults = [c for c in SCOPE_SETUP if not c.startswith((":WAV:BYT", ":WAV:UNS"))]
    energise(grid, lab)
    load_ov2_step(grid)
    arm(scope, range_s=1.5, pre_s=0.5, points=1000, setup=defaults)
    lab.advance_to(21.5)
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(22.5)
    assert setting(scope, ":WAV:SOUR CHAN1") == OK
    fields = scope.query(":WAV:PRE?").split(",")
    y_inc, y_origin, y_ref = float(fields[7]), float(fields[8]), float(fields[9])
    assert y_ref == 32768
    as_old = scope.query_binary_values(":WAV:DATA?", datatype="h", is_big_endian=False, container=np.array)
    right = scope.query_binary_values(":WAV:DATA?", datatype="H", is_big_endian=True, container=np.array)
    current = (right.astype(float) - y_ref) * y_inc + y_origin
    assert float(np.sqrt(np.mean(current[:300] ** 2))) == pytest.approx(6000.0 / 230.0, rel=0.03)
    wrong = (as_old.astype(float) - 0.0) * y_inc + y_origin  # the old driver's decoding: garbage
    assert float(np.max(np.abs(wrong - current))) > 30.0
    assert setting(scope, ":WAV:BYT LSBF") == OK and setting(scope, ":WAV:UNS 0") == OK
    assert float(scope.query(":WAV:PRE?").split(",")[9]) == 0
    signed = scope.query_binary_values(":WAV:DATA?", datatype="h", is_big_endian=False, container=np.array)
    np.testing.assert_array_equal(signed.astype(int), right.astype(int) - 32768)


def test_byte_format_is_one_byte_per_point_with_reference_128_when_unsigned(grid, scope, lab: SimulatedLab) -> None:
    energise(grid, lab)
    load_ov2_step(grid)
    arm(scope, range_s=1.5, pre_s=0.5, points=1000)
    lab.advance_to(21.5)
    assert setting(grid, "TRIG ON") == OK
    lab.advance_to(22.5)
    for command in (":WAV:SOUR CHAN1", ":WAV:FORM BYTE", ":WAV:UNS 1"):
        assert setting(scope, command) == OK
    fields = scope.query(":WAV:PRE?").split(",")
    assert (int(fields[0]), float(fields[9])) == (0, 128)
    assert len(scope.query_binary_values(":WAV:DATA?", datatype="B", container=np.array)) == int(fields[2])


# -- 11. header paths over the wire -----------------------------------------------------------------------------------------------


def test_a_relative_unit_sets_channel_1s_offset(scope) -> None:
    assert setting(scope, ":CHAN1:RANG 10;OFFS 2") == OK
    assert float(scope.query(":CHAN1:RANG?")) == 10.0 and float(scope.query(":CHAN1:OFFS?")) == 2.0


def test_a_root_level_query_after_a_source_command_without_its_colon_is_undefined(grid, lab: SimulatedLab) -> None:
    grid.write("SOUR:VOLT:LEV:IMM:AMPL:AC 230;SYST:ERR?")  # no reply: SOUR:VOLT:LEV:IMM:AMPL:SYST:ERR? is undefined
    assert errors(grid) == ['-113,"Undefined header;SYST:ERR?"']
    assert lab.model.grid.voltage_setpoint == 230.0
