"""A compliant synthetic CHAdeMO charge (or V2H discharge) that each rule test breaks in one place.

The script below is one session at 100 ms cycles; ``edit(t, signals)`` lets a test change the
signals of any message at any cycle (``signals`` maps frame id to that frame's signals), and
``edges`` / ``dc`` add what a live recording would have. Frames are encoded through the DBC, so
the rules see exactly what they would see on a bus.

Timeline (s): EV frames from 0.0; EVSE answers from 0.2; EV permission 1.0; lock 1.5;
insulation test 2.0-3.0 (500 V); EV contactors closed 4.0 (battery 350 V); request from 4.5,
+10 A a cycle to 50 A; EVSE charging from 4.6; stop requested by the EV at 10.0 (102.5.0 = 0,
request 0); current 0 at 10.1, 109.5.0 = 0 and 109.5.5 = 1 at 10.2; EV contactors open 10.5;
output 20 V at 10.6, 0 V at 10.8; unlock 11.2; end 12.0.
"""

from __future__ import annotations

from typing import Callable, Iterable

from rig.chademo.messages import encode
from rig.chademo.session import ContactEdge, DcSample, Session

Signals = dict[int, dict[str, float]]
Edit = Callable[[float, Signals], None]

CYCLE_S = 0.1
BATTERY_V = 350.0


def _state(t: float, v2h: bool) -> Signals:
    charging = 4.6 <= t < 10.2
    request = 0.0 if not 4.5 <= t < 10.0 else min(50.0, 10.0 * (round((t - 4.5) / CYCLE_S) + 1))
    current = 0.0 if not 4.6 <= t < 10.1 else min(50.0, 10.0 * round((t - 4.5) / CYCLE_S))
    if 2.0 <= t < 3.0:
        voltage = 500.0
    elif 4.0 <= t < 10.6:
        voltage = BATTERY_V
    elif 10.6 <= t < 10.8:
        voltage = 20.0
    else:
        voltage = 0.0
    signals: Signals = {
        0x100: {"MaxBatteryVoltage": 400, "ChargedRateReference": 100},
        0x101: {"MaxChargingTime10s": 0xFF, "MaxChargingTimeMin": 60},
        0x102: {"ProtocolNumber": 2, "TargetVoltage": 390, "ChargeCurrentRequest": request,
                "ChargingEnabled": 1 if 1.0 <= t < 10.0 else 0, "ContactorOpen": 0 if 4.0 <= t < 10.5 else 1,
                "DischargeCompatible": 1 if v2h else 0, "ChargedRate": 60},
        0x108: {"WeldingDetectionSupported": 1, "AvailableOutputVoltage": 500, "AvailableOutputCurrent": 100,
                "ThresholdVoltage": 400},
        0x109: {"ProtocolNumber": 2, "PresentVoltage": voltage, "PresentCurrent": current,
                "EvseDischargeCompatible": 1 if v2h else 0, "Charging": 1 if charging else 0,
                "ConnectorLocked": 1 if 1.5 <= t < 11.2 else 0, "StopControl": 0 if charging else 1,
                "RemainingTime10s": 0xFF, "RemainingTimeMin": 30},
    }
    if v2h:
        signals[0x200] = {"MaxDischargeCurrent": 30, "MinDischargeVoltage": 300, "MinBatteryDischargeLevel": 20,
                          "MaxRemainingCapacityForCharging": 90}
        signals[0x208] = {"PresentDischargeCurrent": 0, "AvailableInputVoltage": 500, "AvailableInputCurrent": 30,
                          "LowerThresholdVoltage": 250}
    return signals


EV_IDS = (0x100, 0x101, 0x102, 0x200)
EVSE_IDS = (0x108, 0x109, 0x208)


def session(edit: Edit | None = None, *, v2h: bool = False, end_s: float = 12.0,
            edges: Iterable[ContactEdge] | None = None, dc: Iterable[DcSample] | None = None,
            evse_from_s: float = 0.2, drop: Callable[[float, int], bool] | None = None) -> Session:
    """The compliant session, edited; ``drop(t, frame_id)`` leaves frames out (silence, late cycles)."""
    frames = []
    for n in range(round(end_s / CYCLE_S)):
        t = round(n * CYCLE_S, 6)
        signals = _state(t, v2h)
        if edit is not None:
            edit(t, signals)
        for offset, frame_id in enumerate(EV_IDS + EVSE_IDS):
            if frame_id not in signals or (frame_id in EVSE_IDS and t < evse_from_s):
                continue
            stamp = t + (0.001 * offset if frame_id in EV_IDS else 0.05 + 0.001 * offset)
            if drop is not None and drop(stamp, frame_id):
                continue
            frames.append((stamp, frame_id, encode(frame_id, signals[frame_id])))
    return Session.from_records(sorted(frames), edges=edges, dc=dc, name="synthetic")


def compliant_edges() -> list[ContactEdge]:
    """d1 0.0, k 1.0, d2 3.5; at the stop k off 10.0, d2 off 11.4, d1 off 11.9."""
    return [ContactEdge(0.0, "d1", True), ContactEdge(1.0, "k", True), ContactEdge(3.5, "d2", True),
            ContactEdge(10.0, "k", False), ContactEdge(11.4, "d2", False), ContactEdge(11.9, "d1", False)]


def edges_with(*changed: ContactEdge) -> list[ContactEdge]:
    """The compliant edges with some moved: each given edge replaces the one of the same name and value."""
    moved = {(edge.name, edge.value): edge for edge in changed}
    return [moved.get((edge.name, edge.value), edge) for edge in compliant_edges()]


def when(start: float, end: float, message: int, **values: float) -> Edit:
    """An edit that sets signals of one message between two times."""
    def apply(t: float, signals: Signals) -> None:
        if start <= t < end and message in signals:
            signals[message].update(values)
    return apply


def both(*edits: Edit) -> Edit:
    """Several edits applied in order (later ones win where they overlap)."""
    def apply(t: float, signals: Signals) -> None:
        for edit in edits:
            edit(t, signals)
    return apply
