"""The suites the rig can run, by the name plan files give in ``suite:``.

An explicit table, not a scan of packages: a suite exists when it is listed
here. Adding a suite is a package under ``rig/suites/`` and one line below.
Suites are imported when first asked for, so a process that needs only a
suite's drawings (the plot worker) does not load every suite's models.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the plot worker imports suite drawing modules through this package: keep it light
    from rig.suites.platform import Suite

REGISTRY: dict[str, str] = {
    "g99.protection": "rig.suites.g99.suite",
    "g99.power_quality": "rig.suites.g99_power_quality.suite",
    "chademo": "rig.suites.chademo.suite",
    "g99.frequency_response": "rig.suites.g99_frequency_response.suite",
    "g99.islanding": "rig.suites.g99_islanding.suite",
    "g100.export_limitation": "rig.suites.g100_export.suite",
    "ocpp16.core": "rig.suites.ocpp16.suite",
    "ocpp201": "rig.suites.ocpp201.suite",
    "ocpp21": "rig.suites.ocpp21.suite",
    "efficiency": "rig.suites.efficiency.suite",
}
"""Suite name -> the module whose ``SUITE`` it is."""


class _Suites(Mapping[str, "Suite"]):
    """``SUITES[name]``: the suite, imported on first use."""

    def __getitem__(self, name: str) -> Suite:
        suite: Suite = import_module(REGISTRY[name]).SUITE
        return suite

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)


SUITES: Mapping[str, "Suite"] = _Suites()
