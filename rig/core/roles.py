"""The roles procedures talk to: what an instrument does, not who made it.

A procedure holds a ``GridSimulator`` and a ``Digitizer``; whether they are a
Chroma and a Keysight on a bench or the simulated lab behind the same drivers
is invisible to it. Roles are typing Protocols, so a driver fulfils a role by
having the methods, and every driver is checked against its role in tests.

``BatteryEmulator`` and ``DigitalIO`` serve the CHAdeMO and efficiency
suites. Roles for the other suites (power analyzer, vehicle emulator, CSMS)
are declared here so procedures and bench files can name them; their drivers
arrive with the suites that need them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from rig.core.clock import Clock


@dataclass(frozen=True)
class GridStep:
    """One step of a grid program: hold or ramp voltage and frequency over ``dwell_s``."""

    dwell_s: float
    voltage_v: tuple[float, float]
    frequency_hz: tuple[float, float]
    phase_jump_deg: float = 0.0
    """The output's phase jumps by this at the step's start (a vector shift); 0: no jump."""

    @classmethod
    def hold(cls, dwell_s: float, voltage_v: float, frequency_hz: float) -> "GridStep":
        return cls(dwell_s, (voltage_v, voltage_v), (frequency_hz, frequency_hz))


@dataclass(frozen=True)
class GridProgram:
    """A disturbance executed on the grid simulator itself (its list mode), started by its trigger."""

    steps: tuple[GridStep, ...]

    @property
    def duration_s(self) -> float:
        return sum(s.dwell_s for s in self.steps)

    def values(self, quantity: str) -> list[float]:
        """Every start and end value of ``voltage`` or ``frequency`` (for envelope checks)."""
        attr = "voltage_v" if quantity == "voltage" else "frequency_hz"
        return [v for s in self.steps for v in getattr(s, attr)]

    def commanded(self, quantity: str, t_s: np.ndarray, before: float) -> np.ndarray:
        """What the program tells the output to be at ``t_s`` seconds after the trigger."""
        attr = "voltage_v" if quantity == "voltage" else "frequency_hz"
        edges = np.cumsum([0.0] + [s.dwell_s for s in self.steps])
        out = np.full(t_s.shape, before, dtype=float)
        for k, step in enumerate(self.steps):
            start, end = getattr(step, attr)
            inside = (t_s >= edges[k]) & (t_s < edges[k + 1])
            out[inside] = start + (end - start) * (t_s[inside] - edges[k]) / step.dwell_s
        after = t_s >= edges[-1]
        out[after] = getattr(self.steps[-1], attr)[1]
        return out


@dataclass(frozen=True)
class GridReading:
    voltage_v: float
    frequency_hz: float
    current_a: float
    power_w: float


@dataclass
class Capture:
    """A triggered acquisition: time from the trigger, and one array per named channel."""

    t_s: np.ndarray
    channels: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def sample_rate_hz(self) -> float:
        return 1.0 / float(self.t_s[1] - self.t_s[0])


@runtime_checkable
class Instrument(Protocol):
    """What every instrument role offers the engine: identity, set-up, faults and a safe state.

    The engine calls ``identify`` first and nothing else until the answer is
    checked against the driver's ``family`` (``rig.core.identity``); then
    ``setup`` brings the instrument to the rig's known state (remote control,
    its own protection limits set from the bench envelope, outputs off).
    ``faults`` is asked after every case: what the instrument itself reports
    as tripped or outside the envelope (empty when all is well).
    """

    def identify(self) -> str: ...

    def setup(self) -> None: ...

    def faults(self) -> list[str]: ...

    def safe_off(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class GridSimulator(Instrument, Protocol):
    """A programmable AC source standing in for the grid at the charger's terminals."""

    def apply(self, voltage_v: float, frequency_hz: float) -> None: ...

    def output(self, on: bool) -> None: ...

    def run_program(self, program: GridProgram) -> None: ...

    def read(self) -> GridReading: ...

    def current_a(self) -> float:
        """Rms current at the terminals: one query, for polling whether the charger exports."""
        ...

    def power_w(self) -> float:
        """Active power the source delivers: negative while the charger exports into it (one query)."""
        ...


