"""An OCPP case as data: the steps the test case document gives, each a rig action or a check of what the charger
sent, in the order the document gives them.

A check is judged on what the rig recorded as the central system: a CALL of
the charger's that must come (``expect``) or must not (``expect_none``), the
charger's reply to a CALL of the rig's (``call``), or its answer to a frame
the rig sent deliberately wrong (``raw``). Each check is one measured value,
1 when met and 0 when not, with the limit ``min: 1``: a check the charger
never got to (an earlier step broke off) is 0, so a case cannot pass by not
getting there. Actions switch the charger's supply, plug the vehicle
emulator in or out, show a card, change an answer of the rig's, or wait.

Payload values ``$transactionId`` and ``$idTag`` stand for the last
transaction id the rig gave the charger and the idTag it started with,
``$listener`` for the address the last ``listen`` step opened (2.0.1 gives
it to the station in SetNetworkProfile); in a ``where`` or ``reply``,
``$present`` asks only that the field be there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from rig.protocols.ocpp.security import CsrSigner
from rig.suites.platform import Strict


class StepBase(Strict):
    label: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$",
                              description="The check's name in the results (default: its step number and action).")


class PowerCycle(StepBase):
    """The charger's supply off for ``off_s``, then on (the grid simulator's output)."""

    do: Literal["power_cycle"]
    off_s: float = Field(5.0, gt=0)


class PowerOff(StepBase):
    do: Literal["power_off"]


class Boot(StepBase):
    """Wait for the charger's BootNotification and the rig's Accepted answer (checked); with ``power_cycle_s``,
    its supply is switched off that long and on first (the wait counts from the supply coming on)."""

    do: Literal["boot"]
    within_s: float = Field(gt=0)
    power_cycle_s: float | None = Field(None, gt=0)


class Expect(StepBase):
    """The charger sends ``action`` (with ``where``: payload fields, dotted paths, equal to these) within
    ``within_s`` of the last action step's start (checked). It looks at what came since that action began, so a
    message sent while the action's own exchange was going on counts; a frame one check matched is not matched
    again."""

    do: Literal["expect"]
    action: str
    where: dict[str, Any] = Field(default_factory=dict)
    within_s: float = Field(gt=0, description="From the start of the last action step (what it answers).")


class ExpectNone(StepBase):
    """The charger sends no ``action`` matching ``where`` for ``for_s`` (checked)."""

    do: Literal["expect_none"]
    action: str
    where: dict[str, Any] = Field(default_factory=dict)
    for_s: float = Field(gt=0)


class Call(StepBase):
    """The rig sends a CALL; the charger answers within ``within_s`` with a CALLRESULT whose fields equal
    ``reply`` (or, with ``error``, that CALLERROR code) (checked)."""

    do: Literal["call"]
    action: str
    payload: dict[str, Any] = Field(default_factory=dict)
    reply: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    within_s: float = Field(10.0, gt=0)


class Raw(StepBase):
    """The rig sends ``text`` as it is (deliberately invalid); within ``within_s`` the charger answers the
    CALLERROR ``error``, or answers at all (``answered``: a CALLRESULT or any CALLERROR, where the version leaves
    the answer open), or closes the connection (``close``); with none of these (a frame whose id cannot be read,
    so nothing can answer it) it keeps the connection for ``within_s`` (checked). An answer counts only with the
    id of ``text`` when one can be read."""

    do: Literal["raw"]
    text: str
    error: str | None = None
    answered: bool = False
    close: bool = False
    within_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _one_expectation(self) -> "Raw":
        if sum((self.error is not None, self.answered, self.close)) > 1:
            raise ValueError("give at most one of error, answered and close")
        return self


class Answer(StepBase):
    """From now on the rig answers ``action`` with ``payload`` (merged over its plan's answer; an action the plan
    has no answer for, such as 2.0.1 SignCertificate, gets ``payload`` itself)."""

    do: Literal["answer"]
    action: str
    payload: dict[str, Any]


class PlugIn(StepBase):
    """The vehicle emulator plugs in and charges when the charger lets it (a CHAdeMO session)."""

    do: Literal["plug_in"]


class Unplug(StepBase):
    do: Literal["unplug"]


class PresentCard(StepBase):
    """An idTag shown at the charger's reader (a physical action: the operator's)."""

    do: Literal["present_card"]
    id_tag: str


class Wait(StepBase):
    do: Literal["wait"]
    s: float = Field(gt=0)


class Listen(StepBase):
    """The rig listens at another port held to security ``profile`` (A00.FR.006: one profile per port; wss:// for
    2 and 3 presenting the CSMS certificate, or with ``server_ca: untrusted`` one from a CA the charger was never
    given, or with ``tls_max`` only TLS up to that version) and the operator sets the charger's central system
    address to it at the charger's configuration tool; with ``commission`` also its security profile and its
    password (the test case's precondition: lowering a profile is never done over OCPP, A00.FR.005). The rig
    holds the charger to ``password`` there (1.6: its AuthorizationKey as hex digits). The case's listeners
    close when it ends and the charger is configured back to the bench's address. With ``configure: false`` nobody
    is asked: the case gives the address over OCPP (``$listener``, 2.0.1 SetNetworkProfile)."""

    do: Literal["listen"]
    profile: Literal[0, 1, 2, 3]
    server_ca: Literal["operator", "untrusted"] = "operator"
    tls_max: Literal["1.0", "1.1"] | None = None
    password: str | None = Field(None, min_length=1)
    commission: bool = False
    configure: bool = True

    @model_validator(mode="after")
    def _commissioned_where_configured(self) -> "Listen":
        if self.commission and not self.configure:
            raise ValueError("commission sets the charger at its configuration tool: it needs configure")
        return self


class ExpectConnection(StepBase):
    """Within ``within_s`` of the last action the charger opens a connection the rig keeps at the last ``listen``'s
    address, and it breaks none of ``rules`` of that profile (checked): ``tls`` TLS 1.2 or later, a suite pair of
    A00.FR.318; ``client_certificate`` one presented, chained to the operator CA, keys and hash as A00.FR.501-505
    say; ``client_cn`` its CN the station's identity, its serial (A00.FR.511); ``issued_certificate`` (only when
    named) the certificate is the one this case's ``certificate_signed`` step issued (the station uses what it
    installed). Basic auth (profiles 1 and 2) is judged by the rig keeping the connection at all: a wrong username
    or password is refused with 401."""

    do: Literal["expect_connection"]
    within_s: float = Field(gt=0)
    rules: list[Literal["tls", "client_certificate", "client_cn", "issued_certificate"]] | None = Field(
        None, description="The rules judged (default: every rule of the listener's profile).")


class ExpectRefused(StepBase):
    """For ``for_s`` from the last action the rig keeps no connection of the charger at the last ``listen``'s
    address, and at least one attempt was refused there, by either end (checked): a charger that never tried
    proves nothing. With ``reason``, a refusal's reason contains it."""

    do: Literal["expect_refused"]
    for_s: float = Field(gt=0)
    reason: str | None = None


