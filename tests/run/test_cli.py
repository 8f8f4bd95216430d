"""The ``rig`` command as a user meets it: exit codes, one-line errors, verify, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rig.config.plans import load_cases

from campaign_helpers import PROTECTION_PLAN, ROOT, run_cases
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

RIG = [sys.executable, "-m", "rig"]


def rig(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*RIG, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _plan_with(tmp_path: Path, old: str, new: str, name: str) -> Path:
    text = PROTECTION_PLAN.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, fragment: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


@pytest.mark.parametrize(("old", "new", "field", "marker"), [
    ("    procedure: trip_time\n", "    procedure: trip_time\n    colour: red\n", "cases[1].colour", "colour: red"),
    ("hold_s: 3.5", "hold_s: long", "cases[1].params.hold_s", "hold_s: long"),
    ("      trip_time_s: {min: 2.5, max: 2.6, unit: s}\n", "      {}\n", "cases[1].limits", None),
], ids=["unknown-key", "wrong-type", "missing-limit"])
def test_bad_plan_exits_2_naming_file_line_and_field(tmp_path, old, new, field, marker):
    plan = _plan_with(tmp_path, old, new, "bad.yaml")
    out = tmp_path / "out"
    result = rig("run", str(plan), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert str(plan) in message and field in message
    if marker:
        assert f"{plan}:{_line_of(plan, marker)}:" in message
    else:
        assert re.search(rf"{re.escape(str(plan))}:\d+: ", message)
    assert not out.exists(), "nothing may start for a bad plan"


def test_setpoint_beyond_the_envelope_is_refused_before_anything_is_energised(tmp_path):
    plan = _plan_with(tmp_path, "level: 277.7, hold_s: 1.0", "level: 320.0, hold_s: 1.0", "hot.yaml")
    out = tmp_path / "out"
    result = rig("run", str(plan), "--out", str(out))
    assert result.returncode == 2
    assert "refused" in result.stderr and "320" in result.stderr and "ac_voltage_v max 300" in result.stderr
    assert not out.exists()


def test_run_exit_codes_and_list(tmp_path):
    one_case = _plan_with(tmp_path, "", "", "plan.yaml")
    ok = rig("run", str(one_case), "--out", str(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "40 pass" in ok.stdout and "COMPLETE" in ok.stdout
    bad = rig("run", str(one_case), "--dut", str(ROOT / "fixtures/duts/uv-low.yaml"), "--out", str(tmp_path / "bad"))
    assert bad.returncode == 1
    listed = rig("list")
    assert listed.returncode == 0 and "g99.protection" in listed.stdout and "g99.of.no_trip.51_8hz" in listed.stdout
    assert rig("run", "--bench", str(tmp_path / "nowhere.yaml")).returncode == 2


def test_verify_names_each_file_that_does_not_match(tmp_path):
    run_dir = run_cases(tmp_path / "run", ids=["g99.ov2.trip_time"]).recorder.run_dir
    assert rig("verify", str(run_dir)).returncode == 0
    trace = next((run_dir / "traces").rglob("*.parquet"))
    trace.write_bytes(trace.read_bytes() + b"tampered")
    (run_dir / "inputs" / "bench.yaml").unlink()
    result = rig("verify", str(run_dir))
    assert result.returncode == 1
    assert trace.relative_to(run_dir).as_posix() in result.stdout
    assert "inputs/bench.yaml" in result.stdout


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_during_rig_run_leaves_an_incomplete_record_that_verifies(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([*RIG, "run", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:  # wait (on the run's own output) until the second case has finished
        lines.append(line)
        if "[  2/" in line:
            process.send_signal(signal.SIGINT)
            break
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 1, "".join(lines) + rest
    assert "Traceback" not in rest
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["status"] == "incomplete"
    assert 2 <= len(results["cases"]) < 69
    assert verify_run(out).ok


def test_pytest_front_door_runs_plans_as_items_and_fails_on_a_defect(tmp_path):
    def pytest_plan(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", str(PROTECTION_PLAN), "-k", "ov2", "-p", "no:cacheprovider",
                               "--alluredir", str(tmp_path / "allure"), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)

    good = pytest_plan("--rig-out", str(tmp_path / "good"))
    assert good.returncode == 0, good.stdout
    assert "4 passed" in good.stdout
    assert json.loads((tmp_path / "good" / "results.json").read_text())["run"]["status"] == "complete"
    results = list((tmp_path / "allure").glob("*-result.json"))
    assert len(results) == 4
    first = json.loads(results[0].read_text())
    assert first.get("steps"), "each procedure step is an allure step"
    assert any(label["name"] == "clause" and label["value"].startswith("ENA EREC G99 Interface protection") for label in first["labels"])
    attached = {a["name"] for r in results for a in json.loads(r.read_text()).get("attachments", [])}
    assert "case result" in attached and any(name.endswith(".parquet") for name in attached)
    bad = pytest_plan("--rig-out", str(tmp_path / "bad"), "--rig-dut", str(ROOT / "fixtures/duts/ov2-slow.yaml"))
    assert bad.returncode == 1
    assert "1 failed, 3 passed" in bad.stdout and "g99.ov2.trip_time" in bad.stdout


def test_unreachable_instrument_is_one_clear_message_not_a_traceback(tmp_path):
    import socket

    with socket.socket() as probe, socket.socket() as other:  # loopback ports nobody listens on
        probe.bind(("127.0.0.1", 0))
        other.bind(("127.0.0.1", 0))
        port, port2 = probe.getsockname()[1], other.getsockname()[1]
    bench = tmp_path / "bench.yaml"
    bench.write_text(f"""bench: unreachable
