"""The simulated charger's behaviour, as a documented, validated file.

Every behaviour a suite judges is a parameter here, so a defective charger
is just another profile (``fixtures/duts/*.yaml``; each field is explained
in ``fixtures/duts/README.md``). The simulator reads nothing else.

A defective charger is the compliant one but for its defect, so its profile
says just that: ``extends: compliant.yaml`` and the defect
(``rig.config.yaml_source.merge_documents`` has the rules: mappings merge key by
key, ``null`` removes a key, protection stages are changed by name). An
error still names the file and line the bad value is written in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rig.config.dut_file import Identity
from rig.sim.charger.chademo_settings import ChademoEvseSettings
from rig.sim.charger.export_limit import ExportLimitation
from rig.sim.charger.export_setpoint import PowerControl
from rig.sim.charger.frequency_response import FrequencyResponse
from rig.sim.charger.losses import Losses
from rig.sim.charger.ocpp_settings import OcppSettings
from rig.sim.island import AntiIslanding
from rig.sim.charger.waveform import Waveform
from rig.config.yaml_source import LocatedValueError, load_extending, validate

DRAWN_RATE_ERROR_PPM = 100.0
"""Unless a profile sets it, the charger's clock-rate error is drawn from its identity (manufacturer, model and
serial: the unit's own crystal), uniform in +- this, the same in every run."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Rating(Strict):
    power_w: float = Field(gt=0, description="Rated AC power; the operating point's power must be within it.")
    current_a: float = Field(gt=0, description="Maximum AC current the converter will carry.")
    nominal_voltage_v: float = Field(gt=0)
    nominal_frequency_hz: float = Field(gt=0)


class OperatingPoint(Strict):
    export_power_w: float = Field(description="AC power exported while connected; negative imports (charging).")


class MeasurementMethod(Strict):
    """How the charger's own protection sees a grid quantity."""

    latency_s: float = Field(ge=0, description="Filter and window delay between the terminals and the measured value.")
    evaluation_period_s: float = Field(gt=0, description="The protection evaluates its stages once per period.")
    gain_error: float = Field(0.0, description="Relative error: measured = (1 + gain_error) * true + offset.")
    offset: float = 0.0


class RocofMethod(MeasurementMethod):
    """How the charger's loss-of-mains protection sees the rate of change of frequency: the change of its
    measured frequency over a sliding window, divided by the window (a frequency step of x Hz reads as
    x / window_s Hz/s for one window). It evaluates on the frequency measurement's evaluation phase."""

    window_s: float = Field(gt=0, description="The df/dt window: the longer, the slower and steadier.")


class FrequencyMethod(MeasurementMethod):
    """How the charger measures frequency. A zero-crossing (or PLL) measurement over a window sees a phase jump
    as a frequency excursion: a jump of x degrees reads x / (360 * phase_window_s) Hz off for one window, and
    the RoCoF computed from it sees that excursion too."""

    phase_window_s: float | None = Field(
        None, gt=0, description="The window over which phase advance becomes frequency; omitted: the measurement "
                                "ignores phase jumps (an idealised one).")


class VectorShiftMethod(MeasurementMethod):
    """A vector-shift (phase-jump) relay: the jump of the voltage's phase over one window, in degrees. G99 does
    not permit it for loss of mains; a charger that has one trips on the vector-shift stability test."""

    window_s: float = Field(gt=0, description="The phase change is measured over this window (one cycle, typically).")


class Measurement(Strict):
    voltage: MeasurementMethod
    frequency: FrequencyMethod
    rocof: RocofMethod | None = Field(None, description="Needed by a `rocof` protection stage.")
    vector_shift: VectorShiftMethod | None = Field(None, description="Needed by a `vector_shift` protection stage.")


class ProtectionStage(Strict):
    """One definite-time interface protection stage."""

    name: str
    quantity: Literal["voltage", "frequency", "rocof", "vector_shift"] = Field(
        description="rocof: the measured rate of change of frequency (Hz/s; over a positive threshold for rising "
                    "frequency, under a negative one for falling); vector_shift: the measured phase jump (degrees; "
                    "likewise signed)")
    direction: Literal["over", "under"]
    threshold: float
    delay_s: float = Field(ge=0)


