"""The vehicle the rig plays against the charger: CAN every 100 ms, contact lines, the battery emulator.

It runs the EV's side of the CHAdeMO sequence (``shared/reference/chademo.md``)
as a periodic task on the rig's clock, so the same code plays a vehicle on a
real bench (wall clock) and on the simulated lab (virtual time): each cycle
it reads what the charger sent and its lines, takes its next step, sends its
frames and records everything it saw and did (frames, contact edges, DC
measurements) on one time axis for the rules to judge.

A case can make it misbehave on purpose (``Injection``): a fault bit, shift
out of park, silence, k dropped, an emergency stop, a request above what the
charger offers, a stop; each at a point of its own sequence, so the charger's
reaction to it can be timed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rig.chademo import messages
from rig.chademo.session import ContactEdge, DcSample, Session
from rig.chademo.vehicle_profile import VehicleProfile
from rig.clock import Clock, PeriodicTask
from rig.roles import BatteryEmulator, CanInterface, DigitalIO

CYCLE_S = 0.1
STOPPED_A = 5.0
NO_VOLTAGE_V = 10.0

VehiclePhase = Literal["unplugged", "plugged", "handshake", "permitted", "contactors", "requesting", "charging",
                       "stopping", "welding", "ending", "ended"]
Trigger = Literal["handshake", "insulation", "charging", "steady"]
Action = Literal["fault_overvoltage", "fault_undervoltage", "fault_current_deviation", "fault_high_temperature",
                 "fault_voltage_deviation", "shift_not_park", "charging_system_fault", "silence", "drop_k",
                 "emergency_stop", "request_above_available", "normal_stop", "unplug"]

FAULT_SIGNALS = {"fault_overvoltage": "FaultBatteryOvervoltage", "fault_undervoltage": "FaultBatteryUndervoltage",
                 "fault_current_deviation": "FaultCurrentDeviation", "fault_high_temperature": "FaultHighBatteryTemperature",
                 "fault_voltage_deviation": "FaultVoltageDeviation", "shift_not_park": "ShiftNotPark",
                 "charging_system_fault": "ChargingSystemFault"}


LINE_NAMES = {"connector_lock": "lock"}
"""Bench line names that the session model names otherwise (its contact names)."""


@dataclass(frozen=True)
class Injection:
    """Make the vehicle misbehave: ``action`` ``delay_s`` after it reaches ``at``."""

    at: Trigger
    action: Action
    delay_s: float = 0.0
    amount: float = 0.0
    """For ``request_above_available``: how far above the charger's available current (A)."""


@dataclass
class Recording:
    """What the vehicle saw and did, on the clock's time axis (s)."""

    frames: list[tuple[float, int, bytes]] = field(default_factory=list)
    edges: list[ContactEdge] = field(default_factory=list)
    dc: list[DcSample] = field(default_factory=list)
    injected_at_s: float | None = None
    injection_action: str | None = None
    marks: dict[str, float] = field(default_factory=dict)
    """When the vehicle reached each point of its sequence (``handshake``, ``charging`` ...)."""

    def session(self, origin: float = 0.0) -> Session:
        return Session.from_records(self.frames, self.edges, self.dc, origin=origin)


