"""RLC load driver against protocol scripts: exact wire traffic, refusals before any I/O, family check."""

from __future__ import annotations

from pathlib import Path

import pytest
from protocol import OK, expected_protocol, settings

from drivers.load.rlc_load import RlcLoad
from rig.config.bench_file import load_bench
from rig.config.envelope import EnvelopeGuard
from rig.core.errors import EnvelopeError, InstrumentError
from rig.core.identity import Idn
from rig.core.roles import IslandLoad
from rig.sim.instruments.rlc_load_dialect import RlcLoadInstrument

SIM_BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim.yaml"


@pytest.fixture(scope="module")
def guard() -> EnvelopeGuard:
    return EnvelopeGuard.from_bench(load_bench(SIM_BENCH))


def test_driver_fulfils_the_island_load_role_and_identify_sends_only_idn() -> None:
    with expected_protocol(RlcLoad, [("*IDN?", RlcLoadInstrument.idn)]) as load:
        assert isinstance(load, IslandLoad)
        assert load.scripted_session.sent == []
        assert load.identify() == RlcLoadInstrument.idn


def test_family_admits_the_simulated_unit_and_refuses_another_instrument() -> None:
    assert RlcLoad.family.admits(Idn.parse(RlcLoadInstrument.idn))
    assert not RlcLoad.family.admits(Idn.parse("Chroma ATE,61845,1,1.0"))


def test_setup_and_a_balanced_setting_send_exactly_this(guard) -> None:
    script = (settings("*CLS", "INP OFF") + [("INP?", "OFF")]
              + settings("NOM:VOLT 230.000", "NOM:FREQ 50.000", "LOAD:RES:POW 6000.00", "LOAD:IND:REAC 6000.00",
                         "LOAD:CAP:REAC 5738.00", "INP ON") + [("INP?", "ON")]
              + settings("LOAD:RES:POW 5700.00", "LOAD:IND:REAC 6000.00", "LOAD:CAP:REAC 5451.10", "INP OFF")
              + [("INP?", "0")])
    with expected_protocol(RlcLoad, script, envelope=guard) as load:
        load.setup()
        load.set_load(6000.0, 6000.0, 5738.0, at_voltage_v=230.0, at_frequency_hz=50.0)
        load.input(True)
        load.set_load(5700.0, 6000.0, 5451.1, at_voltage_v=230.0, at_frequency_hz=50.0)  # on: no nominal values
        load.safe_off()


@pytest.mark.parametrize(("args", "error"), [
    ((13000.0, 1000.0, 1000.0), InstrumentError),  # beyond the unit's 12 kW
    ((1000.0, 13000.0, 1000.0), InstrumentError),
    ((1000.0, 1000.0, -1.0), InstrumentError),
    ((9000.0, 1000.0, 1000.0), EnvelopeError),  # within the unit, beyond the bench's 8 kW
])
def test_refusals_come_before_any_io(guard, args, error) -> None:
    with expected_protocol(RlcLoad, [], envelope=guard) as load:
        with pytest.raises(error):
            load.set_load(*args, at_voltage_v=230.0, at_frequency_hz=50.0)
    assert load.scripted_session.sent == []


def test_an_instrument_refusal_names_the_command() -> None:
    script = [("INP ON", None), ("SYST:ERR?", '-221,"Settings conflict"'), ("SYST:ERR?", OK)]
    with expected_protocol(RlcLoad, script) as load:
        with pytest.raises(InstrumentError, match="INP ON"):
            load.input(True)


@pytest.mark.parametrize("answer", ["ON", "1"])
def test_a_load_that_still_reports_its_input_on_after_inp_off_is_a_failed_safe_state(answer: str) -> None:
    """Its safe state is read back, never assumed: a balanced load left on keeps an island alive."""
    with expected_protocol(RlcLoad, settings("INP OFF") + [("INP?", answer)]) as load:
        with pytest.raises(InstrumentError, match="safe state is NOT confirmed"):
            load.safe_off()


def test_a_load_that_ignores_inp_on_is_found_before_s1_opens() -> None:
    with expected_protocol(RlcLoad, settings("INP ON") + [("INP?", "OFF")]) as load:
        with pytest.raises(InstrumentError, match="still reports its input off"):
            load.input(True)


def test_an_answer_that_is_no_state_is_an_error_naming_it() -> None:
    with expected_protocol(RlcLoad, settings("INP OFF") + [("INP?", "STANDBY")]) as load:
        with pytest.raises(InstrumentError, match="'STANDBY'"):
            load.safe_off()


def test_unknown_options_are_refused() -> None:
    with pytest.raises(InstrumentError, match="unknown option"):
        with expected_protocol(RlcLoad, [], options={"max_active_w": 5000.0, "colour": "red"}):
            pass
