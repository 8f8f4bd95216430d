"""Instrument drivers by role; ``DRIVERS`` maps a bench file's ``driver:`` name to its class.

An explicit table, not a scan of file names: a driver exists when it is
listed here, and a bench naming anything else is refused with the list.
"""

from __future__ import annotations

from importlib import import_module

DRIVERS: dict[str, str] = {
    "chroma_61800": "drivers.grid.chroma_61800:Chroma61800",
    "keysight_infiniivision": "drivers.analyzer.keysight_infiniivision:KeysightInfiniiVision",
}


def driver_class(name: str) -> type:
    module, _, cls = DRIVERS[name].partition(":")
    return getattr(import_module(module), cls)