class CertificateSigned(StepBase):
    """OCPP 2.0.1 A02/A03: the charger's SignCertificate since the last action, within ``within_s`` (the rig answers
    it as its ``answer`` step says), its CSR held to what a CSMS may sign (``rig.protocols.ocpp.security.
    csr_problems``: CN the station's identity, O ``organization`` when given, key sizes, SHA-256); then the CSR
    signed by ``signer`` (the operator CA; ``untrusted`` or ``other_key`` for a certificate the station must
    refuse) and sent in CertificateSigned, which the charger answers within ``reply_within_s`` with ``reply``
    (checked, one check for the whole exchange). Later checks count from the CertificateSigned."""

    do: Literal["certificate_signed"]
    within_s: float = Field(gt=0, description="From the start of the last action step (its TriggerMessage).")
    signer: CsrSigner = "operator"
    organization: str | None = Field(None, description="The subject O the CSR must name (the station's "
                                                       "SecurityCtrlr.OrganizationName); none: not judged.")
    certificate_type: Literal["ChargingStationCertificate", "V2GCertificate"] = "ChargingStationCertificate"
    reply: dict[str, Any] = Field(default_factory=lambda: {"status": "Accepted"})
    reply_within_s: float = Field(10.0, gt=0)


class FrequencyStep(Strict):
    """One step of the grid simulator's frequency during a capture: held, or ramped from the last value."""

    hz: float = Field(gt=0)
    dwell_s: float = Field(gt=0)
    ramp: bool = Field(False, description="Ramp linearly from the frequency before to ``hz`` over the dwell.")