class VehicleEmulator:
    """One vehicle, one session: ``plug_in()``, then the clock's waits run it until ``ended``."""

    def __init__(self, profile: VehicleProfile, can: CanInterface, contacts: DigitalIO, battery: BatteryEmulator,
                 clock: Clock, *, direction: Literal["charge", "discharge"] = "charge",
                 injection: Injection | None = None, stop_after_s: float = 30.0,
                 target_voltage_v: float | None = None, dc_every_s: float = 0.5) -> None:
        """``direction``: charge (it requests current) or discharge (V2H: it requests nothing and offers its
        battery; needs a discharge-compatible profile). ``stop_after_s``: how long it charges (or discharges)
        at full current before it stops by itself. ``target_voltage_v`` overrides the profile's (a case that
        asks for more than the charger has)."""
        if direction == "discharge" and (not profile.discharge_compatible or profile.discharge is None):
            raise ValueError(f"vehicle {profile.vehicle} cannot discharge (not V2H compatible)")
        self.direction = direction
        self.p = profile
        self.can, self.contacts, self.battery, self.clock = can, contacts, battery, clock
        self.injection = injection
        self.stop_after_s = stop_after_s
        self.target_voltage_v = target_voltage_v if target_voltage_v is not None else profile.battery.target_voltage_v
        self.dc_every_s = dc_every_s
        self.recording = Recording()
        self.phase: VehiclePhase = "unplugged"
        self.soc = profile.battery.initial_soc_percent
        self.request_a = 0.0
        self.status = {"ChargingEnabled": 0, "ShiftNotPark": 0, "ChargingSystemFault": 0, "ContactorOpen": 1,
                       "NormalStopRequest": 0, **{signal: 0 for signal in FAULT_SIGNALS.values()
                                                  if signal not in ("ShiftNotPark", "ChargingSystemFault")}}
        self.evse: dict[int, dict[str, float]] = {}
        self._inputs: dict[str, bool] = {}
        self._outputs: dict[str, bool] = {"proximity": False, "k": False, "contactor": False, "estop": False}
        self._silent = False
        self._timer: float | None = None
        self._steady_since: float | None = None
        self._last_dc = -1e9
        self._sent_first_status = False
        self._over_request_a: float | None = None
        self._stop_control_cleared = False
        self._task: PeriodicTask | None = None
        self._plugged_at = float("inf")

    # -- lifetime --------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.phase == "ended"

    def plug_in(self) -> None:
        """The battery at its open-circuit voltage behind an open contactor, the plug in, the cycle started."""
        b = self.p.battery
        self.battery.emulate(b.open_circuit_v(self.soc), b.resistance_ohm)
        self.battery.output(True)
        t = self.clock.now()
        self._plugged_at = t
        self._write(t, "proximity", True)
        self.phase = "plugged"
        self._task = self.clock.every(CYCLE_S, self._cycle, name=f"vehicle {self.p.vehicle}")

    def unplug(self) -> None:
        """End the cycle; contacts open, plug out (the bench's safe state does the rest)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        t = self.clock.now()
        for name in ("k", "contactor", "estop", "proximity"):
            self._write(t, name, False)
        self.battery.output(False)  # the battery leaves with the vehicle

    # -- one cycle -------------------------------------------------------------------------------

    def _cycle(self) -> None:
        t = self.clock.now()
        for frame in self.can.receive():
            if frame.timestamp_s < self._plugged_at:
                continue  # still queued from before the plug: another session's, not this one's
            self.recording.frames.append((frame.timestamp_s, frame.frame_id, frame.data))
            if messages.side_of(frame.frame_id) == messages.Side.EVSE:
                try:
                    self.evse[frame.frame_id] = dict(messages.decode(frame.frame_id, frame.data))
                except messages.FrameError:
                    pass
        self._read_lines(t)
        self._measure(t)
        self._inject(t)
        getattr(self, f"_{self.phase}")(t)
        if self.phase not in ("unplugged", "plugged", "ended") and not self._silent:
            self._send(t)

    def _read_lines(self, t: float) -> None:
        inputs = {LINE_NAMES.get(name, name): value for name, value in self.contacts.read_inputs().items()}
        for name, value in inputs.items():
            if self._inputs.get(name, False) != value:
                self.recording.edges.append(ContactEdge(t, name, value))  # type: ignore[arg-type]
        self._inputs = inputs

    def _measure(self, t: float) -> None:
        """The battery emulator's voltage and current, recorded while its contactor connects it to the inlet
        (before and after, it measures the battery, not what the charger delivers)."""
        if self._outputs["contactor"] and t - self._last_dc >= self.dc_every_s - 1e-9:
            reading = self.battery.read()
            voltage, current = reading.voltage_v, reading.current_a
            self.recording.dc.append(DcSample(t, voltage, current))
            self._last_dc = t
            self.soc += current * voltage * self.dc_every_s / 3600.0 / (self.p.battery.capacity_kwh * 1000.0) * 100.0
            if self.phase in ("charging", "requesting") and abs(current) > 0:
                self.battery.emulate(self.p.battery.open_circuit_v(self.soc), self.p.battery.resistance_ohm)

    def _evse(self, frame_id: int, signal: str) -> float:
        return self.evse.get(frame_id, {}).get(signal, 0.0)

    # -- the sequence ----------------------------------------------------------------------------

    def _plugged(self, t: float) -> None:
        if self._inputs.get("d1"):
            self.phase = "handshake"  # its frames start this cycle

    def _handshake(self, t: float) -> None:
        if 0x109 not in self.evse:
            return
        self._mark("handshake", t)
        if self._timer is None:
            self._timer = t + self.p.timings.k_after_handshake_s
        if t >= self._timer - 1e-9 and not self._evse(0x109, "BatteryIncompatible"):
            self._timer = None
            self.status["ChargingEnabled"] = 1
            self._write(t, "k", True)
            self.phase = "permitted"
        self._end_on_charger_stop(t)

    def _permitted(self, t: float) -> None:
        if self._evse(0x109, "ConnectorLocked"):
            self._mark("insulation", t)
        if self._inputs.get("d2"):
            if self._timer is None:
                self._timer = t + self.p.timings.contactors_after_d2_s
            if t >= self._timer - 1e-9 and self._evse(0x109, "PresentVoltage") <= NO_VOLTAGE_V:
                self._timer = None
                self._write(t, "contactor", True)
                self.status["ContactorOpen"] = 0
                self.phase = "contactors"
        self._end_on_charger_stop(t)

    def _contactors(self, t: float) -> None:
        if self._timer is None:
            self._timer = t + self.p.timings.request_after_contactors_s
        if t >= self._timer - 1e-9:
            self._timer = None
            self.phase = "requesting"
        self._end_on_charger_stop(t)

    def _requesting(self, t: float) -> None:
        if not self._discharging():
            self.request_a = min(self.request_a + self.p.requests.ramp_a_per_s * CYCLE_S, self._max_request())
        if self._evse(0x109, "Charging"):
            self._mark("charging", t)
            self.phase = "charging"
        self._end_on_charger_stop(t)

    def _charging(self, t: float) -> None:
        if not self._discharging():
            self.request_a = min(self.request_a + self.p.requests.ramp_a_per_s * CYCLE_S, self._max_request())
        at_full = self.request_a >= self._max_request() if not self._discharging() else \
            self._evse(0x208, "PresentDischargeCurrent") > 0
        if at_full and self._steady_since is None:
            self._steady_since = t
            self._mark("steady", t)
        if self._steady_since is not None and t >= self._steady_since + self.stop_after_s - 1e-9:
            self._begin_stop(t)
        self._end_on_charger_stop(t)

    def _stopping(self, t: float) -> None:
        """Request 0, permission withdrawn, k off; once the current is down and the charger no longer
        charges, contactors open (then its welding detection)."""
        self.request_a = 0.0
        self.status["ChargingEnabled"] = 0
        self._write(t, "k", False)
        present = self._evse(0x109, "PresentCurrent") + self._evse(0x208, "PresentDischargeCurrent")
        if present <= STOPPED_A and not self._evse(0x109, "Charging"):
            self._write(t, "contactor", False)
            self._timer = t + self.p.timings.welding_detection_s
            self.phase = "welding"

    def _welding(self, t: float) -> None:
        if t >= self._timer - 1e-9:  # type: ignore[operator]
            self.status["ContactorOpen"] = 1
            self.phase = "ending"

    def _ending(self, t: float) -> None:
        if not self._inputs.get("d1"):
            self._mark("ended", t)
            self.phase = "ended"
            if self._task is not None:
                self._task.cancel()
                self._task = None

    def _ended(self, t: float) -> None:
        pass

    def _unplugged(self, t: float) -> None:
        pass

    def _begin_stop(self, t: float) -> None:
        self._mark("stop", t)
        self.phase = "stopping"

    def _end_on_charger_stop(self, t: float) -> None:
        """The charger ended the session (stop control set again, a fault, d2 or d1 off): stop our side."""
        flags = self.evse.get(0x109, {})
        if self.phase == "charging" and not flags.get("StopControl"):
            self._stop_control_cleared = True
        # Stop control set *again* is a stop (a charger whose flags come a cycle out of order is not one).
        charger_stopped = (self._stop_control_cleared and flags.get("StopControl")) or flags.get("Malfunction") \
            or flags.get("BatteryIncompatible") or flags.get("ChargingSystemMalfunction")
        lines_dropped = self.phase in ("contactors", "requesting", "charging") and not self._inputs.get("d2")
        if charger_stopped or lines_dropped or (self.phase != "plugged" and not self._inputs.get("d1")):
            self._begin_stop(t)

    # -- misbehaviour ----------------------------------------------------------------------------

    def _inject(self, t: float) -> None:
        injection = self.injection
        if injection is None or self.recording.injected_at_s is not None:
            return
        reached = self.recording.marks.get(injection.at)
        if reached is None or t < reached + injection.delay_s - 1e-9:
            return
        self.recording.injected_at_s = t
        self.recording.injection_action = action = injection.action
        if action in FAULT_SIGNALS:
            self.status[FAULT_SIGNALS[action]] = 1
        elif action == "silence":
            self._silent = True
        elif action == "drop_k":
            self._write(t, "k", False)
            self.status["ChargingEnabled"] = 0
        elif action == "emergency_stop":
            self._write(t, "estop", True)
        elif action == "request_above_available":
            self._over_request_a = self._evse(0x108, "AvailableOutputCurrent") + injection.amount
        elif action == "normal_stop":
            self._begin_stop(t)
        elif action == "unplug":
            for name in ("k", "contactor", "proximity"):
                self._write(t, name, False)

    def _max_request(self) -> float:
        return self._over_request_a if self._over_request_a is not None else self.p.requests.max_current_a

    def _discharging(self) -> bool:
        return self.direction == "discharge"

    # -- what it sends ---------------------------------------------------------------------------

    def _send(self, t: float) -> None:
        p, b = self.p, self.p.battery
        status = dict(self.status)
        if p.quirks.first_status_contactor_closed and not self._sent_first_status:
            status["ContactorOpen"] = 0
        self._sent_first_status = True
        reference = p.quirks.charged_rate_reference
        frames = [
            (0x100, {"MinChargeCurrent": p.requests.min_charge_current_a, "MinBatteryVoltage": b.min_voltage_v,
                     "MaxBatteryVoltage": b.max_voltage_v, "ChargedRateReference": reference}),
            (0x101, {"MaxChargingTime10s": 0xFF, "MaxChargingTimeMin": 90, "EstimatedChargingTimeMin": 60,
                     "RatedBatteryCapacity": b.capacity_kwh * 10.0}),
            (0x102, {"ProtocolNumber": p.protocol_number, "TargetVoltage": self.target_voltage_v,
                     "ChargeCurrentRequest": round(self.request_a), "DischargeCompatible": int(p.discharge_compatible),
                     "ChargedRate": round(min(self.soc, 100.0) * reference / 100.0), **status}),
        ]
        if p.quirks.sends_extended_features:
            frames.append((0x110, {"DynamicControl": 1, "HighCurrentControl": 0, "HighVoltageControl": 0,
                                   "ExtendedCurrentRequest": 0}))
        if p.discharge_compatible and p.discharge is not None:
            offering = self._discharging() and self.phase in ("requesting", "charging")
            frames.append((0x200, {"MaxDischargeCurrent": p.discharge.max_discharge_current_a if offering else 0.0,
                                   "MinDischargeVoltage": p.discharge.min_discharge_voltage_v,
                                   "MinBatteryDischargeLevel": p.discharge.min_discharge_level_percent,
                                   "MaxRemainingCapacityForCharging": p.discharge.max_charge_level_percent}))
            frames.append((0x201, {"SequenceControlNumber": 0, "ApproxDischargeCompletionTime": 0,
                                   "AvailableVehicleEnergy": 0}))
        for frame_id, signals in frames:
            data = messages.encode(frame_id, signals)
            self.can.send(frame_id, data)
            self.recording.frames.append((t, frame_id, data))

    # -- helpers ---------------------------------------------------------------------------------

    def _write(self, t: float, name: str, value: bool) -> None:
        if self._outputs.get(name) != value:
            self._outputs[name] = value
            self.contacts.set_output(name, value)
            self.recording.edges.append(ContactEdge(t, name, value))  # type: ignore[arg-type]

    def _mark(self, point: str, t: float) -> None:
        self.recording.marks.setdefault(point, t)