@runtime_checkable
class Digitizer(Instrument, Protocol):
    """Captures the charger's current (and the grid voltage), triggered by the grid simulator."""

    def arm(self, *, pre_s: float, post_s: float, sample_rate_hz: float) -> None: ...

    def armed(self) -> bool:
        """True once the acquisition is ready for its trigger (pre-trigger memory filled).

        The procedure waits for this, through the clock, before it fires the trigger.
        """
        ...

    def complete(self) -> bool: ...

    def fetch(self) -> Capture: ...


@dataclass(frozen=True)
class DcReading:
    """One reading of the battery emulator: terminal voltage and the current into the battery.

    ``current_a`` follows ``BatteryEmulator``'s sign convention: positive while the
    battery charges (current into its positive terminal), negative while it discharges.
    """

    voltage_v: float
    current_a: float

    @property
    def power_w(self) -> float:
        """Power into the battery: positive while it charges, negative while it discharges (V2H)."""
        return self.voltage_v * self.current_a


@dataclass(frozen=True)
class CanFrame:
    """A classic CAN frame (up to 8 data bytes) and, for a received one, when the interface received it."""

    frame_id: int
    data: bytes
    timestamp_s: float = 0.0
    """Receive time in seconds on the interface's clock (see ``CanInterface``); 0 for a frame to send."""
    extended: bool = False
    """A 29-bit identifier (11-bit otherwise)."""


@runtime_checkable
class CanInterface(Instrument, Protocol):
    """The rig's port on a CAN bus: what the vehicle emulator talks to the charger through.

    ``receive`` returns every frame waiting, oldest first, and never waits:
    the vehicle emulator reads in its periodic task (``Clock.every``), and the
    clock's waits are where frames arrive. A received frame's timestamp is
    the instant the interface received it (the adapter's, the kernel's or a
    gateway's stamp, not when the rig read it), put on the rig clock's axis
    (``attach_clock``, called when the bench opens), so frame times compare
    with the rig's contact edges and DC samples, and differences between
    frames are exact whatever the rig was doing when it read them. Not every
    interface can see the bus state or error frames: ``cannot_see`` says what
    this one cannot, and the run's record and report carry it. ``faults`` reports
    the bus state (error passive, bus off) and error frames seen. A CAN
    interface has no output of its own: ``safe_off`` sends nothing (the
    vehicle's safe state, stopping its requests, is the vehicle emulator's).
    """

    def attach_clock(self, clock: Clock) -> None: ...

    def cannot_see(self) -> list[str]:
        """What this interface cannot report (bus state, error frames), for the run's record and report."""
        ...

    def send(self, frame_id: int, data: bytes, *, extended: bool = False) -> None: ...

    def receive(self) -> list[CanFrame]: ...


@runtime_checkable
class BatteryEmulator(Instrument, Protocol):
    """A bidirectional DC source/sink standing in for the vehicle's traction battery (CHAdeMO, efficiency).

    Sign convention, the one every battery quantity in the rig follows: **current
    into the battery's positive terminal is positive**. A charge session shows a
    positive current (the charger delivers, the emulator sinks); a V2H discharge a
    negative one (the emulator sources). Limits are magnitudes, one per direction.
    Drivers convert from their instrument's own convention (a power supply calls
    sourcing positive) in one place.

    The battery is emulated as an open-circuit voltage behind a series resistance:
    terminal voltage = open-circuit voltage + resistance x current into the battery.
    Output on needs a battery set (``emulate``) since set-up.
    """

    def emulate(self, open_circuit_v: float, resistance_ohm: float) -> None:
        """Set the emulated battery: open-circuit voltage (V) and series resistance (ohm)."""
        ...

    def set_current_limits(self, charge_a: float, discharge_a: float) -> None:
        """Most current the battery takes while charging and gives while discharging (A, magnitudes)."""
        ...

    def output(self, on: bool) -> None: ...

    def voltage_v(self) -> float:
        """Terminal voltage (one query)."""
        ...

    def current_a(self) -> float:
        """Current into the battery, positive while it charges (one query)."""
        ...

    def read(self) -> DcReading:
        """Voltage and current, one query each."""
        ...


