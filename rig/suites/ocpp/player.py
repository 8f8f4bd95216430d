"""Plays an OCPP case's steps against the charger and records each check as met or not, on the rig's clock.

Every check is decided on the frames the rig's CSMS recorded (each stamped
on the rig's clock when it arrived): the charger's CALLs since the last
action step began, its replies to the rig's CALLs, its CALLERRORs and its
closing the connection. A physical action the bench cannot perform itself
(a card) goes to the operator (``rig.run.operator``); the check that follows
it waits for the charger's message that shows it happened, bounded by the
plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rig.chademo.vehicle import VehicleEmulator
from rig.chademo.vehicle_profile import VehicleProfile
from rig.core.clock import wait_until
from rig.core.errors import RigError
from rig.core.roles import Capture, DcLogBatch, GridProgram, GridStep
from rig.protocols.ocpp.frames import readable_id
from rig.protocols.ocpp.security import csr_problems, pem_of, sign_csr
from rig.run.bench_lab import Lab
from rig.suites.ocpp import script as s
from rig.suites.ocpp.central_system import Answers
from rig.suites.grid_code.capture import ARMING_MARGIN_S
from rig.suites.ocpp.supply import restart_charger
from rig.suites.platform import CannotJudge

POLL_S = 0.5
"""How often (bench time) the rig looks for the frame a check waits for; a frame's time is its own stamp,
not the poll's."""
VEHICLE_LINE_POLL_S = 0.5
"""How often the rig's vehicle reads the charger's contact lines once it charges or discharges: an OCPP case times
nothing on the lines (the CHAdeMO suite does, every cycle), and a charger dropping d1 or d2 still ends the session
within half a second."""
VEHICLE_DC_EVERY_S = 2.0
"""How often the rig's vehicle fetches the battery emulator's log in an OCPP case: every record is kept (the meter
is judged on all of them), only the batches are larger."""


@dataclass
class CaptureRun:
    """One capture of a case: its trigger on the rig's clock, the grid program that triggered it, and what the
    digitizer gave back once fetched."""

    trigger_t: float
    program: GridProgram
    capture: Capture | None = None


@dataclass(frozen=True)
class PowerCheck:
    """A ``power`` step, its index, and the capture it falls in (judged after the case, ``rig.suites.ocpp21``)."""

    index: int
    name: str
    step: s.Power
    run: int


@dataclass(frozen=True)
class CheckResult:
    """One check of a case: met or not, when the frame that decided it came (s from the case's start)."""

    name: str
    step: int
    what: str
    met: bool
    at_s: float | None
    detail: str
    decided_s: float = 0.0
    """When the rig decided it (s from the case's start): a check not met is decided at its deadline."""


def field_at(payload: Any, path: str) -> Any:
    """``payload``'s value at a dotted path (``idTagInfo.status``, ``meterValue.0.sampledValue``); a missing
    one is a value no plan writes."""
    value = payload
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


_MISSING = object()


def fields_equal(payload: Any, wanted: dict[str, Any]) -> list[str]:
    """The fields of ``wanted`` that ``payload`` does not have as given (as ``path: got x, wanted y``)."""
    wrong = []
    for path, value in wanted.items():
        got = field_at(payload, path)
        if got is _MISSING or (got != value and value != "$present"):
            wrong.append(f"{path}: got {'nothing' if got is _MISSING else json.dumps(got)}, wanted {json.dumps(value)}")
    return wrong


