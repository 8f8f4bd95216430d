"""The RP7900's data log, as the CHAdeMO suite measures the charger at the inlet with it.

The wire order (settings first, the trigger stamped on the rig's clock
around its exchange), and the simulated unit over its socket: records that
join up batch after batch, exact averages and extremes of what the bus
carried, its accuracy, and the refusals a real unit gives (a trigger it is
not waiting for, settings while it logs, a scalar reading that would
disturb it, a period out of range).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from protocol import expected_protocol, settings

from drivers.battery.keysight_rp7900 import KeysightRP7900
from rig.core.errors import InstrumentError
from rig.core.roles import DcLogger
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.simulated_lab import SimulatedLab

COMPLIANT = Path(__file__).resolve().parents[2] / "fixtures" / "duts" / "compliant.yaml"


def test_the_driver_is_a_data_logger() -> None:
    with expected_protocol(KeysightRP7900, []) as battery:
        assert isinstance(battery, DcLogger)


def test_start_log_configures_then_triggers_on_the_bus_and_stamps_the_trigger_around_its_exchange() -> None:
    script = settings("ABOR:ELOG", "FORM REAL", "FORM:BORD SWAP", "SENS:ELOG:PER 0.001", "SENS:ELOG:FUNC:CURR ON",
                      "SENS:ELOG:FUNC:CURR:MINM ON", "SENS:ELOG:FUNC:VOLT ON", "SENS:ELOG:FUNC:VOLT:MINM ON",
                      "TRIG:ELOG:SOUR BUS", "INIT:ELOG") + [("SENS:ELOG:PER?", "+1.000000E-03")] + settings("TRIG:ELOG")
    clock = iter([10.0, 10.004])
    with expected_protocol(KeysightRP7900, script) as battery:
        battery.start_log(0.001, lambda: next(clock))
    assert battery._log == pytest.approx((10.002, 0.002, 0.001, 0))


@pytest.mark.parametrize("period", [1e-5, 61.0])
def test_a_period_outside_the_loggers_range_is_refused_before_any_io(period: float) -> None:
    with expected_protocol(KeysightRP7900, []) as battery:
        with pytest.raises(InstrumentError, match="log period"):
            battery.start_log(period, lambda: 0.0)


@pytest.fixture()
def logging_unit():
    with SimulatedLab(load_dut_profile(COMPLIANT), seed=7) as lab:
        battery = KeysightRP7900(lab.serve("keysight_rp7900"), name="battery")
        battery.setup()
        battery.emulate(380.0, 0.0)
        battery.output(True)
        yield lab, battery


def test_batches_join_up_and_hold_exactly_what_the_bus_carried(logging_unit) -> None:
    lab, battery = logging_unit
    lab.advance_to(1.0)
    battery.start_log(0.001, lambda: lab.now)
    bus = lab.model.dc_bus
    with lab.lock:
        bus.set_contactor(lab.now, True)
    lab.advance_to(1.2505)
    with lab.lock:
        bus.set_charger_current(lab.now, 20.0)  # 20 A into the battery from half-way through a record
    lab.advance_to(1.3)
    first = battery.fetch_log()
    lab.advance_to(1.5)
    second = battery.fetch_log()
    assert (first.first, len(first), second.first, len(second)) == (0, 300, 300, 200)
    assert first.started_s == pytest.approx(1.0)
    charging = first.current_a[251:, 0]
    assert np.all(np.abs(charging - 20.0) < 20.0 * 0.001 + 0.05)  # within the driver's stated accuracy
    assert first.current_a[250, 1] < 1.0 and first.current_a[250, 2] > 19.0  # the record the step fell in
    assert abs(first.current_a[250, 0] - 10.0) < 0.1
    assert np.all(np.abs(first.voltage_v[:, 0] - 380.0) < 380.0 * 0.0005 + 0.1)


def test_a_scalar_reading_while_logging_is_refused_and_the_log_survives(logging_unit) -> None:
    lab, battery = logging_unit
    battery.start_log(0.01, lambda: lab.now)
    with pytest.raises(InstrumentError):
        battery.write("VOLT:PROT 400")  # not a measurement: allowed
        battery.write("SENS:ELOG:PER 0.002")  # a logger setting while it runs: -221
    lab.advance_to(lab.now + 1.0)
    assert len(battery.fetch_log()) == 100
    battery.stop_log()
    assert float(battery.query("MEAS:VOLT?")) == pytest.approx(380.0, abs=0.1)  # after it, a scalar answers


def test_a_trigger_the_logger_is_not_waiting_for_is_an_error(logging_unit) -> None:
    _, battery = logging_unit
    with pytest.raises(InstrumentError, match="-211"):
        battery.write("TRIG:ELOG")


def test_fetch_without_a_running_log_is_refused_before_any_io() -> None:
    with expected_protocol(KeysightRP7900, []) as battery:
        with pytest.raises(InstrumentError, match="not running"):
            battery.fetch_log()
