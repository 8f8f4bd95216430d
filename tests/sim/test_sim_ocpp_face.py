"""The simulated charger's OCPP face against the rig's CSMS, in virtual time: every frame handled at the lab
instant it was sent, its timers on the lab clock, so a day of heartbeats costs the exchanges, not the day."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from drivers.csms.ocpp_csms import OcppCsms
from rig.core.clock import VirtualClock
from rig.sim.charger.dut_profile import DutProfile
from rig.sim.charger.ocpp_settings import OcppSettings
from rig.sim.simulated_lab import SimulatedLab


@pytest.fixture
def ocpp_lab(compliant: DutProfile) -> Iterator[SimulatedLab]:
    profile = compliant.model_copy(update={"ocpp": OcppSettings(identity="CP001", connect_after_s=2.0)})
    lab = SimulatedLab(profile, seed=1)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def csms() -> Iterator[OcppCsms]:
    server = OcppCsms("ws://127.0.0.1:0/ocpp", name="csms", options={"versions": ["1.6"]})
    server.setup()
    yield server
    server.close()


def power(lab: SimulatedLab, on: bool) -> None:
    """The grid simulator's output on (230 V, relay closed) or off at the lab's current instant: the charger's
    supply."""
    with lab.lock:
        t = lab.model.now
        lab.model.grid.set_voltage(t, 230.0)
        lab.model.grid.set_relay(t, True)
        lab.model.grid.set_output(t, on)


def boot_answer(status: str, interval: int):
    return lambda payload: {"status": status, "currentTime": "2026-12-06T12:00:00Z", "interval": interval}


HEARTBEAT = {"Heartbeat": lambda payload: {"currentTime": "2026-12-06T12:00:00Z"}}


def started(lab: SimulatedLab, csms: OcppCsms, **responders) -> VirtualClock:
    """The rig's central system answering with ``responders`` on the lab's virtual clock, the charger told where it
    listens and its supply switched on at 0 (it connects 2 s later)."""
    csms.responders.update(responders)
    clock = VirtualClock(lab)
    csms.attach_clock(clock)
    lab.attach_ocpp(csms.url)
    power(lab, True)
    return clock


def calls(csms: OcppCsms, action: str) -> list:
    return [f for f in csms.frames if f.direction == "charger->rig" and f.kind == "CALL" and f.action == action]


def test_a_day_of_heartbeats_each_at_its_instant_and_answered_there(ocpp_lab: SimulatedLab, csms: OcppCsms) -> None:
    clock = started(ocpp_lab, csms, BootNotification=boot_answer("Accepted", 300), **HEARTBEAT)
    clock.sleep(86400.0)
    (boot,) = calls(csms, "BootNotification")
    assert boot.t == pytest.approx(2.0, abs=1e-9) and boot.problems == ()
    beats = calls(csms, "Heartbeat")
    assert [round(f.t, 6) for f in beats] == [round(2.0 + 300.0 * k, 6) for k in range(1, len(beats) + 1)]
    assert len(beats) == 287  # 2 s + 287 x 300 s fit in the day
    statuses = calls(csms, "StatusNotification")  # each connector reported Available after the boot, one at a time
    assert [json.loads(f.text)[3]["connectorId"] for f in statuses] == [0, 1] and all(f.t == 2.0 for f in statuses)
    answers = {f.message_id: f for f in csms.frames if f.direction == "rig->charger"}
    assert all(answers[f.message_id].t == f.t for f in beats)  # answered at the instant sent
    face = ocpp_lab.model.ocpp
    assert face is not None and face.state == "accepted" and face.problems == []


def test_a_rejected_boot_is_retried_at_the_interval_given(ocpp_lab: SimulatedLab, csms: OcppCsms) -> None:
    answers = iter([boot_answer("Rejected", 120), boot_answer("Pending", 45), boot_answer("Accepted", 600)])
    clock = started(ocpp_lab, csms, BootNotification=lambda payload: next(answers)(payload), **HEARTBEAT)
    clock.sleep(1000.0)
    assert [round(f.t, 6) for f in calls(csms, "BootNotification")] == [2.0, 122.0, 167.0]
    assert [round(f.t, 6) for f in calls(csms, "Heartbeat")] == [767.0]


def test_a_power_cut_drops_the_connection_at_its_instant_and_the_charger_boots_again(
        ocpp_lab: SimulatedLab, csms: OcppCsms) -> None:
    clock = started(ocpp_lab, csms, BootNotification=boot_answer("Accepted", 60), StatusNotification=lambda p: {},
                    **HEARTBEAT)
    clock.sleep(100.0)
    power(ocpp_lab, False)
    clock.sleep(50.0)
    power(ocpp_lab, True)
    clock.sleep(10.0)
    connection = csms.connections["CP001"]  # the second connection (the first was dropped)
    assert connection.connected_at == 152.0 and connection.closed_at is None
    assert [round(f.t, 6) for f in calls(csms, "BootNotification")] == [2.0, 152.0]
    assert [round(f.t, 6) for f in calls(csms, "Heartbeat")] == [62.0]


def test_the_rigs_call_is_answered_by_the_charger_at_the_instant_sent(ocpp_lab: SimulatedLab, csms: OcppCsms) -> None:
    clock = started(ocpp_lab, csms, BootNotification=boot_answer("Accepted", 3600))
    clock.sleep(10.0)
    reply = csms.call("CP001", "GetLocalListVersion", {}, timeout_s=5.0, poll_s=0.1)
    assert reply is not None and reply.kind == "CALLERROR" and reply.error_code == "NotSupported"
    sent, got = [f for f in csms.frames if f.action == "GetLocalListVersion"]
    assert sent.t == got.t == 10.0
    assert json.loads(got.text)[2] == "NotSupported"
