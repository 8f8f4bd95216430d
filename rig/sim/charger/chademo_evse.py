"""The simulated charger's CHAdeMO side: the EVSE's sequence, flags, frames, lines and DC output.

It plays the charger as the reference describes it (``shared/reference/
chademo.md``, "Charge sequence (EVSE is the DUT)"), with every timing and
behaviour a case judges taken from its settings (``ChademoEvseSettings``),
so a defective charger is a profile, not code:

1. plug (proximity) -> d1 on; the vehicle's frames -> 0x108 then 0x109 every
   cycle, stop control set; a target voltage above what it can deliver ->
   battery incompatible and stop;
2. the vehicle's permission (102.5.0 and k) -> connector locked, insulation
   test, d2 on;
3. the vehicle's contactors closed and a request -> charging flag set, stop
   control cleared, the current follows min(request, available) at its ramp
   rate; or, V2H, the vehicle requesting nothing and offering discharge ->
   it discharges what its home draws, within the vehicle's limits;
4. a stop (the vehicle's request, its faults, k off, CAN silence, emergency
   stop, over-voltage) -> current down, charging flag cleared, the vehicle's
   contactors opening (its welding detection), output decay, d2 off, d1 off,
   unlock at no voltage.

It is event driven on the lab's clock: one control step per cycle (its own
phase, drawn by the lab), the DC current a piecewise-linear signal between
steps, the output voltage computed where it is asked for. What ends a
session is seen when it happens, not at the next control step, as a real
controller's CAN and input interrupts see it: a frame when it arrives, a
line at its edge, the vehicle's silence at its deadline; the output is cut
exactly its response time later (``_cut_at``), so a profile's reaction time
is the reaction the instruments measure, whatever the control phase. What it sends and
sees goes through ``EvseIo``, which the lab wires to its CAN server, its
connector lines and its DC source.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rig.chademo import messages
from rig.sim.charger.chademo_settings import ChademoEvseSettings
from rig.sim.charger.v2x_settings import V2xSettings
from rig.sim.signal import PiecewiseLinear

STOPPED_A = 5.0
"""Output current that counts as stopped."""
NO_VOLTAGE_V = 10.0
INSULATION_SAFE_V = 20.0

Phase = Literal["idle", "starting", "handshake", "locking", "insulation", "wait_d2", "connected", "active",
                "stopping", "ending", "done"]


class EvseIo(Protocol):
    """What the charger's CHAdeMO side reaches in the lab."""

    def send_frame(self, t: float, frame_id: int, data: bytes) -> None: ...

    def set_line(self, t: float, name: str, value: bool) -> None:
        """Drive one of the charger's lines: d1, d2, lock."""
        ...

    def line(self, name: str) -> bool:
        """A line the vehicle side drives: proximity, k, contactor (the vehicle's), estop."""
        ...

    def battery_voltage(self, t: float, current_a: float) -> float | None:
        """The battery's voltage at the inlet when the vehicle's contactor connects it, for a current into it;
        None when nothing is connected."""
        ...

    def set_current(self, t: float, amps: float) -> None:
        """Its DC port drives ``amps`` into the vehicle from ``t`` (negative: it draws from it, V2H)."""
        ...

    def inlet_current(self, t: float) -> float:
        """What really flows into the vehicle (its own current sensor): what it drives, once connected."""
        ...

    def supply_on(self) -> bool:
        """Whether its AC supply (the grid) is there: without it, it cannot run a session."""
        ...

    def session(self, t: float, active: bool) -> None:
        """A session began or ended: while one runs, its DC power sets what it draws from or feeds the grid."""
        ...


