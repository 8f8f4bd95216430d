"""What both trip-time digitizers share: the bench options of their front end and the read-back that guards it.

A scope's codes mean volts or amperes only through its front end: each
channel's probe attenuation, units and coupling, its range, and the
acquisition type. The front panel (or a probe that identifies itself) can
change any of these between cases, and a real scope would not refuse: it
would measure wrong. So each family's driver sends its front end at set-up
and ``FrontEndScope.confirm_front_end`` reads every setting back before a
capture; the commands, their replies and how a reply agrees are the family's
own (``FrontEndSetting.agrees``).

The bench options are the same for both families (``ScopeOptions``): the
full-scale range and probe attenuation of each channel, and the level and
slope of the external edge trigger; each family names its trigger input and
its slope words itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from drivers.options import DriverOptions
from drivers.scpi import ScpiDriver
from rig.config.envelope import EnvelopeGuard
from rig.core.bench_checks import BenchCheck
from rig.core.errors import InstrumentError

CHANNELS = {"current": 1, "voltage": 2}
"""The scope channel each measured quantity is wired to."""
PROBE_RATIOS = (0.1, 10_000.0)
"""Probe attenuations the options accept (pymeasure DSOX1102G: 0.1 to 10000; the Tektronix EXTAtten range is
unconfirmed and taken as the same)."""


@dataclass(frozen=True)
class FrontEndSetting:
    """A setting the meaning of a code depends on: sent at set-up, and its query must answer ``value``."""

    header: str
    value: str
    what: str

    @property
    def command(self) -> str:
        return f"{self.header} {self.value}"

    def agrees(self, reply: str) -> bool:
        """Whether the query's ``reply`` is ``value`` in the family's own notation."""
        raise NotImplementedError(f"{type(self).__name__} does not say how a reply agrees")


class ScopeOptions(DriverOptions):
    """The front end and trigger of a two-channel trip-time digitizer; a family names its trigger input in
    ``trigger_level_v``'s description and declares ``trigger_slope`` with its own words and default."""

    current_range_a: float = Field(100.0, gt=0, description="Full-scale range (ten divisions) of channel 1, the "
                                                            "current probe's.")
    voltage_range_v: float = Field(800.0, gt=0, description="Full-scale range (ten divisions) of channel 2, the "
                                                            "voltage's.")
    current_probe_ratio: float = Field(
        100.0, ge=PROBE_RATIOS[0], le=PROBE_RATIOS[1],
        description="Channel 1's probe attenuation, A per V at the scope's input: 100 for a 10 mV/A clamp, "
                    "10 for 100 mV/A (the simulated bench's clamp is 10 mV/A).")
    voltage_probe_ratio: float = Field(
        100.0, ge=PROBE_RATIOS[0], le=PROBE_RATIOS[1],
        description="Channel 2's probe attenuation: 100 for a 100:1 differential probe (the simulated bench's).")
    trigger_level_v: float = Field(1.5, description="Level of the external edge trigger.")
    trigger_slope: str = Field(description="Its slope (either case in the file).")

    @field_validator("trigger_slope", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class FrontEndScope(ScpiDriver):
    """A SCPI scope whose front end is set from ``ScopeOptions`` and read back before every capture.

    A family sets ``front_end`` (every ``FrontEndSetting`` read back) after
    this constructor; ``ranges``, ``probes``, ``trigger_level_v`` and
    ``trigger_slope`` are the options as read.
    """

    Options: type[ScopeOptions] = ScopeOptions
    front_end: tuple[FrontEndSetting, ...]
    """Every setting read back before a capture."""

    def __init__(self, resource: str, *, name: str, envelope: EnvelopeGuard | None = None,
                 timeout_ms: int = 5000, options: dict[str, Any] | None = None) -> None:
        o = self.Options.read(name, options)
        self.ranges = {"current": o.current_range_a, "voltage": o.voltage_range_v}
        self.probes = {"current": o.current_probe_ratio, "voltage": o.voltage_probe_ratio}
        self.trigger_level_v = o.trigger_level_v
        self.trigger_slope = o.trigger_slope
        super().__init__(resource, name=name, envelope=envelope, timeout_ms=timeout_ms, options=options)
        self._sent: dict[str, str] = {}

    def confirm_front_end(self) -> None:
        """Read every front-end setting back; raise naming each one the scope does not hold as it was set."""
        wrong = [(s, reply) for s in self.front_end if not s.agrees(reply := self.query(f"{s.header}?"))]
        if wrong:
            detail = "; ".join(f"{s.what} reads back {reply!r}, set {s.value!r}" for s, reply in wrong)
            raise InstrumentError(self.name, wrong[0][0].header,
                                  f"{detail}: a capture would be scaled or coupled wrongly, so none is taken "
                                  "(changed on the front panel, or by a probe that sets its own?)")

    def front_end_checks(self) -> list[BenchCheck]:
        """Each front-end setting the driver will set answers its query (only asked, as the unit holds it now)."""
        return [self.confirm_query(f"{s.what} answers its query", f"{s.header}?",
                                   lambda reply: None if reply.strip() else "empty answer") for s in self.front_end]

    def _set(self, header: str, value: str) -> None:
        """Send a timebase setting only when it differs from what was last sent (set-up forgets them all)."""
        if self._sent.get(header) != value:
            self.write(f"{header} {value}")
            self._sent[header] = value
