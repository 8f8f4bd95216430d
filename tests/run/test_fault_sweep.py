"""Fault sweep: ``rig run`` stopped by SIGINT, SIGTERM or SIGKILL at random instants.

Every instant of a run is covered: the rig's own start-up (imports, plan and
bench loading, opening the lab), mid-case, between cases and closing. A stop
(SIGINT/SIGTERM) must never give exit 0 nor a traceback, and whatever record
it leaves is marked incomplete, verifies, and holds its report and the plot
of every case it recorded. A kill (SIGKILL, no chance to
clean up) must leave a record that ``rig verify`` accepts as incomplete but
consistent, while one changed byte in any of its files is still caught.

The instants are drawn after the interpreter has reached the rig's first line
(the stop handlers are installed, seen in /proc/<pid>/status): before that,
Python's own start-up handles a signal its default way and nothing of the
rig exists yet. The waits here pick the instant a fault is injected; they do
not stand in for synchronisation.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from campaign_helpers import CHADEMO_PLAN, PROTECTION_PLAN, ROOT
from rig.evidence.recorder import read_manifest
from rig.evidence.verify import verify_run

EFFICIENCY_PLAN = ROOT / "test_plans" / "efficiency" / "efficiency.yaml"
V2X_PLAN = ROOT / "test_plans" / "ocpp" / "ocpp21_v2x.yaml"

pytestmark = [pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc and signals"),
              pytest.mark.e2e]  # end-to-end runs: not in the fast layer (-m 'not e2e')

SWEEP_CASES = ["g99.uv.trip_value", "g99.ov2.trip_time", "g99.of.trip_time", "g99.ov2.no_trip.277_7v"]


@pytest.fixture(scope="module")
def short_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four cases of the protection plan: a whole run lasts about a second of wall time."""
    data = yaml.safe_load(PROTECTION_PLAN.read_text())
    data["cases"] = [case for case in data["cases"] if case["id"] in SWEEP_CASES]
    path = tmp_path_factory.mktemp("sweep") / "short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def chademo_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two CHAdeMO sessions (a charge with a vehicle fault, a V2H discharge with one): the battery emulator, the
    contact lines and the CAN bus are live when the signal lands."""
    data = yaml.safe_load(CHADEMO_PLAN.read_text())
    data["cases"] = [case for case in data["cases"]
                     if case["id"] in ("chademo.abnormal.fault_battery_overvoltage", "chademo.v2h.fault_during_discharge")]
    data["vehicles"] = {name: str((CHADEMO_PLAN.parent / path).resolve()) for name, path in data["vehicles"].items()}
    path = tmp_path_factory.mktemp("sweep-chademo") / "short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def efficiency_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The efficiency charge curve at 350 V, three points, short windows, then standby: the analyzer ranged and
    integrating, the battery emulator held, the vehicle's session live when the signal lands."""
    data = yaml.safe_load(EFFICIENCY_PLAN.read_text())
    data["vehicle"] = str((EFFICIENCY_PLAN.parent / data["vehicle"]).resolve())
    data["measurement"]["window_s"] = 5
    data["measurement"]["settling"] = {"band_percent": 0.5, "hold_s": 3.0, "timeout_s": 60.0}
    data["cases"] = [case for case in data["cases"] if case["id"] in ("efficiency.charge", "efficiency.standby")]
    data["cases"][0]["params"].update(dc_voltages_v=[350.0], load_points_percent=[100, 50, 10], weightings=[])
    data["cases"][0]["limits"] = {"rated_margin_pp": {"min": 0.0, "unit": "pp"}}
    data["cases"][1]["params"]["window_s"] = 10.0
    path = tmp_path_factory.mktemp("sweep-efficiency") / "short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def v2x_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two OCPP 2.1 cases: a capture of the grid running while the frequency steps under LocalFrequency, and a cut
    link (the CSMS refusing the charger) during a discharge session."""
    data = yaml.safe_load(V2X_PLAN.read_text())
    data["vehicle"] = str((V2X_PLAN.parent / data["vehicle"]).resolve())
    data["cases"] = [case for case in data["cases"] if case["id"] in ("RIG_21_Q08_STEPS", "RIG_21_LINK_LOSS")]
    path = tmp_path_factory.mktemp("sweep-v2x") / "short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _handlers_installed(pid: int) -> bool:
    """True once the process catches SIGTERM (only ``rig.core.stop`` does; Python by default catches SIGINT only)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # already gone
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@dataclass
class Outcome:
    signum: int
    delay_s: float
    alive: bool
    returncode: int
    output: str
    run_dir: Path