@dataclass(frozen=True)
class Accuracy:
    """A measurement's stated accuracy: +-(``gain`` x |reading| + ``offset``), as a data sheet gives it."""

    gain: float
    """Fraction of the reading (0.001 = 0.1 %)."""
    offset: float
    """In the reading's unit."""

    def at(self, reading: float) -> float:
        """The half-width of the accuracy interval at ``reading``."""
        return self.gain * abs(reading) + self.offset


@dataclass(frozen=True)
class DcLogBatch:
    """Consecutive records of a DC source's data logger, on the rig clock's time axis.

    Record ``k`` (counted from the trigger) covers [``started_s`` + k x ``period_s``,
    ``started_s`` + (k + 1) x ``period_s``) and holds, for the current into the
    battery (``BatteryEmulator``'s sign) and the terminal voltage, the
    average, minimum and maximum over that period: columns 0, 1, 2 of
    ``current_a`` and ``voltage_v``. ``started_s`` is when the rig triggered
    the logger, known to +-``started_u_s`` (half the time the trigger
    command took, read on the rig's clock before and after it).
    """

    started_s: float
    started_u_s: float
    period_s: float
    first: int
    current_a: np.ndarray
    voltage_v: np.ndarray
    current_accuracy: Accuracy
    voltage_accuracy: Accuracy

    def __len__(self) -> int:
        return len(self.current_a)

    @property
    def end_s(self) -> float:
        """When the batch's last record ended."""
        return self.started_s + (self.first + len(self)) * self.period_s


@runtime_checkable
class DcLogger(Protocol):
    """A battery emulator that logs its terminals continuously (the CHAdeMO suite's measurement of the charger).

    While it logs, its scalar readings (``read``) are not to be used: the
    batches are the readings.
    """

    def start_log(self, period_s: float, now: Callable[[], float]) -> None:
        """Start logging every ``period_s`` (the instrument may round it); ``now`` is the rig's clock, read
        around the trigger to stamp it."""
        ...

    def fetch_log(self) -> DcLogBatch:
        """The records completed since the last fetch (none is lost between fetches)."""
        ...

    def stop_log(self) -> None: ...


@dataclass(frozen=True)
class PowerSpec:
    """A power analyzer's stated power accuracy, as its manual gives it: +-(``reading`` x |P| + ``range`` x
    P_range) at power factor 1, and the influence of power factor where the manual states one.

    Fractions, not percent (0.0002 = 0.02 %). ``pf_zero`` is the error at lambda = 0 as a fraction of the
    apparent power S (Yokogawa's "power factor influence"); None when the source states none, and then the
    accuracy below lambda = 1 is not known and ``half_width_w`` says so rather than guess.
    """

    reading: float
    range: float
    pf_zero: float | None = None

    def half_width_w(self, power_w: float, range_w: float, apparent_va: float) -> float:
        """The half-width (W) of the accuracy interval of an active power reading ``power_w`` on the power range
        ``range_w`` (voltage range x current range) with apparent power ``apparent_va``.

        At lambda = 1 (|P| >= S: DC, where S is |P|, or a reading whose S rounds below |P|) it is
        reading x |P| + range x P_range. For 0 < lambda < 1 it is the rule Yokogawa's manuals state
        (IM WT310E-02EN 7-8, worked in IM WT310E-01EN App-23)::

            P x [reading + range x (P_range / S) + tan(phi) x pf_zero]

        with tan(phi) = sqrt(S^2 - P^2) / |P|; so the range term shrinks by lambda, and at lambda = 0 the
        error is pf_zero x S. 40 W at lambda = 0.5 (80 VA) on the WT310E's 150 W range: +-0.1468 W.
        """
        if range_w <= 0 or not math.isfinite(range_w):
            raise ValueError(f"power range {range_w} W: a range is a positive number of watts")
        p, s = abs(power_w), abs(apparent_va)
        if s <= p:
            return self.reading * p + self.range * range_w
        if self.pf_zero is None:
            raise ValueError(f"power factor {p / s:.4f} < 1, and this specification states no influence of power "
                             "factor (pf_zero): its accuracy below lambda = 1 is not stated; give pf_zero from the "
                             "analyzer's manual")
        reactive = math.sqrt(s * s - p * p)  # |P| x tan(phi), defined at P = 0 as well
        return self.reading * p + self.range * range_w * p / s + self.pf_zero * reactive