@dataclass
class _EvState:
    """The latest of each frame the vehicle sent, and when it sent its last one."""

    limits: dict[str, float] = field(default_factory=dict)  # 0x100
    status: dict[str, float] = field(default_factory=dict)  # 0x102
    discharge: dict[str, float] = field(default_factory=dict)  # 0x200
    extended: dict[str, float] = field(default_factory=dict)  # 0x110
    last_frame_s: float | None = None

    def flag(self, name: str) -> bool:
        return bool(self.status.get(name, 0))

    @property
    def faulted(self) -> str | None:
        for name in ("FaultBatteryOvervoltage", "FaultBatteryUndervoltage", "FaultCurrentDeviation",
                     "FaultHighBatteryTemperature", "FaultVoltageDeviation", "ShiftNotPark", "ChargingSystemFault"):
            if self.flag(name):
                return name
        return None


class ChademoEvse:
    """The EVSE's CHAdeMO state machine on the lab's clock."""

    def __init__(self, settings: ChademoEvseSettings, io: EvseIo, *, phase_s: float = 0.0) -> None:
        self.s = settings
        self.io = io
        self._phase_s = phase_s % settings.control_period_s
        self.current = PiecewiseLinear(0.0, 0.0)
        """The DC current it commands, A: positive into the vehicle (charging), negative out of it (steps
        once per control period)."""
        self._lines = {"d1": False, "d2": False, "lock": False}
        self._next_step: float | None = None
        self._cut_at: float | None = None
        """When a stop's response time ends: the output current is brought down then, between control steps."""
        self.permit: Callable[[], bool] = lambda: True
        """Whether the charge point lets energy flow: its OCPP face withholds it until a transaction is authorised
        and withdraws it when the transaction ends (``wake`` tells it of a change); a charger without one
        always permits."""
        self.limit_a: Callable[[float], float | None] = lambda t: None
        """A cap on its output current the charge point sets now (its OCPP smart charging), or None."""
        self.v2x_target_w: Callable[[float], float | None] = lambda t: None
        """The grid-side power (W, positive charging) its charge point's OCPP 2.1 V2X control aims at now, or None."""
        self.v2x: V2xSettings | None = None
        """Its V2X control's dead time and ramp (the charge point's ``v2x`` settings); None: no V2X control."""
        self.dc_power_for_ac: Callable[[float, float], float] = lambda ac_w, volts: ac_w
        """The DC power that makes a given AC input at a DC voltage (its losses, ``Losses.dc_power_for_ac``)."""
        self._ready_for_next_session()

    def _ready_for_next_session(self) -> None:
        """Forget everything about the last session (the output current stays on its record)."""
        self.phase: Phase = "idle"
        self.ev = _EvState()
        self.flags = {"Charging": 0, "Malfunction": 0, "ConnectorLocked": 0, "BatteryIncompatible": 0,
                      "ChargingSystemMalfunction": 0, "StopControl": 1}
        self.mode: Literal["charge", "discharge"] = "charge"
        self.bidirectional = False
        """A V2X session: a vehicle that asks for current and offers its battery, under its charge point's V2X
        control, which chooses the direction step by step (``_v2x``)."""
        self._v2x_queue: list[tuple[float, float]] = []  # (due, amperes): targets waiting out its dead time
        self._v2x_wanted: float | None = None
        self._v2x_goal, self._v2x_rate = 0.0, 0.0
        self.stop_reason: str | None = None
        self._timer: float | None = None
        self._first_request_s: float | None = None
        self._insulation: tuple[float, float] | None = None  # test start, test end
        self._contactor_open: tuple[float, float] | None = None  # when the vehicle opened, voltage then
        self._sending = False
        self._sequence = 0
        self._held_v = 0.0
        """Its output voltage at the last step the vehicle's contactors were closed: what its output
        capacitance holds when they open."""
        self._vehicle_connected = False
        """The vehicle's contactors were closed at some step of this session (its battery was on the output)."""

    # -- time ----------------------------------------------------------------------------------

    def next_event_time(self) -> float | None:
        """When it next acts: its next control step while a session may start or runs, the end of a stop's
        response time, or the vehicle's silence deadline."""
        due = [x for x in (self._next_step, self._cut_at, self._silence_deadline()) if x is not None]
        return min(due) if due else None

    def _silence_deadline(self) -> float | None:
        """When the vehicle's silence becomes a stop (None: no session it could stop, or one stopping already)."""
        if self.ev.last_frame_s is None or self.s.ignores_can_silence or self.stop_reason is not None \
                or self.phase in ("idle", "done", "starting", "stopping", "ending"):
            return None
        return self.ev.last_frame_s + self.s.can_timeout_s

    def wake(self, t: float) -> None:
        """The plug went in (or a line changed): be sure a control step is scheduled from ``t`` on.

        A finished session stays finished while the plug stays in (a real charger does not restart on
        its own); once the plug is out, the charger is ready for the next vehicle."""
        if self.phase == "done" and not self.io.line("proximity"):
            self._ready_for_next_session()
        if self._next_step is None and self.phase != "done":
            self._next_step = self._grid_at_or_after(t)

    def advance_to(self, t: float) -> None:
        """Run every event up to and including ``t``, in time order: control steps, the silence deadline and
        the end of a stop's response time."""
        while True:
            due = self.next_event_time()
            if due is None or due > t + 1e-12:
                return
            if due == self._silence_deadline():
                self._watch_for_stops(due)
            if self._cut_at is not None and self._cut_at <= due + 1e-12:
                self._cut_at = None
                self._ramp(due, 0.0, self.s.stop_ramp_a_per_s)
            if self._next_step is not None and self._next_step <= due + 1e-12:
                self._next_step = due + self.s.control_period_s
                self._step(due)

    def on_line(self, t: float, value: bool) -> None:
        """One of the vehicle's lines changed (k, emergency stop, plug): a stop it means starts now."""
        if self.phase not in ("idle", "done"):
            self._watch_for_stops(t)

    def _grid_at_or_after(self, t: float) -> float:
        period = self.s.control_period_s
        n = math.ceil((t - self._phase_s) / period - 1e-9)
        return self._phase_s + n * period

    # -- what the vehicle sends ------------------------------------------------------------------

    def on_frame(self, t: float, frame_id: int, data: bytes) -> None:
        """A frame from the vehicle arrived at lab time ``t`` (acted on at the next control step)."""
        if messages.side_of(frame_id) != messages.Side.EV:
            return
        try:
            values = messages.decode(frame_id, data)
        except messages.FrameError:
            return  # a real controller drops a frame it cannot decode
        target = {0x100: self.ev.limits, 0x102: self.ev.status, 0x200: self.ev.discharge,
                  0x110: self.ev.extended}.get(frame_id)
        if target is not None:
            target.clear()
            target.update(values)
        self.ev.last_frame_s = t
        if frame_id == 0x102 and self.phase not in ("idle", "done"):
            self._watch_for_stops(t)  # a fault bit or a stop request is seen as its frame (0x102) arrives

    # -- the output ----------------------------------------------------------------------------

    def current_at(self, t: float) -> float:
        return self.current.at(t)

    def output_voltage(self, t: float) -> float:
        """The voltage on its output (what 0x109 reports and the vehicle's inlet sees)."""
        if self._contactor_open is not None:
            t_open, v_open = self._contactor_open
            return v_open * math.exp(-max(t - t_open, 0.0) / self.s.output_decay_s)
        if self.io.line("contactor"):
            battery = self.io.battery_voltage(t, self.current_at(t))
            if battery is not None:
                return battery
        if self._insulation is not None:
            start, end = self._insulation
            if start <= t < end:
                return self.s.insulation_test_v
            fall = self.s.insulation_discharge_s
            if end <= t < end + fall:
                return self.s.insulation_test_v * (1.0 - (t - end) / fall)
        return 0.0

    # -- one control step ------------------------------------------------------------------------

    def _step(self, t: float) -> None:
        self._follow_the_plug(t)
        if self.io.line("contactor") and self._contactor_open is None:
            self._held_v = self.output_voltage(t)
            self._vehicle_connected = True
        if self.phase in ("idle", "done"):
            return
        self._watch_for_stops(t)
        handler = {"starting": self._starting, "handshake": self._handshake, "locking": self._locking,
                   "insulation": self._insulation_test, "wait_d2": self._wait_d2, "connected": self._connected,
                   "active": self._active, "stopping": self._stopping, "ending": self._ending}.get(self.phase)
        if handler is not None:
            handler(t)
        if self._sending:
            self._send_cycle(t)

    def _follow_the_plug(self, t: float) -> None:
        ready = self.io.line("proximity") and self.io.supply_on() and self.permit()
        if self.phase == "idle" and ready:
            if self._timer is None:
                self._timer = t + self.s.start_delay_s
            elif t >= self._timer - 1e-12:
                self._timer = None
                self.ev = _EvState()  # what another vehicle sent while it was idle belongs to no session
                self._set_line(t, "d1", True)
                self.phase = "starting"
                self.io.session(t, True)
        if self.phase == "idle" and not ready:
            self._timer = None
            self._next_step = None  # nothing to do until the plug goes in again (``wake``)

    def _watch_for_stops(self, t: float) -> None:
        """Whatever ends a session, in any phase after the handshake began."""
        if self.phase in ("starting", "stopping", "ending") or self.stop_reason is not None:
            return
        silent_for = t - self.ev.last_frame_s if self.ev.last_frame_s is not None else 0.0
        silent = silent_for >= self.s.can_timeout_s - 1e-9
        if self.io.line("estop") and not self.s.ignores_emergency_stop:
            self._stop(t, "emergency stop", malfunction=True)
        elif not self.io.supply_on():
            self._stop(t, "AC supply lost", malfunction=True)
        elif not self.io.line("proximity"):
            self._stop(t, "unplugged", malfunction=True)
        elif not self.permit():
            self._stop(t, "the charge point ended the transaction", delay_s=self.s.stop_response_s)
        elif silent and not self.s.ignores_can_silence:
            self._stop(t, f"CAN silence from the vehicle for {silent_for:.2f} s", malfunction=True)
        elif self.ev.faulted is not None:
            self._stop(t, f"vehicle reports {self.ev.faulted}", delay_s=self.s.fault_stop_response_s)
        elif self.phase in ("connected", "active") and (not self.ev.flag("ChargingEnabled") or not self.io.line("k")
                                                       or self.ev.flag("NormalStopRequest")):
            self._stop(t, "the vehicle asked to stop", delay_s=self.s.stop_response_s)
        elif self.phase in ("locking", "insulation", "wait_d2") and not (self.ev.flag("ChargingEnabled")
                                                                       and self.io.line("k")):
            self._stop(t, "the vehicle withdrew its permission before charging", malfunction=False)
        elif self.phase == "active" and self.output_voltage(t) > self.s.threshold_voltage_v:
            self._stop(t, "output above the threshold voltage", malfunction=True)

    def _starting(self, t: float) -> None:
        if not (self.io.line("proximity") and self.io.supply_on() and self.permit()):
            # The plug, the supply or the charge point's permission went before the vehicle spoke: no session
            # began, so the start is abandoned (d1 off) and it waits as before the plug, starting again once all
            # three are back (``wake``).
            self._set_line(t, "d1", False)
            self.io.session(t, False)
            self._ready_for_next_session()
            self._next_step = None
            return
        if self.ev.status:  # the vehicle's frames are coming: answer, 0x108 first
            self._sending = True
            self.phase = "handshake"

    def _handshake(self, t: float) -> None:
        target = self.ev.status.get("TargetVoltage", 0.0)
        if target > self.s.available_output_voltage_v and self.s.checks_battery_compatibility:
            self.flags["BatteryIncompatible"] = 1
            self._stop(t, f"target voltage {target:g} V above the available {self.s.available_output_voltage_v:g} V")
            return
        if self.ev.flag("ChargingEnabled") and self.io.line("k"):
            self._timer = t + self.s.lock_delay_s
            self.phase = "locking"

    def _locking(self, t: float) -> None:
        if t >= self._timer - 1e-12:  # type: ignore[operator]
            self._set_line(t, "lock", True)
            self.flags["ConnectorLocked"] = 1
            if self.io.battery_voltage(t, 0.0) is not None and self.io.line("contactor"):
                self._stop(t, "the vehicle's contactors are closed before the insulation test", malfunction=True)
                return
            self._insulation = (t, t + self.s.insulation_test_s)
            self.phase = "insulation"

    def _insulation_test(self, t: float) -> None:
        assert self._insulation is not None
        if t >= self._insulation[1] + self.s.insulation_discharge_s - 1e-12:
            self._timer = t + self.s.d2_delay_s
            self.phase = "wait_d2"

    def _wait_d2(self, t: float) -> None:
        if t >= self._timer - 1e-12:  # type: ignore[operator]
            self._set_line(t, "d2", True)
            self.phase = "connected"

    def _connected(self, t: float) -> None:
        closed = not self.ev.flag("ContactorOpen") and self.io.line("contactor")
        if not closed:
            return
        request = self.ev.status.get("ChargeCurrentRequest", 0.0)
        offered = self._discharge_negotiated() and self.ev.discharge.get("MaxDischargeCurrent", 0) > 0
        discharge = offered and request == 0
        if request > 0 or discharge:
            if self._first_request_s is None:
                self._first_request_s = t
            if t >= self._first_request_s + self.s.charge_start_response_s - 1e-12:
                self.mode = "discharge" if discharge else "charge"
                self.bidirectional = offered and request > 0 and self.v2x is not None
                self.flags["Charging"] = 1
                if not self.s.flags_out_of_order:
                    self.flags["StopControl"] = 0
                self.phase = "active"

    def _discharge_negotiated(self) -> bool:
        return self.s.discharge_capable and self.ev.flag("DischargeCompatible") and bool(self.ev.discharge)

    def _active(self, t: float) -> None:
        self.flags["StopControl"] = 0  # (a charger with its flags out of order clears it a cycle late)
        soc_limit = self._soc_limit_reached()
        if soc_limit is not None and self.s.respects_soc_limits:
            self._stop(t, soc_limit)
            return
        target_w = self.v2x_target_w(t) if self.bidirectional else None
        if target_w is not None:
            self._v2x(t, target_w)
            return
        self._v2x_wanted = None
        self._v2x_queue.clear()
        if self.mode == "charge":
            request = self.ev.status.get("ChargeCurrentRequest", 0.0)
            target = min(request, self.s.available_output_current_a)
            cap = self.limit_a(t)
            if cap is not None:
                target = min(target, max(cap, 0.0))
            if request > 0:
                target += self.s.current_overshoot_a
        else:
            offered = self.ev.discharge.get("MaxDischargeCurrent", 0.0)
            if self.s.ignores_discharge_current_limit and offered > 0:
                offered = self.s.discharge_demand_a
            allowed = offered - self.s.discharge_limit_margin_a + self.s.discharge_limit_excess_a
            target = -max(min(self.s.discharge_demand_a, allowed, self.s.available_input_current_a), 0.0)
            battery = self.io.battery_voltage(t, self.current_at(t))
            minimum = self.ev.discharge.get("MinDischargeVoltage", 0.0)
            if battery is not None and battery <= minimum + self.s.discharge_floor_margin_v \
                    and self.s.respects_min_discharge_voltage:
                self._stop(t, f"battery at the vehicle's minimum discharge voltage {minimum:g} V")
                return
        if self.s.current_limit_cycle > 0.0:  # DEFECT: its controller swings below its target, never settling
            swing = 0.5 * (1.0 - math.cos(2.0 * math.pi * t / self.s.current_limit_cycle_period_s))
            target *= 1.0 - self.s.current_limit_cycle * swing
        self._ramp(t, target, self.s.current_ramp_a_per_s)

    def _v2x(self, t: float, target_w: float) -> None:
        """One control step under V2X control: the DC current that makes ``target_w`` at the grid (through its
        losses), within what the vehicle asks for and offers; a new target is acted on after its dead time and
        reached over its ramp time (``V2xSettings``)."""
        assert self.v2x is not None
        volts = self.io.battery_voltage(t, self.current_at(t)) or 0.0
        if volts <= 0.0:
            return
        request = self.ev.status.get("ChargeCurrentRequest", 0.0)
        offered = self.ev.discharge.get("MaxDischargeCurrent", 0.0)
        amps = self.dc_power_for_ac(target_w, volts) / volts
        amps = min(max(amps, -min(offered, self.s.available_input_current_a)),
                   min(request, self.s.available_output_current_a))
        if self._v2x_wanted is None or abs(amps - self._v2x_wanted) > 0.05:
            self._v2x_wanted = amps
            self._v2x_queue.append((t + self.v2x.response_delay_s, amps))
        while self._v2x_queue and self._v2x_queue[0][0] <= t + 1e-9:
            _, self._v2x_goal = self._v2x_queue.pop(0)
            self._v2x_rate = max(abs(self._v2x_goal - self.current_at(t)) / self.v2x.ramp_s, 1e-3)
        self.mode = "discharge" if self._v2x_goal < 0 else "charge"
        self._ramp(t, self._v2x_goal, self._v2x_rate)

    def _soc_limit_reached(self) -> str | None:
        """The vehicle's state of charge (0x102 byte 6 against 0x100's reference) at the level 0x200 sets for
        this direction, or None."""
        rate, reference = self.ev.status.get("ChargedRate"), self.ev.limits.get("ChargedRateReference")
        if rate is None or reference is None or not self.ev.discharge:
            return None
        soc = messages.state_of_charge_percent(rate, reference)
        if soc is None:
            return None
        floor = self.ev.discharge.get("MinBatteryDischargeLevel", 0.0)
        ceiling = self.ev.discharge.get("MaxRemainingCapacityForCharging", 0.0)
        if self.mode == "discharge" and soc <= floor:
            return f"state of charge {soc:.0f} % at the vehicle's minimum discharge level {floor:g} %"
        if self.mode == "charge" and 0 < ceiling <= soc:
            return f"state of charge {soc:.0f} % at the vehicle's maximum charge level {ceiling:g} %"
        return None

    def _stop(self, t: float, reason: str, *, malfunction: bool = False, delay_s: float = 0.0) -> None:
        """Begin a stop (after ``delay_s``, the charger's own response time)."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        if self._insulation is not None and self._insulation[0] <= t < self._insulation[1]:
            self._insulation = (self._insulation[0], t)  # the test is aborted: its voltage discharges from now
        if malfunction:
            self.flags["Malfunction"] = 1
        self.flags["StopControl"] = 1
        self._timer = t + delay_s
        self._cut_at = t + delay_s
        self.phase = "stopping"

    def _stopping(self, t: float) -> None:
        if t < self._timer - 1e-12:  # type: ignore[operator]
            self._ramp(t, self.current_at(t), self.s.current_ramp_a_per_s)  # its response time: it carries on
            return
        self._ramp(t, 0.0, self.s.stop_ramp_a_per_s)
        if abs(self.current_at(t)) <= STOPPED_A:
            self.flags["Charging"] = 0
        if not self.io.line("contactor") and self._contactor_open is None and self._vehicle_connected:
            self._contactor_open = (t, self._held_v)  # the vehicle opened: its output decays from what it held
        # A normal stop waits for the vehicle's welding detection (102.5.3 = 1 after its contactors open); a
        # fault stop drops the contactor supply as soon as the current is down.
        fault = bool(self.flags["Malfunction"] or self.flags["BatteryIncompatible"])
        welded_checked = self.ev.flag("ContactorOpen") and not self.io.line("contactor")
        gone = not self.io.line("proximity")  # the vehicle was unplugged: nothing left to wait for
        waited = welded_checked or fault or gone or not self.s.waits_for_welding_detection or not self._lines["d2"]
        if self.current_at(t) == 0.0 and waited:
            self._set_line(t, "d2", False)
            self._timer = t + self.s.d2_to_d1_s
            self.phase = "ending"

    def _ending(self, t: float) -> None:
        if self._lines["d1"] and t >= self._timer - 1e-12:  # type: ignore[operator]
            self._set_line(t, "d1", False)
        if not self.io.line("contactor") and self._contactor_open is None and self._vehicle_connected:
            self._contactor_open = (t, self._held_v)
        silent = self.ev.last_frame_s is None or t - self.ev.last_frame_s > self.s.can_timeout_s
        gone = silent or not self.io.line("proximity")
        checked = self.ev.flag("ContactorOpen") or gone  # the vehicle's welding detection is done (or it is gone)
        # No voltage for a whole cycle, so the frame before the unlock already shows it.
        dead = self.output_voltage(t - self.s.control_period_s) <= NO_VOLTAGE_V
        unlocked_ok = (dead and checked) or not self.s.waits_for_welding_detection
        if self._lines["lock"] and unlocked_ok:
            self._set_line(t, "lock", False)
            self.flags["ConnectorLocked"] = 0
        if not self._lines["d1"] and not self._lines["lock"]:
            self._sending = False
            self.phase = "done"
            self._next_step = None
            self.io.session(t, False)
            if not self.io.line("proximity"):  # the plug left during the session: ready for the next
                self._ready_for_next_session()

    # -- helpers ---------------------------------------------------------------------------------

    def _ramp(self, t: float, target: float, rate_a_per_s: float) -> None:
        """From the present current towards ``target``, at most ``rate`` A/s: one step per control period."""
        now = self.current_at(t)
        step = rate_a_per_s * self.s.control_period_s
        new = max(min(target, now + step), now - step)
        if new != now:
            self.current.step(t, new)
            self.io.set_current(t, new)

    def _set_line(self, t: float, name: str, value: bool) -> None:
        if self._lines[name] != value:
            self._lines[name] = value
            self.io.set_line(t, name, value)

    def _send_cycle(self, t: float) -> None:
        """0x108 and 0x109 every cycle (0x108 first), 0x118 to a vehicle that sent 0x110, and 0x208/0x209
        once V2H is negotiated."""
        s = self.s
        present = self.io.inlet_current(t)
        self.io.send_frame(t, 0x108, messages.encode(0x108, {
            "WeldingDetectionSupported": int(s.welding_detection), "AvailableOutputVoltage": s.available_output_voltage_v,
            "AvailableOutputCurrent": s.available_output_current_a, "ThresholdVoltage": s.threshold_voltage_v}))
        self.io.send_frame(t, 0x109, messages.encode(0x109, {
            "ProtocolNumber": s.protocol_number, "PresentVoltage": round(self.output_voltage(t)),
            "PresentCurrent": round(max(present, 0.0) * s.reported_current_gain), "EvseDischargeCompatible": int(s.discharge_capable),
            **self.flags, "RemainingTime10s": 0xFF, "RemainingTimeMin": 60}))
        if self.ev.extended and s.protocol_number >= 2:
            self.io.send_frame(t, 0x118, messages.encode(0x118, {
                "DynamicControl": int(self.ev.extended.get("DynamicControl", 0)), "HighCurrentControl": 0,
                "HighVoltageControl": 0, "ThermalCableFlags": 0, "PermissionToResetMaxChargingTime": 0}))
        if self._discharge_negotiated():
            self._sequence = (self._sequence + 1) % 256
            self.io.send_frame(t, 0x208, messages.encode(0x208, {
                "PresentDischargeCurrent": round(max(-present, 0.0) * s.reported_current_gain), "AvailableInputVoltage": s.available_output_voltage_v,
                "AvailableInputCurrent": s.available_input_current_a,
                "LowerThresholdVoltage": s.lower_threshold_voltage_v}))
            self.io.send_frame(t, 0x209, messages.encode(0x209, {"SequenceControlNumber": self._sequence,
                                                                 "RemainingDischargeTime": 0}))
