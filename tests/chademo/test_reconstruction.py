"""What the session reconstruction says about the real traces, and about synthetic live sessions."""

from __future__ import annotations

import pytest

import synthetic
from trace_files import GENIEPOINT, LEAF_V2H, LEAF_ZE1_CHARGING, LEAF_ZE1_START
from rig.chademo.messages import Side
from rig.chademo.reconstruction import SessionSummary, summarise
from rig.chademo.session import ContactEdge, Session
from rig.chademo.traces import Trace
from synthetic import when


def summary_of(shared_traces: dict[str, Trace], name: str) -> SessionSummary:
    return summarise(Session.from_trace(shared_traces[name]))


def phases(summary: SessionSummary) -> list[tuple[str, float]]:
    return [(phase.name, round(phase.start, 3)) for phase in summary.phases]


def test_geniepoint_failure_is_the_charger_stopping_on_its_own_malfunction(shared_traces) -> None:
    summary = summary_of(shared_traces, GENIEPOINT.name)
    assert not summary.v2h and summary.negotiated_protocol == 2
    assert phases(summary) == [("handshake", 0.0), ("compatibility_check", 0.235), ("insulation_test", 1.636),
                               ("contactors_closed", 8.475), ("charging", 8.938), ("stopping", 9.84),
                               ("ended", 11.339)]
    ending = summary.ending
    assert ending is not None and ending.cause.side is Side.EVSE and ending.phase == "charging"
    assert ending.cause.t == pytest.approx(9.840, abs=1e-3)
    assert ending.cause.reasons[0] == "charger malfunction (109.5.1)"
    assert ending.cause.evidence[-1].source == f"{GENIEPOINT.name}:327"
    assert "output up to 398 V and 1 A against requests up to 8 A" in ending.context
    assert "above the EV's target voltage 393 V" in ending.context
    assert any("EV protocol number changed 1 -> 2" in note for note in summary.notes)


def test_leaf_v2h_session_is_v2h_and_stopped_normally_by_the_charger(shared_traces) -> None:
    summary = summary_of(shared_traces, LEAF_V2H.name)
    assert summary.v2h and "102.5.7 = 1" in summary.v2h_evidence and "0x208 x511" in summary.v2h_evidence
    assert [name for name, _ in phases(summary)] == ["handshake", "compatibility_check", "insulation_test",
                                                     "contactors_closed", "charging", "stopping", "ended"]
    ending = summary.ending
    assert ending is not None and ending.cause.side is Side.EVSE
    assert "no fault flag" in ending.cause.reasons[0]
    assert ending.cause.evidence[-1].source == f"{LEAF_V2H.name}:3741"
    assert any("energy flowed only to the vehicle" in note for note in summary.notes)


def test_leaf_ze1_charging_is_a_v2h_session_recorded_mid_charge(shared_traces) -> None:
    summary = summary_of(shared_traces, LEAF_ZE1_CHARGING.name)
    assert summary.v2h
    assert (summary.protocol_ev, summary.protocol_evse, summary.negotiated_protocol) == (2, 1, 1)
    assert phases(summary) == [("charging", 0.0)] and summary.ending is None
    assert any("starts during charging" in note for note in summary.notes)
    assert any("recording gaps" in note for note in summary.notes)


def test_leaf_ze1_start_is_not_v2h_the_charger_is_not_discharge_capable(shared_traces) -> None:
    summary = summary_of(shared_traces, LEAF_ZE1_START.name)
    assert not summary.v2h and "109.4.0 = 0" in summary.v2h_evidence and "0x208 x0" in summary.v2h_evidence
    assert phases(summary) == [("handshake", 0.0), ("compatibility_check", 0.146)]
    assert summary.ending is None


def test_a_live_session_starts_idle_and_ends_with_d1_off() -> None:
    edges = [ContactEdge(-0.5, "d1", False), *synthetic.compliant_edges()]
    summary = summarise(synthetic.session(edges=edges))
    assert summary.phases[0].name == "idle"
    assert summary.ending is not None and summary.ending.cause.side is Side.EV