class Player:
    """One case's steps against the charger."""

    def __init__(self, lab: Lab, answers: Answers, vehicle: VehicleProfile | None, vehicle_charges_s: float,
                 nominal: tuple[float, float]) -> None:
        self.lab, self.csms, self.clock, self.answers = lab, lab.csms, lab.clock, answers
        self.vehicle_profile, self.vehicle_charges_s = vehicle, vehicle_charges_s
        self.nominal = nominal
        self.t0 = self.clock.now()
        self.anchor_t, self.anchor_index = self.t0, len(self.csms.frames)
        self.used: set[int] = set()
        self.identity: str | None = None
        self.checks: list[CheckResult] = []
        self.vehicle: VehicleEmulator | None = None
        self.dc_log: list[DcLogBatch] = []
        self.vehicle_sessions: list[str] = []
        """Each plug-in's CHAdeMO session as the vehicle saw it (its marks from the case's start): evidence."""
        """What the battery emulator logged while the vehicle was plugged in (every plug-in of the case)."""
        self.asked: str | None = None
        """An action asked of the operator and perhaps not done, until a check shows it was."""
        self.listener: str | None = None
        """The address the last ``listen`` step opened (what the connection checks look at)."""
        self.not_performed: str | None = None
        """The action whose check failed: the case is skipped with this reason (``NotPerformed``)."""
        self.issued_serial: str | None = None
        """The serial number (hex) of the certificate the last ``certificate_signed`` step issued."""
        self.vehicle_direction: str = "charge"
        """How the emulated vehicle plugs in: charge, or bidirectional (it asks for current and offers its battery:
        a V2X session, set by a suite that commands discharge)."""
        self.capture_rate_hz = 5000.0
        """What a ``capture`` step asks of the digitizer (S/s): set by a suite that captures."""
        self.capture_pre_s = 2.0
        self.runs: list[CaptureRun] = []
        self.reader: Any = None
        """What reads an instrument while a capture runs and the case waits (``wait_until(condition, until)``): the
        2.1 suite's power analyzer; None: the clock alone."""
        self.instants: dict[str, float] = {}
        """Each labelled step's instant on the rig's clock: the rig's CALL sent, its answer to the CALL an
        ``expect`` matched, an action's start."""
        self.power_checks: list[PowerCheck] = []
        self.started_at: list[float] = []
        """Each step's start on the rig's clock, in order."""
        self._commanded_at: float | None = None
        """When the step being played commanded what it did (rig clock): the CALL the rig sent, the answer it gave
        to the CALL an ``expect`` matched, the connection an ``expect_reconnect`` saw (None: the step's start)."""
        self.link_cut_at: float | None = None
        """When the last ``cut_link`` step cut the charger's link (rig clock)."""
        self.external_given = False
        """An ``external_setpoint`` step left the charger a setpoint (cleared when the case ends)."""

    # -- the case -------------------------------------------------------------------------------------------

    def play(self, steps: list[s.AnyStep]) -> None:
        try:
            for index, step in enumerate(steps):
                name = s.check_name(index, step)
                started, self._commanded_at = self.clock.now(), None
                self.started_at.append(started)
                with self.lab.steps.step(self._describe(step)):
                    getattr(self, f"_do_{step.do}")(index, name, step)
                if step.label is not None:
                    self.instants[step.label] = self._commanded_at if self._commanded_at is not None else started
                if self.not_performed is not None:
                    break  # the rest depends on an action nobody may have done
        finally:
            self._leave()

    def _leave(self) -> None:
        """The vehicle unplugged however the case ended (the suite's case wrapper switches the supply off), and
        the security the case set up undone."""
        self._finish_capture()
        if self.external_given:
            self.lab.dut_control.external_setpoint(None)
        if self.vehicle is not None:
            self._unplug_vehicle()
        if self.listener is not None:
            self._unlisten()

    @staticmethod
    def _describe(step: s.AnyStep) -> str:
        """The step as the step log records it; a password is never written (``***``)."""
        details = {k: ("***" if "password" in k.lower() else v)
                   for k, v in step.model_dump(exclude_none=True).items() if k not in ("do", "label")}
        return f"{step.do} " + ", ".join(f"{k}={json.dumps(v)}" for k, v in details.items())

    def _anchor(self) -> None:
        self.anchor_t, self.anchor_index = self.clock.now(), len(self.csms.frames)

    def _record(self, index: int, name: str, what: str, met: bool, at: float | None, detail: str) -> None:
        if self.asked is not None and not met:
            self.not_performed = f"{self.asked} (the check after it was not met: {detail})"
        self.asked = None
        self.checks.append(CheckResult(name, index + 1, what, met, None if at is None else round(at - self.t0, 6),
                                       detail, round(self.clock.now() - self.t0, 6)))

    def _charger_calls(self, action: str, where: dict[str, Any]) -> list[tuple[int, Any]]:
        frames = list(self.csms.frames)
        return [(i, f) for i, f in enumerate(frames) if i >= self.anchor_index and i not in self.used
                and f.direction == "charger->rig" and f.kind == "CALL" and f.action == action
                and (self.identity is None or f.identity == self.identity)
                and not fields_equal(json.loads(f.text)[3], where)]

    # -- actions --------------------------------------------------------------------------------------------

    def _do_power_cycle(self, index: int, name: str, step: s.PowerCycle) -> None:
        self._anchor()
        self.asked = restart_charger(self.lab, step.off_s, self.nominal)
        self._anchor()

    def _do_power_off(self, index: int, name: str, step: s.PowerOff) -> None:
        self._anchor()
        if self.lab.has("grid"):
            self.lab.grid.output(False)
        elif not self.lab.operator.instruct("Switch the charger's supply off."):
            self.asked = "Switch the charger's supply off."

    def _do_answer(self, index: int, name: str, step: s.Answer) -> None:
        self.answers.overrides[step.action] = step.payload
        if step.action not in self.csms.responders:  # an action the plan's answers leave out: this payload
            action = step.action

            def answer(payload: dict[str, Any]) -> dict[str, Any]:
                return dict(self.answers.overrides[action])
            self.csms.responders[action] = answer

    def _do_plug_in(self, index: int, name: str, step: s.PlugIn) -> None:
        self._anchor()
        if not all(self.lab.has(role) for role in ("vehicle", "dio", "battery")) or self.vehicle_profile is None:
            if not self.lab.operator.instruct(ask := "Plug a vehicle into the charger's connector 1."):
                self.asked = ask
            return
        self.vehicle = VehicleEmulator(self.vehicle_profile, self.lab.vehicle, self.lab.dio, self.lab.battery,
                                       self.clock, stop_after_s=self.vehicle_charges_s, log_period_s=0.1,
                                       line_poll_s=VEHICLE_LINE_POLL_S, dc_every_s=VEHICLE_DC_EVERY_S,
                                       direction=self.vehicle_direction)  # type: ignore[arg-type]
        self.vehicle.plug_in()

    def _do_unplug(self, index: int, name: str, step: s.Unplug) -> None:
        self._anchor()
        if self.vehicle is None:
            if not self.lab.operator.instruct(ask := "Unplug the vehicle from the charger's connector 1."):
                self.asked = ask
            return
        self._unplug_vehicle()

    def _unplug_vehicle(self) -> None:
        assert self.vehicle is not None
        vehicle, self.vehicle = self.vehicle, None
        try:
            vehicle.unplug()
        finally:
            self.dc_log.extend(vehicle.recording.log)
            marks = ", ".join(f"{point} {at - self.t0:.1f} s" for point, at in vehicle.recording.marks.items())
            self.vehicle_sessions.append(f"the vehicle's session: {marks or 'no mark reached'}; its last phase "
                                         f"{vehicle.phase}")

    def _do_present_card(self, index: int, name: str, step: s.PresentCard) -> None:
        self._anchor()
        if not self.lab.operator.present_card(step.id_tag):
            self.asked = f"Present the card with idTag {step.id_tag} at the charger's reader."

    def _do_wait(self, index: int, name: str, step: s.Wait) -> None:
        self._pass_time(self.clock.now() + step.s)

    # -- checks ---------------------------------------------------------------------------------------------

    def _do_boot(self, index: int, name: str, step: s.Boot) -> None:
        if step.power_cycle_s is not None:
            self._do_power_cycle(index, name, s.PowerCycle(do="power_cycle", off_s=step.power_cycle_s))
        found: list[tuple[int, Any]] = []

        def accepted() -> bool:
            found[:] = [(i, f) for i, f in self._charger_calls("BootNotification", {})
                        if (answer := self._answer_to(f)) is not None
                        and json.loads(answer.text)[2].get("status") == "Accepted"]
            return bool(found)

        met = self._wait_until(accepted, self.anchor_t + step.within_s)
        if met:
            i, frame = found[0]
            self.used.add(i)
            self.identity = frame.identity
            # It has taken the answer in once it reports its connectors (OCPP 1.6 4.2: StatusNotification after
            # an accepted boot): the next step acts on a charger that knows it is accepted.
            self._wait_until(lambda: bool(self._charger_calls("StatusNotification", {})),
                             self.anchor_t + step.within_s)
            self._record(index, name, "BootNotification accepted", True, frame.t,
                         f"BootNotification at {frame.t - self.anchor_t:.3f} s, answered Accepted")
        else:
            self._record(index, name, "BootNotification accepted", False, None,
                         f"no accepted BootNotification within {step.within_s:g} s")

    def _answer_to(self, call: Any) -> Any:
        return next((f for f in list(self.csms.frames) if f.direction == "rig->charger"
                     and f.message_id == call.message_id and f.identity == call.identity), None)

    def _do_expect(self, index: int, name: str, step: s.Expect) -> None:
        where = self.answers.substitute(step.where)
        what = f"{step.action}" + (f" with {json.dumps(where)}" if where else "")
        met = self._wait_until(lambda: bool(self._charger_calls(step.action, where)),
                               self.anchor_t + step.within_s)
        found = self._charger_calls(step.action, where)
        if met and found and found[0][1].t <= self.anchor_t + step.within_s + 1e-9:
            i, frame = found[0]
            self.used.add(i)
            answer = self._answer_to(frame)
            self._commanded_at = answer.t if answer is not None else frame.t
            self._record(index, name, what, True, frame.t, f"{step.action} at {frame.t - self.anchor_t:.3f} s")
            return
        seen = [json.loads(f.text)[3] for _, f in self._charger_calls(step.action, {})]
        self._record(index, name, what, False, None, f"no {what} within {step.within_s:g} s"
                     + (f" (it sent {len(seen)} {step.action}: {json.dumps(seen[:3])})" if seen else ""))

    def _do_expect_none(self, index: int, name: str, step: s.ExpectNone) -> None:
        self.clock.sleep(step.for_s)
        what = f"no {step.action}" + (f" with {json.dumps(step.where)}" if step.where else "")
        found = self._charger_calls(step.action, step.where)
        if found:
            frame = found[0][1]
            self._record(index, name, what, False, frame.t, f"{step.action} at {frame.t - self.anchor_t:.3f} s: "
                                                            f"{frame.text}")
        else:
            self._record(index, name, what, True, None, f"none in {step.for_s:g} s")

    def _do_call(self, index: int, name: str, step: s.Call) -> None:
        self._anchor()
        what = f"{step.action} answered " + (f"CALLERROR {step.error}" if step.error else json.dumps(step.reply))
        if self.identity is None:
            self._record(index, name, what, False, None, "no charger connected to call")
            return
        payload = self.answers.substitute(self._listener_in(step.payload))
        first = len(self.csms.frames)
        try:
            reply = self.csms.call(self.identity, step.action, payload, timeout_s=step.within_s, poll_s=0.1)
            self._commanded_at = next((f.t for f in list(self.csms.frames)[first:] if f.direction == "rig->charger"
                                       and f.kind == "CALL" and f.action == step.action), None)
        except RigError as err:
            self._record(index, name, what, False, None, str(err))
            return
        if reply is None:
            self._record(index, name, what, False, None, f"no answer within {step.within_s:g} s")
            return
        at = self._reply_time(reply)
        if step.error is not None:
            met = reply.kind == "CALLERROR" and reply.error_code == step.error
            got = f"{reply.kind} {reply.error_code or json.dumps(reply.payload)}"
            self._record(index, name, what, met, at, f"answered {got}")
            return
        wrong = ["a CALLERROR " + str(reply.error_code)] if reply.kind != "CALLRESULT" \
            else fields_equal(reply.payload, self.answers.substitute(step.reply))
        self._record(index, name, what, not wrong, at, "answered " + (json.dumps(reply.payload) if not wrong
                                                                        else "; ".join(wrong)))

    def _listener_in(self, value: Any) -> Any:
        """``value`` with ``$listener`` as the last ``listen`` step's address (left as it is before one)."""
        if value == "$listener" and self.listener is not None:
            return self.listener
        if isinstance(value, dict):
            return {k: self._listener_in(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._listener_in(v) for v in value]
        return value

    def _reply_time(self, reply: Any) -> float | None:
        return next((f.t for f in reversed(list(self.csms.frames)) if f.direction == "charger->rig"
                     and f.message_id == reply.message_id), None)

    def _do_raw(self, index: int, name: str, step: s.Raw) -> None:
        self._anchor()
        what = "raw frame " + ("answered by closing" if step.close else f"answered CALLERROR {step.error}"
                               if step.error else "answered" if step.answered else "ignored, the connection kept")
        _, raw_id = readable_id(step.text)
        if self.identity is None:
            self._record(index, name, what, False, None, "no charger connected")
            return
        try:
            self.csms.send_raw(self.identity, step.text)
        except RigError as err:
            self._record(index, name, what, False, None, str(err))
            return

        def errors(kinds: tuple[str, ...] = ("CALLERROR",)) -> list[Any]:
            return [f for f in list(self.csms.frames)[self.anchor_index:] if f.direction == "charger->rig"
                    and f.identity == self.identity and f.kind in kinds
                    and (raw_id is None or f.message_id == raw_id)]

        def closed() -> bool:
            connection = self.csms.connections.get(self.identity)
            return connection is None or connection.closed_at is not None

        until = self.anchor_t + step.within_s
        if step.answered:
            self._wait_until(lambda: bool(errors(("CALLRESULT", "CALLERROR"))) or closed(), until)
            got = errors(("CALLRESULT", "CALLERROR"))
            self._record(index, name, what, bool(got) and not closed(), got[0].t if got else None,
                         f"answered {got[0].kind}" + (" and closed the connection" if closed() else "") if got
                         else "closed the connection" if closed() else f"no answer within {step.within_s:g} s")
            return
        if step.error is None and not step.close:  # nothing to answer (no id could be read): it must keep serving
            self.clock.sleep(step.within_s)
            self._record(index, name, what, not closed(), None if not closed() else self.clock.now(),
                         "kept the connection" if not closed() else "closed the connection")
            return
        if step.close:
            met = self._wait_until(closed, until)
            self._record(index, name, what, met, self.clock.now() if met else None,
                         "closed the connection" if met else f"still connected after {step.within_s:g} s")
            return
        self._wait_until(lambda: bool(errors()) or closed(), until)
        got = errors()
        if got:
            code = json.loads(got[0].text)[2]
            self._record(index, name, what, code == step.error, got[0].t, f"answered CALLERROR {code}")
        else:
            self._record(index, name, what, False, None, "closed the connection" if closed()
                         else f"no CALLERROR within {step.within_s:g} s")

    def _wait_until(self, condition, until: float) -> bool:
        """Wait for ``condition`` until the clock reaches ``until``; while a capture runs, through the ``reader``
        a suite gave (an instrument read update by update as the time passes)."""
        if self._reading():
            return self.reader.wait_until(condition, until)
        return wait_until(self.clock, condition, timeout_s=max(0.0, until - self.clock.now()), poll_s=POLL_S)

    def _pass_time(self, until: float) -> None:
        if self._reading():
            self.reader.wait_until(lambda: False, until)
        else:
            self.clock.sleep(max(0.0, until - self.clock.now()))

    def _reading(self) -> bool:
        return self.reader is not None and bool(self.runs) and self.runs[-1].capture is None

    # -- the power at the grid (OCPP 2.1 V2X) -------------------------------------------------------------------

    def _do_capture(self, index: int, name: str, step: s.Capture) -> None:
        self._finish_capture()
        self._anchor()
        voltage, nominal_hz = self.nominal
        steps, before = [], nominal_hz
        for piece in step.frequency:
            steps.append(GridStep(piece.dwell_s, (voltage, voltage), (before if piece.ramp else piece.hz, piece.hz)))
            before = piece.hz
        rest = step.s - sum(piece.dwell_s for piece in step.frequency)
        if rest > 0:
            steps.append(GridStep.hold(rest, voltage, nominal_hz))
        program = GridProgram(tuple(steps))
        self.lab.capture.arm(pre_s=self.capture_pre_s, post_s=program.duration_s, sample_rate_hz=self.capture_rate_hz)
        if not wait_until(self.clock, self.lab.capture.armed, timeout_s=self.capture_pre_s + ARMING_MARGIN_S,
                          poll_s=max(self.capture_pre_s / 5.0, 0.001)):
            raise CannotJudge(f"the digitizer was not armed {self.capture_pre_s + ARMING_MARGIN_S:g} s after its "
                              "acquisition started: nothing can be judged at the grid")
        self.lab.grid.run_program(program)
        self.runs.append(CaptureRun(self.clock.now(), program))

    def _finish_capture(self) -> None:
        """The last capture's program run to its end and its record fetched (the nominal grid applied after)."""
        run = self.runs[-1] if self.runs else None
        if run is None or run.capture is not None:
            return
        self._pass_time(run.trigger_t + run.program.duration_s)
        if not wait_until(self.clock, self.lab.capture.complete, timeout_s=5.0, poll_s=0.05):
            raise CannotJudge("the digitizer did not complete its acquisition (no trigger from the grid simulator?)")
        run.capture = self.lab.capture.fetch()
        self.lab.grid.apply(*self.nominal)

    def _do_cut_link(self, index: int, name: str, step: s.CutLink) -> None:
        self._anchor()
        if self.identity is None:
            raise CannotJudge("no charger connected: there is no link to cut")
        self.link_cut_at = self.clock.now()
        self.csms.cut_link(self.identity, step.s)

    def _do_expect_reconnect(self, index: int, name: str, step: s.ExpectReconnect) -> None:
        def back() -> list[Any]:
            return [c for c in list(self.csms.history) if c.identity == self.identity
                    and c.connected_at > self.anchor_t and c.closed_at is None]

        self._wait_until(lambda: bool(back()), self.anchor_t + step.within_s)
        found = back()
        if found:
            self._commanded_at = found[0].connected_at
            self._record(index, name, "connected again", True, found[0].connected_at,
                         f"connected again {found[0].connected_at - self.anchor_t:.3f} s after the last action")
        else:
            self._record(index, name, "connected again", False, None, f"not connected again within {step.within_s:g} s")

    def _do_external_setpoint(self, index: int, name: str, step: s.ExternalSetpoint) -> None:
        if not self.lab.has("dut_control"):
            raise CannotJudge("the bench has no dut_control (the charger's SunSpec controls) for the rig to give an "
                              "external setpoint through")
        self._commanded_at = self.clock.now()
        self.lab.dut_control.external_setpoint(step.w)
        self.external_given = step.w is not None

    def _do_power(self, index: int, name: str, step: s.Power) -> None:
        if not self.runs or self.runs[-1].capture is not None:
            raise CannotJudge(f"step {index + 1}: a power check needs a capture running (a capture step before it)")
        self.power_checks.append(PowerCheck(index, name, step, len(self.runs) - 1))

    def window_end(self, steps: list[s.AnyStep], index: int) -> float | None:
        """When the power a check at ``index`` judges stops being what it commanded: the start of the next step after
        it that may change the power (anything but a wait, a check of frames or another power check), or None (the
        capture's end)."""
        quiet = (s.Wait, s.Power, s.Expect, s.ExpectNone, s.Answer, s.ExpectReconnect)
        for later in range(index + 1, len(self.started_at)):
            if not isinstance(steps[later], quiet):
                return self.started_at[later]
        return None

    # -- security profiles -------------------------------------------------------------------------------------

    def _do_listen(self, index: int, name: str, step: s.Listen) -> None:
        self._anchor()
        self.listener = self.csms.listen_secure(step.profile, server_ca=step.server_ca, tls_max=step.tls_max,
                                                password=step.password)
        profile = step.profile if step.commission else None
        if step.configure and not self.lab.operator.configure_ocpp(self.listener, profile,
                                                                   step.password if step.commission else None):
            self.asked = f"Configure the charger for {self.csms.listener_of(self.listener)} at {self.listener}."

    def _unlisten(self) -> None:
        """The case's listeners closed and the charger configured back to the bench's address and profile."""
        self.csms.close_case_listeners()
        self.listener = None
        password = self.csms.passwords.get(self.identity) if self.identity is not None else None
        self.lab.operator.configure_ocpp(self.csms.url, self.csms.security_profile, password)

    def _since_anchor(self) -> tuple[list[Any], list[Any]]:
        """The connections the rig kept and the refusals it recorded at the case's listener since the last action."""
        kept = [c for c in list(self.csms.history) if c.listener == self.listener and c.connected_at >= self.anchor_t
                and (self.identity is None or c.identity == self.identity)]
        refused = [r for r in list(self.csms.refusals) if r.listener == self.listener and r.t >= self.anchor_t]
        return kept, refused

    def _do_expect_connection(self, index: int, name: str, step: s.ExpectConnection) -> None:
        where = self.csms.listener_of(self.listener) if self.listener else "no listener"
        what = f"a connection kept at {where}" + (f", judged on {', '.join(step.rules)}" if step.rules else "")
        if self.listener is None:
            self._record(index, name, what, False, None, "no listen step opened an address to connect to")
            return
        self._wait_until(lambda: bool(self._since_anchor()[0]), self.anchor_t + step.within_s)
        kept, refused = self._since_anchor()
        if not kept:
            self._record(index, name, what, False, None, f"no connection kept within {step.within_s:g} s"
                         + (f"; refused: {'; '.join(sorted({r.reason for r in refused}))}" if refused
                            else "; no attempt seen"))
            return
        connection = kept[0]
        problems = profile_problems(connection, step.rules)
        if step.rules is not None and "issued_certificate" in step.rules:
            problems += self._not_issued(connection)
        self._record(index, name, what, not problems, connection.connected_at,
                     describe_connection(connection, self.t0) + (f"; BROKEN: {'; '.join(problems)}" if problems else ""))

    def _do_expect_refused(self, index: int, name: str, step: s.ExpectRefused) -> None:
        where = self.csms.listener_of(self.listener) if self.listener else "no listener"
        what = f"connections at {where} refused" + (f" ({step.reason})" if step.reason else "")
        if self.listener is None:
            self._record(index, name, what, False, None, "no listen step opened an address to connect to")
            return
        self.clock.sleep(max(0.0, self.anchor_t + step.for_s - self.clock.now()))
        kept, refused = self._since_anchor()
        matching = [r for r in refused if step.reason is None or step.reason.lower() in r.reason.lower()]
        if kept:
            self._record(index, name, what, False, kept[0].connected_at, "the charger connected and the "
                         f"connection was kept: {describe_connection(kept[0], self.t0)}")
        elif not matching:
            self._record(index, name, what, False, None, f"no attempt refused in {step.for_s:g} s"
                         + (f" naming {step.reason!r} (refused: {'; '.join(r.reason for r in refused)})"
                            if refused else " (the charger never tried: nothing shows the rule held)"))
        else:
            self._record(index, name, what, True, matching[0].t, f"{len(matching)} attempt(s) refused, the first "
                         f"at {matching[0].t - self.anchor_t:.3f} s: {matching[0].reason}")


    def _not_issued(self, connection: Any) -> list[str]:
        """Why the connection's client certificate is not the one this case issued (none when it is)."""
        if self.issued_serial is None:
            return ["no certificate_signed step of this case issued a certificate"]
        shown = connection.tls.client_serial if connection.tls is not None else None
        if shown != self.issued_serial:
            return [f"client certificate serial {shown}, not {self.issued_serial} the rig issued in CertificateSigned"]
        return []

    # -- the station's certificate (OCPP 2.0.1 A02/A03) ------------------------------------------------------

    def _do_certificate_signed(self, index: int, name: str, step: s.CertificateSigned) -> None:
        what = f"SignCertificate with a CSR a CSMS may sign, CertificateSigned ({step.signer}) answered " \
               f"{json.dumps(step.reply)}"
        if self.identity is None:
            self._record(index, name, what, False, None, "no charger connected")
            return
        self._wait_until(lambda: bool(self._charger_calls("SignCertificate", {})), self.anchor_t + step.within_s)
        found = [(i, f) for i, f in self._charger_calls("SignCertificate", {})
                 if f.t <= self.anchor_t + step.within_s + 1e-9]
        if not found:
            self._record(index, name, what, False, None, f"no SignCertificate within {step.within_s:g} s")
            return
        i, frame = found[0]
        self.used.add(i)
        csr = json.loads(frame.text)[3].get("csr", "")
        subject, problems = csr_problems(csr, self.identity, step.organization)
        sent_at = f"SignCertificate at {frame.t - self.anchor_t:.3f} s, CSR {subject}"
        if problems:
            self._record(index, name, what, False, frame.t, f"{sent_at}; BROKEN: {'; '.join(problems)}")
            return
        pki = getattr(self.csms, "pki", None)
        if pki is None:
            raise CannotJudge("the rig cannot sign the station's CSR: its CSMS has no CA key (the bench's csms "
                              "options need tls: generate)")
        certificate = sign_csr(csr, pki, step.signer)
        serial = format(certificate.serial_number, "x")
        if step.signer == "operator":
            self.issued_serial = serial
        self._anchor()
        payload = {"certificateChain": pem_of(certificate), "certificateType": step.certificate_type}
        try:
            reply = self.csms.call(self.identity, "CertificateSigned", payload, timeout_s=step.reply_within_s,
                                   poll_s=0.1)
        except RigError as err:
            self._record(index, name, what, False, None, f"{sent_at}; {err}")
            return
        issued = f"{sent_at}; signed ({step.signer}, serial {serial}); CertificateSigned "
        if reply is None:
            self._record(index, name, what, False, None, issued + f"not answered within {step.reply_within_s:g} s")
            return
        wrong = ["a CALLERROR " + str(reply.error_code)] if reply.kind != "CALLRESULT" \
            else fields_equal(reply.payload, step.reply)
        self._record(index, name, what, not wrong, self._reply_time(reply),
                     issued + "answered " + (json.dumps(reply.payload) if not wrong else "; ".join(wrong)))


def profile_problems(connection: Any, rules: list[str] | None) -> list[str]:
    """What a kept connection breaks of its listener's profile (``rules``: those judged; None: every one)."""
    applicable = ["tls", "client_certificate", "client_cn"] if connection.profile == 3 else \
        ["tls"] if connection.profile == 2 else []
    judged = [rule for rule in applicable if rules is None or rule in rules]
    if connection.tls is None:
        return [f"no TLS at security profile {connection.profile}"] if judged else []
    return connection.tls.problems_of(judged)


def describe_connection(connection: Any, t0: float) -> str:
    """A kept connection as evidence: when (from ``t0``, the case's start), the profile it was held to, basic
    auth's username, what TLS showed."""
    text = f"connected at {connection.connected_at - t0:.3f} s, security profile {connection.profile}"
    if connection.basic_auth_user is not None:
        text += f", basic auth as {connection.basic_auth_user!r}"
    tls = connection.tls
    if tls is not None:
        text += f", {tls.version} {tls.cipher}"
        if tls.client_subject is not None:
            text += f", client certificate {tls.client_subject} ({tls.client_key}) from {tls.client_issuer}"
    return text