instruments:
  grid: {{driver: chroma_61800, address: "TCPIP0::127.0.0.1::{port}::SOCKET"}}
  capture: {{driver: keysight_infiniivision, address: "TCPIP0::127.0.0.1::{port2}::SOCKET"}}
envelope:
  ac_voltage_v: {{min: 0.0, max: 300.0}}
  ac_frequency_hz: {{min: 45.0, max: 65.0}}
""")
    result = rig("run", str(PROTECTION_PLAN), "--bench", str(bench), "--out", str(tmp_path / "out"),
                 "--dut", str(ROOT / "fixtures/dut-identities/example.yaml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "grid" in result.stderr and "*IDN?" in result.stderr


def test_pytest_on_the_plans_folder_runs_each_case_once(tmp_path):
    # the IEEE 1547 plans are for a 60 Hz charger (--rig-dut fixtures/duts/ieee1547-compliant.yaml), not this one
    result = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "test_plans"), "-q", "-p", "no:cacheprovider",
                             "--ignore", str(ROOT / "test_plans" / "ieee1547"),
                             "--ignore", str(ROOT / "test_plans" / "campaigns" / "ieee1547.yaml"),
                             "--rig-out", str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout
    # each case once: the certification campaign and the G99 one list the same plans again (deselected there)
    distinct = len(load_cases([ROOT / "test_plans" / "campaigns" / "certification.yaml"]))
    assert f"\n{distinct} passed, " in result.stdout and " deselected" in result.stdout


def test_bench_without_a_role_the_plan_needs_is_refused_before_anything_opens(tmp_path):
    bench = tmp_path / "bench.yaml"
    text = (ROOT / "fixtures/benches/sim.yaml").read_text()
    start = text.index("  capture:")
    end = text.index("envelope:")
    bench.write_text(text[:start] + text[end:])
    result = rig("run", str(PROTECTION_PLAN), "--bench", str(bench), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert str(bench) in result.stderr and "'capture'" in result.stderr and "trip_time" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_ac_only_bench_is_refused_for_the_campaign_naming_the_dc_role_chademo_needs(tmp_path):
    bench = tmp_path / "bench.yaml"
    text = (ROOT / "fixtures/benches/sim.yaml").read_text()
    bench.write_text(text[:text.index("  battery:")] + text[text.index("envelope:"):])
    result = rig("run", "--bench", str(bench), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'battery'" in result.stderr and "chademo.charge.normal" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_simulated_bench_whose_dio_lines_are_not_where_the_lab_wires_them_is_refused(tmp_path):
    """A line on another channel than the simulated module wires would read or switch something else than its
    name says: one line naming file:line:field."""
    text = (ROOT / "fixtures/benches/sim.yaml").read_text()
    assert "connector_lock: 2}" in text
    bench = tmp_path / "bench.yaml"
    bench.write_text(text.replace("connector_lock: 2}", "connector_lock: 5}", 1))
    result = rig("run", str(ROOT / "test_plans/g99/islanding.yaml"), "--bench", str(bench),
                 "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = next(i for i, text_line in enumerate(bench.read_text().splitlines(), 1) if "connector_lock: 5" in text_line)
    assert f"bench.yaml:{line}: instruments.dio.options.inputs.connector_lock" in result.stderr
    assert "wires 'connector_lock' to input 2, not 5" in result.stderr
    assert not (tmp_path / "out").exists()


def test_rig_version_prints_the_installed_version() -> None:
    from rig import __version__
    result = subprocess.run([sys.executable, "-m", "rig", "--version"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"v2g-rig {__version__}"