@pytest.mark.parametrize("edit, side, reason", [
    (when(7.0, 99, 0x102, FaultHighBatteryTemperature=1), Side.EV, "high battery temperature (102.4.3)"),
    (when(7.0, 99, 0x102, ShiftNotPark=1), Side.EV, "shift lever out of P (102.5.1)"),
    (when(7.0, 99, 0x109, ChargingSystemMalfunction=1, StopControl=1), Side.EVSE,
     "charging-system malfunction (109.5.4)"),
])
def test_who_ended_the_session_and_why(edit, side: Side, reason: str) -> None:
    ending = summarise(synthetic.session(edit)).ending
    assert ending is not None and (ending.cause.side, ending.cause.reasons[0]) == (side, reason)
    assert ending.cause.t == pytest.approx(7.0, abs=0.06)


def test_ev_silence_ends_a_session() -> None:
    session = synthetic.session(drop=lambda t, fid: fid in synthetic.EV_IDS and t >= 6.0)
    ending = summarise(session).ending
    assert ending is not None and ending.cause.side is Side.EV and "stopped" in ending.cause.reasons[0]


def test_k_off_ends_a_live_session() -> None:
    edges = synthetic.edges_with(ContactEdge(8.0, "k", False))
    ending = summarise(synthetic.session(edges=edges)).ending
    assert ending is not None and ending.cause.reasons == ("the EV switched k off (charge permission)",)


def test_live_records_share_one_time_axis() -> None:
    session = Session.from_records([(100.0, 0x102, bytes(8)), (100.1, 0x700, bytes(2)), (100.2, 0x109, bytes(7))],
                                   edges=[ContactEdge(99.5, "d1", True)], name="bench", origin=99.5)
    assert [round(f.t, 3) for f in session.frames] == [0.5, 0.6, 0.7]
    assert session.edges is not None and session.edges[0].t == 0.0
    assert session.frames[1].side is None and session.frames[1].signals is None
    assert [f.source for f in session.undecoded] == ["bench #3"]
    assert session.contact_at("d1", 0.2) is True and session.contact_at("k", 0.2) is None
    assert any("did not decode" in note for note in summarise(session).notes)


def test_a_recording_that_opens_with_an_ev_fault_and_no_charger() -> None:
    session = Session.from_records([(0.0, 0x102, bytes([2, 0, 0, 0, 1, 0, 0, 0])),
                                    (0.1, 0x102, bytes([2, 0, 0, 0, 1, 0, 0, 0]))])
    summary = summarise(session)
    assert [phase.name for phase in summary.phases] == ["stopping"]
    assert summary.ending is not None and summary.ending.phase == "the start of the recording"
    assert summary.ending.cause.reasons == ("battery overvoltage (102.4.0)",)


def test_a_live_recording_re_read_from_its_log_is_judged_like_the_live_session(tmp_path) -> None:
    from rig.chademo.rules import check_session
    from rig.chademo.traces import TraceFrame, read_trace, write_candump_log

    live = synthetic.session(v2h=True, edges=synthetic.compliant_edges(), dc=[])
    clock0 = 1_700_000_000.0
    write_candump_log(tmp_path / "session.log", [TraceFrame(clock0 + f.t, f.frame_id, f.data) for f in live.frames])
    edges = [ContactEdge(clock0 + e.t, e.name, e.value) for e in live.edges or ()]
    reread = Session.from_trace(read_trace(tmp_path / "session.log"), edges=edges, dc=[])
    verdicts = {o.rule.id: (o.verdict, len(o.violations)) for o in check_session(reread)}
    assert verdicts == {o.rule.id: (o.verdict, len(o.violations)) for o in check_session(live)}
    assert reread.edges is not None and reread.edges[0].t == pytest.approx(-live.frames[0].t, abs=1e-6)


def test_a_second_session_after_the_first_ended_is_flagged_not_silently_merged() -> None:
    """Only the first session of a recording is rebuilt: a later one (d1 on again) is named, so the rig can
    refuse to judge it as the first one's tail."""
    edges = [*synthetic.compliant_edges(), ContactEdge(11.95, "d1", True)]
    summary = summarise(synthetic.session(edges=edges))
    assert summary.restart is not None and summary.restart.t == 11.95
    assert any(note.startswith("another session starts after this one ended") for note in summary.notes)
    assert summarise(synthetic.session(edges=synthetic.compliant_edges())).restart is None
