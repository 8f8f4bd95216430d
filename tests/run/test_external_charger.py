"""The external-charger bench: a bench with only the rig's CSMS, and a charger that is not simulated by the rig but
connects to it (here the simulated charger's OCPP face run as its own process, on the wall clock). The same plans
run; the rig restarts the charger with a Hard Reset, and a case needing a card nobody presents is skipped."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from campaign_helpers import ROOT, profile_variant

pytestmark = pytest.mark.e2e

WANTED = ["TC_019_CS", "TC_040_1_CS", "TC_013_CS", "TC_061_CS"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plan_of(tmp_path: Path, ids: list[str]) -> Path:
    """The 1.6 core plan's chosen cases as a plan of their own (the vehicle path made absolute)."""
    source = ROOT / "test_plans" / "ocpp" / "ocpp16_core.yaml"
    plan = yaml.safe_load(source.read_text())
    plan["vehicle"] = str((source.parent / plan["vehicle"]).resolve())
    plan["cases"] = [c for c in plan["cases"] if c["id"] in ids]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def test_the_suites_run_against_a_charger_that_connects_from_its_own_process(tmp_path: Path) -> None:
    port = free_port()
    bench = yaml.safe_load((ROOT / "fixtures" / "benches" / "external-charger.yaml").read_text())
    bench["instruments"]["csms"]["address"] = f"ws://127.0.0.1:{port}/ocpp"
    bench_path = tmp_path / "bench.yaml"
    bench_path.write_text(yaml.safe_dump(bench, sort_keys=False))
    charger = profile_variant(tmp_path, "quick", lambda d: d["ocpp"].update(
        connect_after_s=0.5, reboot_s=1.0, reconnect_after_s=0.5))
    out = tmp_path / "run"
    rig = subprocess.Popen([sys.executable, "-m", "rig.run.cli", "run", str(plan_of(tmp_path, WANTED)), "--bench",
                            str(bench_path), "--dut", str(ROOT / "fixtures" / "duts" / "external" / "sim-0001.yaml"),
                            "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    station = subprocess.Popen([sys.executable, "-m", "rig.sim.charger.standalone", "--dut", str(charger), "--csms",
                                f"ws://127.0.0.1:{port}/ocpp"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        _, err = rig.communicate(timeout=240)
    finally:
        station.terminate()
        station_err = station.communicate(timeout=30)[1]
    assert "Traceback" not in err and "Traceback" not in station_err, err + station_err
    assert station.returncode == 0  # it ended cleanly on SIGTERM
    results = json.loads((out / "results.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in results["cases"]}
    assert results["run"]["status"] == "complete" and results["run"]["dut"]["ocpp_identity"] == "SIM-0001"
    assert verdicts == {"TC_019_CS": "pass", "TC_040_1_CS": "pass", "TC_013_CS": "pass", "TC_061_CS": "skip"}, \
        {c["id"]: (c["error"], c["findings"][:4]) for c in results["cases"]}
    skipped = next(c for c in results["cases"] if c["id"] == "TC_061_CS")
    assert "present the card with idTag RIG-VALID-01" in skipped["error"]
    frames = (out / "traces" / "TC_019_CS" / "frames.jsonl").read_text().splitlines()
    assert all(json.loads(line)["identity"] == "SIM-0001" for line in frames)