@dataclass(frozen=True)
class ElementReading:
    """One input element's values from one data update of a power analyzer.

    AC element: rms voltage and current, active and apparent power, the voltage's frequency (None when the
    analyzer measured none) and the power factor as the analyzer reports it (unsigned on Yokogawa WT: the SVP
    drivers correct its sign from P and Q). DC element: the mean voltage and current, active power, and
    ``apparent_va`` = |P| (lambda = 1: no low-power-factor term applies), no frequency or power factor.
    The ranges are those the element measured on (fixed: auto range is off).
    """

    voltage_v: float
    current_a: float
    power_w: float
    apparent_va: float
    frequency_hz: float | None
    voltage_range_v: float
    current_range_a: float
    power_factor: float | None = None

    @property
    def power_range_w(self) -> float:
        """The power range the accuracy's range term is a share of: voltage range x current range (one element,
        1P2W wiring)."""
        return self.voltage_range_v * self.current_range_a


@dataclass(frozen=True)
class AnalyzerUpdate:
    """One data update: the values averaged over the ``interval_s`` that ended at ``t_s`` (the rig's clock), per
    element number."""

    t_s: float
    interval_s: float
    elements: dict[int, ElementReading]


@runtime_checkable
class PowerAnalyzer(Instrument, Protocol):
    """Precision AC and DC power measurement, element by element (efficiency suite).

    Elements are the analyzer's numbered inputs; the bench file names the ones the rig uses (``elements``:
    ``{"ac": 1, "dc": 4}``), so a procedure asks for ``analyzer.elements["dc"]``. Ranges are fixed, set by
    the procedure per load point (at part load the range term dominates the uncertainty), never auto:
    a reading's range must be known to state its accuracy. ``read`` waits on the rig's clock (attached
    when the bench opens) for the analyzer's next data update, so every value comes from one averaging
    interval and the AC and DC sides of an efficiency point from the same one.
    """

    @property
    def elements(self) -> dict[str, int]:
        """What each used element measures (bench name -> element number)."""
        ...

    def attach_clock(self, clock: Clock) -> None: ...

    def ranges(self, element: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The voltage ranges (V) and current ranges (A) ``element`` offers, ascending."""
        ...

    def set_ranges(self, element: int, voltage_v: float, current_a: float) -> None:
        """Fixed voltage and current ranges for ``element`` (auto range off); a range it lacks is refused before
        anything is sent."""
        ...

    def set_update_rate(self, seconds: float) -> None:
        """The data update interval: each update averages over this long."""
        ...

    def read(self, elements: Sequence[int]) -> AnalyzerUpdate:
        """Wait for the next data update (on the rig's clock) and return it for ``elements``."""
        ...

    def start_integration(self, timer_s: int) -> None:
        """Start integrating from reset, for ``timer_s`` whole seconds (0: until ``stop_integration``)."""
        ...

    def stop_integration(self) -> None: ...

    def reset_integration(self) -> None: ...

    def integration_state(self) -> str:
        """RESET, READY, START, STOP, ERROR or TIMEUP."""
        ...

    def integrated(self, elements: Sequence[int]) -> dict[int, tuple[float, float]]:
        """Per element: energy integrated (Wh) and time integrated (s)."""
        ...

    def power_spec(self, element: int, frequency_hz: float | None, current_range_a: float) -> PowerSpec:
        """The stated power accuracy for ``element`` on ``current_range_a``: DC when ``frequency_hz`` is None,
        else the band the frequency falls in (what the uncertainty budget reads)."""
        ...


class VehicleEmulator(Instrument, Protocol):
    """CAN vehicle side of a CHAdeMO session (CHAdeMO suite)."""


@runtime_checkable
class DigitalIO(Instrument, Protocol):
    """Named contact lines: CHAdeMO sequence signals, the vehicle contactor, emergency stop, grid switch.

    The bench file maps each line name to the module's address and says whether it
    is an input (read) or an output (driven by the rig), so a procedure speaks only
    line names (``d1``, ``k``, ``contactor``). ``True`` is an asserted line: an
    input sees its contact closed, an output drives its coil or signal. The safe
    state de-energises every output.
    """

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the input lines, in the bench file's order."""
        ...

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the output lines, in the bench file's order."""
        ...

    def read_input(self, line: str) -> bool:
        """One input line (one exchange)."""
        ...

    def read_inputs(self) -> dict[str, bool]:
        """Every input line (one exchange)."""
        ...

    def set_output(self, line: str, on: bool) -> None:
        """Drive one output line; returns once the module has done it."""
        ...


@runtime_checkable
class IslandLoad(Instrument, Protocol):
    """A parallel RLC load at the charger's point of connection, behind the grid switch S1 (islanding tests).

    Each branch is stated as the power it takes at the nominal voltage and frequency: R as active power (W),
    L and C as reactive power (var), so a procedure sets the load from the power it measured. The safe state
    turns its input off.
    """

    def set_load(self, resistive_w: float, inductive_var: float, capacitive_var: float, *,
                 at_voltage_v: float, at_frequency_hz: float) -> None: ...

    def input(self, on: bool) -> None: ...


@runtime_checkable
class DutPowerControl(Instrument, Protocol):
    """The charger's own control interface for its export power (a SunSpec DER's immediate controls).

    Grid-code cases run at stated power levels (islanding at 100 %, 50-66 % and 25-33 % of capacity, LFSM-O
    above 80 % and at 40-60 %); this role lets a procedure put the charger there. It is a *limit*: the charger
    exports at most ``power_w`` (a SunSpec WMaxLimPct), never more than its own operating point, so a limit can
    lower the export but not raise it. The same interface lets the rig play the charger's external system (an
    EMS) for OCPP 2.1's ExternalSetpoint mode: ``external_setpoint`` gives the active power to follow (SunSpec
    model 124 storage controls).

    What "safe" means here: this is not a power source the rig owns. The grid simulator's output off is what
    de-energises the charger; this channel only curtails it. Its safe state is the charger's own behaviour:
    ``safe_off`` releases the limit and clears the setpoint (and so does ``setup``), so no exit path leaves a
    charger curtailed or driven by the rig, and a curtailed charger left by an aborted run is never mistaken for its own power level by the next.
    """

    def rated_power_w(self) -> float:
        """The power a percent limit is a share of (SunSpec WMax, else WRtg), W; known once set up."""
        ...

    def limit_export(self, power_w: float) -> None:
        """Cap the export at ``power_w`` (W, 0 up to the rated power and the bench envelope's ac_power_w);
        returns once the charger has accepted it (it then ramps there at its own pace)."""
        ...

    def release(self) -> None:
        """Remove the cap: the charger goes back to its own operating point."""
        ...

    def export_limit_w(self) -> float | None:
        """The cap the charger holds now, read back (W), or None when none is enabled."""
        ...

    def external_setpoint(self, power_w: float | None) -> None:
        """Act as the charger's external system (an EMS): give it ``power_w`` (W, positive charging) as the active
        power to follow where its OCPP 2.1 profile says ExternalSetpoint, or clear it (None). Released by
        ``safe_off`` and ``setup`` like the limit."""
        ...


@runtime_checkable
class Csms(Instrument, Protocol):
    """The rig playing the OCPP central system (OCPP suites): where chargers connect, what they sent (every frame,
    on the rig's clock), and the rig's own answers and CALLs."""

    responders: dict[str, Callable[[dict], object]]
    """The rig's answer to each action a charger calls (action -> function of the payload)."""
    frames: list
    """Every frame both ways, as recorded (``drivers.csms.ocpp_csms.RecordedFrame``)."""

    @property
    def url(self) -> str:
        """Where chargers connect (``<url>/<identity>``)."""
        ...

    def attach_clock(self, clock: Clock) -> None: ...

    def serve_only(self, identity: str) -> None:
        """Serve only the charger of this identity from now on (the charger under test); others are refused."""
        ...

    def accept_versions(self, versions: Sequence[str]) -> None:
        """Accept only these OCPP versions from the next connection on (empty: the bench's)."""
        ...

    def wait_for_charger(self, identity: str | None = None, *, timeout_s: float, poll_s: float = 0.01,
                         clock: Clock | None = None) -> object | None: ...


@runtime_checkable
class ClockUser(Protocol):
    """A driver that needs the rig's clock (attached when the bench opens, before set-up): to put stamps on its
    axis (CAN frames, analyzer updates, OCPP frames) or to run a periodic task while the rig waits (a watchdog's
    keep-alive)."""

    def attach_clock(self, clock: Clock) -> None: ...


@runtime_checkable
class StatesBlindSpots(Protocol):
    """A driver that knows what its instrument cannot report on this bench (a CAN interface that cannot see the
    bus state; a battery emulator whose log has no true extremes): the run records it with the instrument's
    identity and the report shows it, so a reviewer knows what a pass did not cover."""

    def cannot_see(self) -> list[str]: ...


@dataclass(frozen=True)
class Role:
    """One instrument role: the name a bench file and a procedure give it, what a driver for it offers."""

    name: str
    offers: type
    """The protocol (extending ``Instrument``) a driver in this role fulfils."""
    what: str


ROLE_TABLE: tuple[Role, ...] = (
    Role("grid", GridSimulator, "the programmable AC source the charger is connected to"),
    Role("island_load", IslandLoad, "the RLC load at the charger's point of connection (islanding)"),
    Role("dut_control", DutPowerControl, "the charger's own export-power control (SunSpec)"),
    Role("battery", BatteryEmulator, "the DC source/sink standing in for the vehicle's battery"),
    Role("vehicle", CanInterface, "the CAN interface the vehicle emulator speaks through"),
    Role("dio", DigitalIO, "digital I/O: the connector's contact lines, S1, the site's load banks"),
    Role("analyzer", PowerAnalyzer, "the power analyzer (efficiency)"),
    Role("capture", Digitizer, "the digitizer the grid simulator triggers"),
    Role("csms", Csms, "the OCPP central system the rig plays"),
)
"""Every role, once: in the order the safe state turns them off (``rig.core.safety``: the AC source first, the
RLC island load right after it, so an island it holds up collapses before S1, a dio output, closes again; the
charger's export limit is released once the grid is off, since releasing it first would let a still energised
charger ramp up to its full power on the way out). Bench files may name these roles and no other."""

ROLES: dict[str, Role] = {role.name: role for role in ROLE_TABLE}


def lacks(cls: object, protocol: type) -> list[str]:
    """The methods and properties of ``protocol`` (and the protocols it extends) that ``cls`` does not have: what
    keeps a driver class out of a role, known before anything is opened. Annotated data attributes are set per
    instance and not checked here."""
    missing = set()
    for klass in protocol.__mro__:
        if not getattr(klass, "_is_protocol", False) or klass is Protocol:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (callable(value) or isinstance(value, property)) and not hasattr(cls, name):
                missing.add(name)
    return sorted(missing)