class Capture(StepBase):
    """The digitizer armed at the charger's AC terminals, triggered by the grid simulator starting a program of
    ``s`` seconds (the nominal grid held, or ``frequency`` stepped and ramped): the steps that follow run while it
    records, and the ``power`` checks are judged on it once it is fetched (at the case's end or the next
    capture). Its trigger is the time origin of the judged instants."""

    do: Literal["capture"]
    s: float = Field(gt=0)
    frequency: list[FrequencyStep] = Field(default_factory=list, description="The frequency program from the "
                                                                            "trigger (the nominal after it).")

    @model_validator(mode="after")
    def _program_fits(self) -> "Capture":
        if sum(piece.dwell_s for piece in self.frequency) > self.s + 1e-9:
            raise ValueError(f"the frequency program lasts longer than the capture's {self.s:g} s")
        return self


class CutLink(StepBase):
    """The rig's central system drops the charger's connection without a closing handshake (a link loss) and
    refuses it for ``s``, recording each attempt."""

    do: Literal["cut_link"]
    s: float = Field(gt=0)


class ExpectReconnect(StepBase):
    """Within ``within_s`` of the last action the charger connects to the rig again and the rig keeps the
    connection (checked): after a cut link, once it is up again (the charger's back-off decides when)."""

    do: Literal["expect_reconnect"]
    within_s: float = Field(gt=0)


class ExternalSetpoint(StepBase):
    """The rig, as the charger's external system (an EMS, through the bench's ``dut_control``: its SunSpec storage
    controls), gives it ``w`` (W, AC, positive charging) to follow, or clears it (``w`` omitted): what the charger
    follows in OCPP 2.1's ExternalSetpoint mode, within its CSMS profile's limit and dischargeLimit. A ``power``
    check may be judged ``since`` it."""

    do: Literal["external_setpoint"]
    w: float | None = Field(None, allow_inf_nan=False)


class Curve(Strict):
    """A freq-watt curve as the profile gives it: ``baseline_w`` plus the points (Hz, W), linear between them."""

    baseline_w: float
    points: list[tuple[float, float]] = Field(min_length=2)


class Bounds(Strict):
    """What the power must never pass (W, AC, positive charging): the period's limit and dischargeLimit."""

    min_w: float | None = None
    max_w: float | None = None


class Power(StepBase):
    """A check of the power measured at the grid (judged once the capture is fetched): from the instant the rig
    commanded it (``since``: the label of the ``call`` that sent it, the ``expect`` whose CALL the rig answered
    with it, the ``external_setpoint``, ``cut_link`` or ``capture`` that began it, plus ``after_s``) to the next ``power`` check's instant
    or the capture's end, the charger's AC power (W, positive charging) reaches ``target_w`` (or follows
    ``curve`` at the measured frequency) within the plan's response time, settles within its tolerance, and
    never passes ``bounds``."""

    do: Literal["power"]
    since: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    after_s: float = Field(0.0, ge=0, description="The command takes effect this long after that step (a "
                                                  "maxOfflineDuration running out).")
    target_w: float | None = None
    curve: Curve | None = None
    bounds: Bounds = Field(default_factory=Bounds)
    respond: bool = Field(True, description="Judge the time to 90 % of the change (a change smaller than the "
                                            "plan's tolerance is never judged).")

    @model_validator(mode="after")
    def _one_target(self) -> "Power":
        if (self.target_w is None) == (self.curve is None):
            raise ValueError("give target_w or curve")
        return self


AnyStep = Union[PowerCycle, PowerOff, Boot, Expect, ExpectNone, Call, Raw, Answer, PlugIn, Unplug, PresentCard, Wait,
                Listen, ExpectConnection, ExpectRefused, CertificateSigned, Capture, CutLink, Power, ExpectReconnect,
                ExternalSetpoint]
Step = Annotated[AnyStep, Field(discriminator="do")]
CHECKS = (Boot, Expect, ExpectNone, Call, Raw, ExpectConnection, ExpectRefused, CertificateSigned, ExpectReconnect)
"""The steps that judge something."""


def check_name(index: int, step: AnyStep) -> str:
    """The measured value's name of a checking step: its label, or its number and what it checks."""
    if step.label is not None:
        return step.label
    what = getattr(step, "action", None) or step.do
    return f"step_{index + 1:02d}_{step.do}_{what}".lower()
