"""Instrument drivers by role; ``DRIVERS`` maps a bench file's ``driver:`` name to its class.

An explicit table, not a scan of file names: a driver exists when it is
listed here, and a bench naming anything else is refused with the list.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol

from drivers.options import DriverOptions
from rig.config.envelope import EnvelopeGuard
from rig.core.identity import InstrumentFamily
from rig.core.roles import Instrument


class DriverClass(Protocol):
    """What the bench needs of a driver class: whom it may talk to, and how it is opened."""

    family: InstrumentFamily
    Options: type[DriverOptions]
    """The options it takes in the bench file (checked when the bench loads)."""

    def __call__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 options: dict[str, Any] | None = None) -> Instrument: ...


DRIVERS: dict[str, str] = {
    "ametek_cimx": "drivers.grid.ametek_cimx:AmetekCiMx",
    "chroma_61800": "drivers.grid.chroma_61800:Chroma61800",
    "keysight_infiniivision": "drivers.analyzer.keysight_infiniivision:KeysightInfiniiVision",
    "keysight_rp7900": "drivers.battery.keysight_rp7900:KeysightRP7900",
    "modbus_dio": "drivers.dio.modbus_dio:ModbusDio",
    "nhr_9300": "drivers.battery.nhr_9300:Nhr9300",
    "ocpp_csms": "drivers.csms.ocpp_csms:OcppCsms",
    "python_can": "drivers.vehicle.python_can_bus:PythonCanBus",
    "rlc_load": "drivers.load.rlc_load:RlcLoad",
    "sunspec_der": "drivers.dut.sunspec_der:SunSpecDer",
    "tektronix_mso": "drivers.analyzer.tektronix_mso:TektronixMso",
    "wago_750": "drivers.dio.wago_750:Wago750",
    "yokogawa_wt": "drivers.power_analyzer.yokogawa_wt:YokogawaWT",
    "zes_lmg600": "drivers.power_analyzer.zes_lmg600:ZesLmg600",
}


def driver_class(name: str) -> DriverClass:
    module, _, cls = DRIVERS[name].partition(":")
    driver: DriverClass = getattr(import_module(module), cls)
    return driver
