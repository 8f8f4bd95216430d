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
from rig.core.clock import Clock, PeriodicTask
from rig.core.roles import BatteryEmulator, CanInterface, DcLogBatch, DcLogger, DigitalIO

CYCLE_S = 0.1
DC_EVERY_S = 0.5
"""How often the vehicle fetches the battery emulator's log (its state of charge follows at that pace)."""
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
    log: list[DcLogBatch] = field(default_factory=list)
    """The battery emulator's data log over the whole session, batch by batch as fetched."""
    caused_at_s: float | None = None
    """When the rig's misbehaviour reached the charger's side: the send instant of the first frame that
    carried it (a fault bit), the write of the contact line (k, emergency stop, plug), or the last frame
    before the silence; read on the rig's clock around the call."""
    caused_u_s: float = 0.0
    """Half the time that call took: the instant is known to +- this."""
    caused_by: str = ""

    def session(self, origin: float = 0.0) -> Session:
        return Session.from_records(self.frames, self.edges, self.dc, origin=origin)


class VehicleEmulator:
    """One vehicle, one session: ``plug_in()``, then the clock's waits run it until ``ended``."""

    def __init__(self, profile: VehicleProfile, can: CanInterface, contacts: DigitalIO, battery: BatteryEmulator,
                 clock: Clock, *, direction: Literal["charge", "discharge", "bidirectional"] = "charge",
                 injection: Injection | None = None, stop_after_s: float | None = 30.0,
                 target_voltage_v: float | None = None, log_period_s: float = 0.001,
                 hold_voltage_v: float | None = None, line_poll_s: float = CYCLE_S,
                 dc_every_s: float = DC_EVERY_S) -> None:
        """``direction``: charge (it requests current) or discharge (V2H: it requests nothing and offers its
        battery; needs a discharge-compatible profile), or bidirectional (V2X: it requests current and offers its
        battery at once, and the charger's control chooses the direction). ``stop_after_s``: how long it charges (or discharges)
        at full current before it stops by itself (None: until ``stop()``). ``target_voltage_v`` overrides the
        profile's (a case that asks for more than the charger has). ``log_period_s``: the battery emulator logs
        its terminals this often (the measurement the charger is judged on); the battery must be a ``DcLogger``.
        ``hold_voltage_v``: the battery emulator holds this voltage behind the profile's resistance whatever the
        energy moved (an efficiency bench's fixed operating voltage) instead of following the state of charge.
        ``line_poll_s``: while it charges (or discharges), how often it reads the charger's contact lines (every
        cycle by default, so a compliance case times the charger's line edges to the cycle; an efficiency
        session, which times nothing, reads them less often and still stops within that of a line dropping).
        ``dc_every_s``: how often it fetches the battery emulator's log (every record is kept whatever the period;
        the state of charge and the emulated voltage move at each fetch)."""
        if not isinstance(battery, DcLogger):
            raise ValueError("the battery emulator has no data logger: the charger's current cannot be measured")
        if direction in ("discharge", "bidirectional") and (not profile.discharge_compatible or profile.discharge is None):
            raise ValueError(f"vehicle {profile.vehicle} cannot discharge (not V2H compatible)")
        self.direction = direction
        self.p = profile
        self.can, self.contacts, self.battery, self.clock = can, contacts, battery, clock
        self.injection = injection
        self.stop_after_s = stop_after_s
        self.target_voltage_v = target_voltage_v if target_voltage_v is not None else profile.battery.target_voltage_v
        self.hold_voltage_v = hold_voltage_v
        self.line_poll_s = line_poll_s
        self.dc_every_s = dc_every_s
        self._lines_read_at = -1e9
        self.max_request_a = profile.requests.max_current_a
        """What it asks for once ramped up (``set_request``)."""
        self.discharge_offer_a = profile.discharge.max_discharge_current_a if profile.discharge is not None else 0.0
        """What it offers in 0x200 while discharging (``set_discharge_offer``)."""
        self.log_period_s = log_period_s
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
        self._last_fetch = -1e9
        self._pending_fault_frame = False
        self._last_sent: tuple[float, float] | None = None
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
        self.battery.emulate(self._battery_v(), self.p.battery.resistance_ohm)
        self.battery.output(True)
        self._logger.start_log(self.log_period_s, self.clock.now)
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
        try:
            self._fetch_log()  # the records up to the unplug
        finally:
            self._logger.stop_log()
            self.battery.output(False)  # the battery leaves with the vehicle

    def set_request(self, current_a: float) -> None:
        """Charging: ask for ``current_a`` from now (it ramps there at its profile's rate; 0x102 carries whole
        amperes)."""
        if not current_a >= 0:
            raise ValueError(f"a charge current request is 0 A or more, not {current_a}")
        self.max_request_a = current_a
        if self.request_a > current_a:
            self.request_a = current_a

    def set_discharge_offer(self, current_a: float) -> None:
        """Discharging: offer at most ``current_a`` in 0x200 from its next frame (the charger draws up to it)."""
        if not current_a >= 0:
            raise ValueError(f"a discharge offer is 0 A or more, not {current_a}")
        self.discharge_offer_a = current_a

    def stop(self) -> None:
        """Stop the session now, as its own normal stop (request 0, permission withdrawn, then its sequence)."""
        if self.phase in ("requesting", "charging"):
            self._begin_stop(self.clock.now())

    def _battery_v(self) -> float:
        return self.hold_voltage_v if self.hold_voltage_v is not None else self.p.battery.open_circuit_v(self.soc)

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
        if self.phase != "charging" or t - self._lines_read_at >= self.line_poll_s - 1e-9:
            self._read_lines(t)
            self._lines_read_at = t
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

    @property
    def _logger(self) -> DcLogger:
        return self.battery  # type: ignore[return-value]  # checked in the constructor

    def _fetch_log(self) -> DcLogBatch:
        batch = self._logger.fetch_log()
        self.recording.log.append(batch)
        return batch

    def _measure(self, t: float) -> None:
        """Every ``dc_every_s``, the battery emulator's log since the last fetch: every record kept; while its contactor connects it
        to the inlet, the batch's mean voltage and current recorded as a DC sample and the charge counted
        into the state of charge (before and after, it measures the battery, not what the charger delivers)."""
        if t - self._last_fetch < self.dc_every_s - 1e-9:
            return
        self._last_fetch = t
        batch = self._fetch_log()
        if not self._outputs["contactor"] or len(batch) == 0:
            return
        voltage, current = float(batch.voltage_v[:, 0].mean()), float(batch.current_a[:, 0].mean())
        self.recording.dc.append(DcSample(batch.end_s, voltage, current))
        energy_wh = float((batch.voltage_v[:, 0] * batch.current_a[:, 0]).sum()) * batch.period_s / 3600.0
        self.soc += energy_wh / (self.p.battery.capacity_kwh * 1000.0) * 100.0
        if self.phase in ("charging", "requesting") and abs(current) > 0 and self.hold_voltage_v is None:
            self.battery.emulate(self._battery_v(), self.p.battery.resistance_ohm)

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
        if self._steady_since is not None and self.stop_after_s is not None \
                and t >= self._steady_since + self.stop_after_s - 1e-9:
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
            self._pending_fault_frame = True  # stamped when the frame carrying it is sent
        elif action == "silence":
            self._silent = True
            if self._last_sent is not None:
                self._cause(*self._last_sent, "the vehicle's last frame before its silence")
        elif action == "drop_k":
            self._cause(*self._write(t, "k", False), "k off")
            self.status["ChargingEnabled"] = 0
        elif action == "emergency_stop":
            self._cause(*self._write(t, "estop", True), "emergency stop line on")
        elif action == "request_above_available":
            self._over_request_a = self._evse(0x108, "AvailableOutputCurrent") + injection.amount
        elif action == "normal_stop":
            self._begin_stop(t)
        elif action == "unplug":
            self._cause(*self._write(t, "proximity", False), "plug out (proximity off)")
            for name in ("k", "contactor"):
                self._write(t, name, False)

    def _cause(self, at_s: float, u_s: float, what: str) -> None:
        self.recording.caused_at_s, self.recording.caused_u_s, self.recording.caused_by = at_s, u_s, what

    def _max_request(self) -> float:
        return self._over_request_a if self._over_request_a is not None else self.max_request_a

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
            offering = self.direction != "charge" and self.phase in ("requesting", "charging")
            frames.append((0x200, {"MaxDischargeCurrent": self.discharge_offer_a if offering else 0.0,
                                   "MinDischargeVoltage": p.discharge.min_discharge_voltage_v,
                                   "MinBatteryDischargeLevel": p.discharge.min_discharge_level_percent,
                                   "MaxRemainingCapacityForCharging": p.discharge.max_charge_level_percent}))
            frames.append((0x201, {"SequenceControlNumber": 0, "ApproxDischargeCompletionTime": 0,
                                   "AvailableVehicleEnergy": 0}))
        for frame_id, signals in frames:
            data = messages.encode(frame_id, signals)
            before = self.clock.now()
            self.can.send(frame_id, data)
            after = self.clock.now()
            sent = ((before + after) / 2.0, (after - before) / 2.0)
            self.recording.frames.append((sent[0], frame_id, data))
            self._last_sent = sent
            if frame_id == 0x102 and self._pending_fault_frame:
                self._pending_fault_frame = False
                self._cause(*sent, f"first 0x102 carrying {self.recording.injection_action}")

    # -- helpers ---------------------------------------------------------------------------------

    def _write(self, t: float, name: str, value: bool) -> tuple[float, float]:
        """Drive a line; the instant it was written (rig clock, around the call) and its half-width."""
        if self._outputs.get(name) == value:
            return t, 0.0
        self._outputs[name] = value
        before = self.clock.now()
        self.contacts.set_output(name, value)
        after = self.clock.now()
        at = (before + after) / 2.0
        self.recording.edges.append(ContactEdge(at, name, value))  # type: ignore[arg-type]
        return at, (after - before) / 2.0

    def _mark(self, point: str, t: float) -> None:
        self.recording.marks.setdefault(point, t)