def _run_and_signal(plan: Path, run_dir: Path, signum: int, delay_s: float, after: str,
                    bench: Path | None = None) -> Outcome:
    """Start ``rig run`` (on ``bench``, else the default one); ``delay_s`` after ``after`` ("start-up": its stop
    handlers are in place; "record": its evidence record exists), send ``signum``."""
    on_bench = ["--bench", str(bench)] if bench is not None else []
    process = subprocess.Popen([sys.executable, "-m", "rig", "run", str(plan), "--out", str(run_dir), *on_bench],
                               cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    finished = threading.Event()  # the rig closes its output when it has decided its exit code

    def read() -> None:
        assert process.stdout is not None
        lines.extend(process.stdout)
        finished.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not _handlers_installed(process.pid) and time.monotonic() < deadline:
        time.sleep(0.001)
    while after == "record" and not has_record(run_dir) and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(delay_s)  # the instant of the fault
    alive = not finished.is_set() and process.poll() is None
    process.send_signal(signum)
    process.wait(timeout=120)
    reader.join(timeout=60)
    return Outcome(signum, delay_s, alive, process.returncode, "".join(lines), run_dir)


def has_record(run_dir: Path) -> bool:
    """The run's record exists: its manifest journal (while it runs) or its sealed manifest."""
    return (run_dir / "manifest.journal").exists() or (run_dir / "manifest.json").exists()


def _sweep(plan: Path, root: Path, signals: list[int], seed: int, afters: list[str], tag: str = "",
           spread_s: float = 0.5, bench: Path | None = None) -> list[Outcome]:
    """One run per signal, the instant drawn at random after each run's own reference point.

    A whole run lasts ~1.2 s here: rig start-up (imports, loading, opening the lab) ~0.6 s, then the record,
    four cases and closing ~0.6 s; on a loaded machine longer, which is why instants count from milestones.
    """
    rng = random.Random(seed)
    jobs = [(plan, root / f"run{tag}-{k}", signum,
             rng.uniform(0.0, 0.7 if after == "start-up" else spread_s), after, bench)
            for k, (signum, after) in enumerate(zip(signals, afters))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: _run_and_signal(*job), jobs))


def test_forty_stops_at_random_instants_never_exit_0_nor_print_a_traceback(short_plan, tmp_path):
    stopped: list[Outcome] = []
    for batch in range(4):  # until 40 signals have landed inside a run (one that had already ended proves nothing)
        outcomes = _sweep(short_plan, tmp_path, [signal.SIGINT, signal.SIGTERM] * 10, seed=20261125 + batch,
                          afters=["start-up", "record"] * 10, tag=str(batch))
        stopped += [o for o in outcomes if o.alive]
        if len(stopped) >= 40:
            break
    assert len(stopped) >= 40, "40 signals must land inside runs for the sweep to mean anything"
    for o in stopped:
        where = f"{signal.Signals(o.signum).name} after {o.delay_s:.3f} s: exit {o.returncode}\n{o.output}"
        assert o.returncode == 1, where
        assert "Traceback" not in o.output and "Exception ignored" not in o.output, where
        results = o.run_dir / "results.json"
        if results.exists():
            record = json.loads(results.read_text())
            assert record["run"]["status"] == "incomplete", where
            report = verify_run(o.run_dir)
            assert report.ok and report.sealed, where
            listed = read_manifest(o.run_dir).files
            drawn = {f"plots/{case['id']}.svg" for case in record["cases"] if case["plot"] is not None}
            assert {"report.html", *drawn} <= listed.keys(), where  # a stopped run still closes with them all
    with_record = [o for o in stopped if (o.run_dir / "results.json").exists()]
    assert len(with_record) >= 12, "instants mid-run must be part of the sweep"