class Window(Strict):
    min: float
    max: float


class Reconnection(Strict):
    delay_s: float = Field(ge=0, description="Voltage and frequency must stay inside the window this long.")
    voltage_v: Window
    frequency_hz: Window
    evaluation_period_s: float = Field(0.1, gt=0)


class Clock(Strict):
    """The charger's own time base: it counts the delays of its protection and its reconnection timer, and paces
    the cycle on which they are evaluated.

    ``cycle`` says how that cycle stands to the grid. ``grid_locked`` (the default): the measurement is
    synchronous with the grid voltage (rms over whole half-cycles, frequency from zero crossings, a PLL), so
    every evaluation falls at the same point of the grid's cycle (``after_zero_crossing_s`` after a zero
    crossing, its processing time); a disturbance the grid simulator starts at a defined phase meets the
    evaluation cycle at the same point in every trial. ``free_running``: the cycle runs on the charger's own
    clock, not tied to the grid, so each trial meets it at another phase (drawn from the lab's seed) and that
    phase drifts with ``rate_error_ppm`` during a run. Either way the delays are counted on its clock
    (``rate_error_ppm``), a property of the unit (its crystal), not of the run.
    """

    rate_error_ppm: float | None = Field(
        default=None, ge=-10000.0, le=10000.0,
        description="Positive: the charger's clock runs fast, so its delays (and a free-running cycle's periods) are "
                    "shorter in lab time. None (the default): drawn from its identity (manufacturer, model, serial), "
                    f"uniform in +-{DRAWN_RATE_ERROR_PPM:g} ppm, the same in every run of that unit.")
    cycle: Literal["grid_locked", "free_running"] = Field(
        default="grid_locked",
        description="grid_locked (the default): its evaluations fall at a fixed point of the grid's cycle (the lab's "
                    "nominal cycle), the same in every run; free_running: on its own clock at a phase drawn from the "
                    "lab's seed, drifting with rate_error_ppm.")
    after_zero_crossing_s: float = Field(
        default=0.0005, ge=0.0, lt=0.01,
        description="grid_locked: how long after a zero crossing of the grid its evaluations fall (the time from the "
                    "end of a measurement window to the stages' decision), fixed. Default 0.5 ms.")


AC_PORT_FIELDS = ("rating", "operating_point", "measurement", "protection", "disconnection_time_s", "reconnection",
                  "current_noise_a", "waveform")
"""The AC port's section (``ac_port:``); named here so a profile that still writes one at the top is told where."""


class AcPort(Strict):
    """The charger's AC port: its rating and operating point, how it measures the grid, its interface protection
    and reconnection (rig.sim.charger.ac_port), and the current it draws or exports (waveform, noise)."""

    rating: Rating
    operating_point: OperatingPoint
    measurement: Measurement
    protection: list[ProtectionStage]
    disconnection_time_s: float = Field(ge=0, description="Relay opening time after a stage operates.")
    reconnection: Reconnection
    current_noise_a: float = Field(0.0, ge=0, description="Rms noise on the current the lab's instruments see.")
    waveform: Waveform = Field(default_factory=Waveform,
                               description="Harmonics, DC offset and displacement of its current "
                                           "(rig.sim.charger.waveform); omitted, a pure sine in phase.")

    @model_validator(mode="after")
    def _unique_stage_names(self) -> "AcPort":
        seen: set[str] = set()
        for index, stage in enumerate(self.protection):
            if stage.name in seen:
                raise LocatedValueError(("protection", index, "name"),
                                        f"protection stage names must be unique: {stage.name!r} is used twice")
            seen.add(stage.name)
        return self

    @model_validator(mode="after")
    def _derived_stages_have_their_measurement(self) -> "AcPort":
        for index, stage in enumerate(self.protection):
            if stage.quantity in ("rocof", "vector_shift") and getattr(self.measurement, stage.quantity) is None:
                raise LocatedValueError(("protection", index, "quantity"),
                                        f"a {stage.quantity} stage needs measurement.{stage.quantity} (its window, "
                                        "latency and period)")
        return self

    @model_validator(mode="after")
    def _operating_point_within_rating(self) -> "AcPort":
        """The charger is run inside its rating: its power, and its current at the nominal voltage."""
        rating = self.rating
        power = self.operating_point.export_power_w
        where = ("operating_point", "export_power_w")
        if abs(power) > rating.power_w:
            raise LocatedValueError(where, f"{power:g} W is beyond the rated power "
                                           f"(rating.power_w: {rating.power_w:g} W)")
        current = abs(power) / rating.nominal_voltage_v
        if current > rating.current_a * (1.0 + 1e-9):  # a rounding hair above an exact rating is the rating
            raise LocatedValueError(where, f"{power:g} W at the nominal {rating.nominal_voltage_v:g} V is "
                                           f"{current:.2f} A, above the rated current "
                                           f"(rating.current_a: {rating.current_a:g} A)")
        return self


