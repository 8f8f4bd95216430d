"""The simulated charger's OCPP face as a process of its own, on the wall clock: a stand-in for a real charger
pointed at the rig (the external-charger bench: a bench with only the ``csms`` role).

    python3 -m rig.sim.charger.standalone --dut fixtures/duts/compliant.yaml --csms ws://127.0.0.1:9000/ocpp

It connects to the rig's CSMS as the profile's ``ocpp:`` section says (its
identity appended to the URL), boots, beats, answers what the central system
asks and reboots on a Reset, all in real time; nothing else of the lab
exists, so it has no plug, no card reader and no meter that moves (what needs
those is the operator's business on such a bench, and the rig skips it when
nobody does it). SIGTERM or SIGINT ends it cleanly (its connection closed).
It is how the rig's tests prove the external-charger path; a bench engineer
can also use it to try a bench file before the real charger is there.
"""

from __future__ import annotations

import argparse
import select
import signal
import sys
import threading
import time
from pathlib import Path

from rig.core.errors import RigInputError
from rig.sim.charger.dut_profile import load_dut_profile
from rig.sim.charger.ocpp_face import OcppFace

IDLE_S = 0.05
"""Longest it sleeps between looking at its socket and its timers."""


class Unwired:
    """The rest of a charger that is not there: no plug, no meter that moves, nothing to permit."""

    def energy_wh(self, t: float) -> float:
        return 0.0

    def dc_current_a(self) -> float:
        return 0.0

    def dc_voltage_v(self) -> float:
        return 0.0

    def plugged(self) -> bool:
        return False

    def permit_changed(self, t: float) -> None:
        pass


def run(face: OcppFace, stop: threading.Event) -> None:
    """Drive the face on the wall clock until ``stop`` is set: timers when due, frames when they arrive."""
    while not stop.is_set():
        face.run_to(face.now())
        sock = face.client._sock if face.client is not None else None  # noqa: SLF001 - the face's own socket
        due = face.next_event_time()
        wait = IDLE_S if due is None else max(0.0, min(IDLE_S, due - face.now()))
        if sock is None:
            time.sleep(wait)
            continue
        try:
            readable, _, _ = select.select([sock], [], [], wait)
        except (OSError, ValueError):  # closed under us: the face notices on its next drain
            readable = [sock]
        if readable:
            face.drain()
    face.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dut", required=True, type=Path, help="a DUT profile with an ocpp: section")
    parser.add_argument("--csms", required=True, help="where the rig's CSMS listens, ws://HOST:PORT/PATH")
    args = parser.parse_args(argv)
    try:
        profile = load_dut_profile(args.dut)
    except RigInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if profile.ocpp is None:
        print(f"error: {args.dut}: ocpp: this charger speaks no OCPP (its profile has no ocpp: section)",
              file=sys.stderr)
        return 2
    t0 = time.monotonic()
    face = OcppFace(profile.ocpp, lambda: time.monotonic() - t0, lambda: None, Unwired())
    face.attach(args.csms, epoch_s=time.time() - (time.monotonic() - t0))
    face.power(face.now(), True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"charger {profile.ocpp.identity} ({profile.dut}) -> {args.csms}", file=sys.stderr, flush=True)
    run(face, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