def test_sixteen_kills_leave_records_that_verify_as_incomplete_and_one_changed_byte_is_caught(short_plan, tmp_path):
    # A kill before the record exists leaves nothing to verify: these instants count from the record's start.
    outcomes = _sweep(short_plan, tmp_path, [signal.SIGKILL] * 16, seed=7, afters=["record"] * 16)
    rng = random.Random(11)
    checked = 0
    for o in outcomes:
        if not o.alive or not has_record(o.run_dir):
            continue
        where = f"SIGKILL after {o.delay_s:.3f} s"
        report = verify_run(o.run_dir)
        assert report.ok, where + "\n" + "\n".join(report.changed + report.missing + report.unlisted)
        assert not report.complete, where
        listed = read_manifest(o.run_dir).files
        victim = o.run_dir / rng.choice(sorted(listed))
        if not victim.exists():  # the one write that did not land
            continue
        data = bytearray(victim.read_bytes())
        data[rng.randrange(len(data))] ^= 0x01
        victim.write_bytes(bytes(data))
        assert not verify_run(o.run_dir).ok, f"{where}: a changed byte in {victim.name} went unnoticed"
        checked += 1
    assert checked >= 10, "most kills must land while the run is writing its record"


def test_stops_and_kills_during_chademo_sessions_leave_records_that_verify(chademo_plan, tmp_path):
    """Mid-session (vehicle plugged, contactor closed, current flowing either way) a stop still exits 1 with a
    sealed incomplete record, and a kill leaves one that verifies as incomplete."""
    assert_stopped_safely(_landed_inside(chademo_plan, tmp_path, rounds=4, seed=20261126, tag="c"))


def test_stops_and_kills_during_efficiency_points_leave_records_that_verify(efficiency_plan, tmp_path):
    """Mid-point (a session converting, the analyzer ranged and integrating) or in standby (export held at 0): a
    stop exits 1 with a sealed incomplete record, a kill leaves one that verifies as incomplete."""
    assert_stopped_safely(_landed_inside(efficiency_plan, tmp_path, rounds=2, seed=20261207, tag="e"))


def test_stops_and_kills_during_v2x_control_leave_records_that_verify(v2x_plan, tmp_path):
    """During a V2X case (a bidirectional session, the digitizer capturing, a grid program running, the link cut):
    a stop exits 1 with a sealed incomplete record and outputs off, a kill leaves one that verifies as incomplete."""
    assert_stopped_safely(_landed_inside(v2x_plan, tmp_path, rounds=2, seed=20261208, tag="v", spread_s=3.0))


SECOND_FAMILIES = ROOT / "fixtures" / "benches" / "sim-second-families.yaml"


def test_stops_and_kills_on_the_second_driver_families_leave_records_that_verify(short_plan, chademo_plan, tmp_path):
    """The same on the bench of every role's second family (Ametek source, Tektronix scope, NHR battery, WAGO I/O,
    ZES analyzer): protection cases with a list transient and a capture running, CHAdeMO sessions with the NHR
    capture logging and the WAGO lines driven."""
    assert_stopped_safely(_landed_inside(short_plan, tmp_path, rounds=1, seed=20261209, tag="p2",
                                         bench=SECOND_FAMILIES)
                          + _landed_inside(chademo_plan, tmp_path, rounds=1, seed=20261210, tag="c2",
                                           bench=SECOND_FAMILIES))


def _landed_inside(plan: Path, tmp_path: Path, *, rounds: int, seed: int, tag: str,
                   spread_s: float = 0.5, bench: Path | None = None) -> list[Outcome]:
    """SIGINT, SIGTERM and SIGKILL ``rounds`` times each at random instants after the record exists, in up to
    three batches, until that many signals (3 x rounds) have landed inside a run."""
    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL] * rounds
    landed: list[Outcome] = []
    for batch in range(3):
        outcomes = _sweep(plan, tmp_path, signals, seed=seed + batch, afters=["record"] * len(signals),
                          tag=f"{tag}{batch}", spread_s=spread_s, bench=bench)
        landed += [o for o in outcomes if o.alive and has_record(o.run_dir)]
        if len(landed) >= len(signals):
            break
    assert len(landed) >= len(signals), "signals must land inside the runs for the sweep to mean anything"
    return landed


def assert_stopped_safely(landed: list[Outcome]) -> None:
    """Each signalled run left a record that verifies as incomplete; a stop (not a kill) exited 1, sealed, with no
    traceback."""
    for o in landed:
        where = f"{signal.Signals(o.signum).name} after {o.delay_s:.3f} s: exit {o.returncode}\n{o.output}"
        report = verify_run(o.run_dir)
        assert report.ok and not report.complete, where
        if o.signum != signal.SIGKILL:
            assert o.returncode == 1 and report.sealed, where
            assert "Traceback" not in o.output and "Exception ignored" not in o.output, where