class DutProfile(Strict):
    """One simulated charger: who it says it is, its clock, and a section per face (the AC port, CHAdeMO, its
    losses, its SunSpec controls, frequency response, export limitation, anti-islanding)."""

    dut: str
    description: str = ""
    identity: Identity
    clock: Clock = Clock()  # omitted: a grid-locked cycle, the rate error drawn from its identity
    ac_port: AcPort = Field(description="Its AC port: rating, measurement, protection, reconnection, current.")
    chademo: ChademoEvseSettings = Field(default_factory=lambda: ChademoEvseSettings(),
                                         description="Its CHAdeMO side (timings, capabilities, defects).")
    losses: Losses = Field(default_factory=Losses,
                           description="Its conversion losses per direction, standby and idle-connected power, and "
                                       "what it declares of them (rig.sim.charger.losses); omitted, the defaults.")
    ocpp: OcppSettings | None = Field(None, description="Its OCPP client (rig.sim.charger.ocpp_face); omitted: "
                                                        "it speaks no OCPP.")
    frequency_response: FrequencyResponse | None = Field(
        None, description="How its export follows the grid frequency (LFSM-O, reduced frequency); omitted: it does not.")
    export_limitation: ExportLimitation | None = Field(
        None, description="Its G100 export limitation at the site boundary (rig.sim.charger.export_limit); omitted: none.")
    power_control: PowerControl = Field(default_factory=PowerControl,
                                        description="How its export follows a limit written to its SunSpec controls "
                                                    "(rig.sim.charger.export_setpoint); omitted, a 1 s first-order ramp.")
    anti_islanding: AntiIslanding | None = Field(
        None, description="Its active anti-islanding method (rig.sim.island); omitted: none, only its passive "
                          "protection stages (a matched island runs on).")

    def with_ac_port(self, **changes: object) -> "DutProfile":
        """This charger with some of its AC port's fields changed (a variant for a test or a study)."""
        return self.model_copy(update={"ac_port": self.ac_port.model_copy(update=changes)})

    @model_validator(mode="before")
    @classmethod
    def _ac_fields_in_their_section(cls, given: object) -> object:
        """An AC port field written at the top (the layout before faces had sections) is told where it goes."""
        for key in AC_PORT_FIELDS:
            if isinstance(given, dict) and key in given:
                raise LocatedValueError((key,), f"belongs in the AC port's section: ac_port: {{{key}: ...}}")
        return given

    @model_validator(mode="after")
    def _export_limitation_fits(self) -> "DutProfile":
        """What an export-limited charger may be dispatched to export is within its rating."""
        limitation = self.export_limitation
        if limitation is None:
            return self
        rating = self.ac_port.rating
        dispatched = limitation.dispatched_export_w
        if dispatched > rating.power_w or dispatched / rating.nominal_voltage_v > rating.current_a * (1.0 + 1e-9):
            raise LocatedValueError(("export_limitation", "dispatched_export_w"),
                                    f"{dispatched:g} W is beyond the rating ({rating.power_w:g} W, "
                                    f"{rating.current_a:g} A at {rating.nominal_voltage_v:g} V)")
        return self


def load_dut_profile(path: Path) -> DutProfile:
    """Load a profile, and the profiles it extends (``extends: <file>``, relative to its directory)."""
    return validate(load_extending(Path(path)), DutProfile)
