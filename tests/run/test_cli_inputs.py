"""Inputs that would make results look valid when they are not are refused in one line (exit 2).

And whom the rig talks to is checked before anything is sent; a real bench
names the charger it tests; evidence holds only paths inside the run.
"""

from __future__ import annotations

import json
import resource
import signal
import socket
import socketserver
import threading
from pathlib import Path

import pytest
import yaml

from campaign_helpers import PROTECTION_PLAN, ROOT, SIM_BENCH, one_line_error, rig
from rig.evidence.verify import verify_run

pytestmark = pytest.mark.e2e  # end-to-end runs: not in the fast layer (-m 'not e2e')

IDENTITY = ROOT / "fixtures" / "dut-identities" / "example.yaml"
DECLARED = {"power_w": 7400.0, "dc_voltage_v": 350.0, "charge_efficiency": 0.93, "discharge_efficiency": 0.93,
            "charge_euro_efficiency": 0.925, "discharge_euro_efficiency": 0.92, "standby_w": 8.0,
            "idle_connected_w": 15.0}
"""What fixtures/dut-identities/example.yaml declares (recorded with its identity)."""
ONE_CASE = "g99.ov2.trip_time"


def plan_with_cases(path: Path, ids: list[str], edit=None) -> Path:
    data = yaml.safe_load(PROTECTION_PLAN.read_text())
    data["cases"] = [case for case in data["cases"] if case["id"] in ids]
    if edit:
        edit(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def bench_with(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(SIM_BENCH.read_text())
    edit(data)
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- results that look valid when they are not ---------------------------------------------------

def test_a_directory_without_plans_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = rig("run", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert str(tmp_path / "empty") in one_line_error(result) and "no plan" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("limit", "message"), [
    ("{min: 0.6, max: 0.5, unit: s}", "greater than max"),
    ("{min: 0.5, max: .inf, unit: s}", "finite"),
    ("{min: .nan, unit: s}", "finite"),
])
def test_a_limit_no_value_could_meet_or_not_a_number_is_refused_naming_its_line(tmp_path, limit, message):
    def edit(data):
        data["cases"][0]["limits"]["trip_time_s"] = "LIMIT"

    plan = plan_with_cases(tmp_path / "bad.yaml", [ONE_CASE], edit)
    plan.write_text(plan.read_text().replace("LIMIT", limit))
    line = next(i for i, text in enumerate(plan.read_text().splitlines(), 1) if "trip_time_s:" in text)
    result = rig("run", str(plan), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    error = one_line_error(result)
    assert f"{plan}:{line}" in error and "trip_time_s" in error and message in error
    assert not (tmp_path / "out").exists()


def test_plans_of_the_same_name_and_their_campaign_are_all_kept(tmp_path):
    plan_with_cases(tmp_path / "plans" / "a" / "protection.yaml", [ONE_CASE])

    def other_id(data):
        data["cases"][0]["id"] = "g99.of.trip_time.copy"

    plan_with_cases(tmp_path / "plans" / "b" / "protection.yaml", ["g99.of.trip_time"], other_id)
    campaign = tmp_path / "plans" / "campaign.yaml"
    campaign.write_text("campaign: two\nsuites:\n  - a/protection.yaml\n  - b/protection.yaml\n")
    out = tmp_path / "out"
    result = rig("run", str(campaign), "--out", str(out))
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "results.json").read_text())["run"]
    assert run["plans"] == ["inputs/plans/campaign.yaml", "inputs/plans/a/protection.yaml",
                            "inputs/plans/b/protection.yaml"]
    for copy in run["plans"]:
        assert (out / copy).is_file()
    assert (out / "inputs/plans/b/protection.yaml").read_text() == (tmp_path / "plans/b/protection.yaml").read_text()
    cases = json.loads((out / "results.json").read_text())["cases"]
    assert cases[1]["source"].startswith("inputs/plans/b/protection.yaml:")


def test_rig_report_refuses_a_run_whose_results_were_edited(tmp_path):
    out = tmp_path / "out"
    assert rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--out", str(out)).returncode == 0
    results = out / "results.json"
    results.write_text(results.read_text().replace('"verdict": "pass"', '"verdict": "fail"'))
    report_before = (out / "report.html").read_bytes()
    manifest_before = (out / "manifest.json").read_bytes()

    result = rig("report", str(out))
    assert result.returncode == 2
    assert "results.json" in one_line_error(result) and "does not verify" in result.stderr
    assert (out / "report.html").read_bytes() == report_before
    assert (out / "manifest.json").read_bytes() == manifest_before


def test_rig_report_rebuilds_a_run_that_verifies_and_keeps_it_sealed(tmp_path):
    out = tmp_path / "out"
    assert rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--out", str(out)).returncode == 0
    (out / "report.html").unlink()
    (out / "manifest.json").write_text((out / "manifest.json").read_text())  # untouched content
    assert rig("report", str(out)).returncode == 2  # a missing report is a missing file: refused too
    assert rig("run", str(plan_with_cases(tmp_path / "q.yaml", [ONE_CASE])), "--out", str(tmp_path / "o2")).returncode == 0
    result = rig("report", str(tmp_path / "o2"))
    assert result.returncode == 0, result.stderr
    assert verify_run(tmp_path / "o2").complete


# -- tracebacks where one line is promised --------------------------------------------------------

@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_impossible_or_unwritable_out_is_one_line(tmp_path, where):
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-file" / "run" if where == "under-a-file" else Path("/proc/v2g-rig-cannot-be-here")
    result = rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--out", str(out))
    assert result.returncode == 2
    assert str(out) in one_line_error(result)


def test_a_negative_seed_is_one_line_naming_the_option(tmp_path):
    result = rig("run", "--seed", "-1", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "--seed -1" in one_line_error(result)
    assert not (tmp_path / "out").exists()


def test_a_full_disk_mid_run_is_one_line_naming_the_file(tmp_path):
    """Files may grow to 64 KiB only (RLIMIT_FSIZE): the first capture trace cannot be written."""

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    out = tmp_path / "out"
    result = rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--out", str(out),
                 preexec_fn=small_files)
    assert result.returncode == 2
    error = one_line_error(result)
    assert "cannot write evidence" in error and "capture.parquet" in error and "outputs are off" in error
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["status"] == "incomplete" and "evidence could not be written" in results["run"]["reason"]
    assert verify_run(out).ok


# -- whom the rig talks to --------------------------------------------------------------------------

class Impostor(socketserver.ThreadingTCPServer):
    """A loopback peer that answers every line like a web server would, and remembers what it got."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.received: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for raw in self.rfile:
                    outer.received.append(raw.decode(errors="replace").strip())
                    self.wfile.write(b"HTTP/1.1 400 Bad Request\n")

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.server_address[1]}::SOCKET"


def real_bench(tmp_path: Path, grid: str, capture: str) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(f"""bench: impostor-test
instruments:
  grid: {{driver: chroma_61800, address: "{grid}"}}
  capture: {{driver: keysight_infiniivision, address: "{capture}"}}
envelope:
  ac_voltage_v: {{min: 0.0, max: 300.0}}
  ac_frequency_hz: {{min: 45.0, max: 65.0}}
""")
    return path


def test_a_peer_that_is_not_the_instrument_gets_only_the_identification_query(tmp_path):
    web, other = Impostor(), Impostor()
    try:
        bench = real_bench(tmp_path, web.address, other.address)
        out = tmp_path / "out"
        result = rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--bench", str(bench),
                     "--dut", str(IDENTITY), "--out", str(out))
    finally:
        web.shutdown()
        other.shutdown()
    assert result.returncode == 1
    error = one_line_error(result)
    assert "grid" in error and web.address in error and "Chroma" in error and "HTTP/1.1 400 Bad Request" in error
    assert web.received == ["*IDN?"], "nothing but the identification query may reach an unknown peer"
    assert other.received == [], "the bench is refused before the next instrument is contacted"
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["status"] == "incomplete" and results["cases"] == []


def test_two_roles_on_one_address_are_refused_unless_the_bench_says_they_share_it(tmp_path):
    bench = real_bench(tmp_path, "TCPIP0::192.0.2.7::5025::SOCKET", "TCPIP::192.0.2.7::5025::SOCKET")
    result = rig("run", "--bench", str(bench), "--dut", str(IDENTITY), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "shares_instrument_with" in one_line_error(result) and f"{bench}:" in result.stderr


def test_a_pinned_serial_that_does_not_match_is_refused(tmp_path):
    bench = bench_with(tmp_path, lambda d: d["instruments"]["grid"].update(identity={"serial": "61845-000123"}))
    result = rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--bench", str(bench),
                 "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    error = one_line_error(result)
    assert "serial 61845-000123" in error and "SIM-61845-0001" in error


# -- the envelope, before anything opens ------------------------------------------------------------

def test_a_step_on_a_slew_limited_bench_without_a_step_limit_is_refused(tmp_path):
    def slow_bench(data):
        data["envelope"]["ac_voltage_slew_v_per_s"] = {"max": 1.0}
        del data["envelope"]["ac_voltage_step_v"]

    bench = bench_with(tmp_path, slow_bench)
    result = rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--bench", str(bench),
                 "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    error = one_line_error(result)
    assert "step of 47.7 V" in error and "ac_voltage_slew_v_per_s" in error and "nothing was sent" in error
    assert not (tmp_path / "out").exists()


def test_a_step_larger_than_the_step_limit_is_refused(tmp_path):
    bench = bench_with(tmp_path, lambda d: d["envelope"].update(ac_voltage_step_v={"max": 40.0}))
    result = rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE])), "--bench", str(bench),
                 "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "47.7 V exceeds the bench envelope ac_voltage_step_v max 40.0 V" in one_line_error(result)


# -- the charger's identity and paths in the evidence ------------------------------------------------

def test_a_real_bench_needs_the_chargers_identity(tmp_path):
    bench = real_bench(tmp_path, "TCPIP0::192.0.2.7::5025::SOCKET", "TCPIP0::192.0.2.8::5025::SOCKET")
    result = rig("run", "--bench", str(bench), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "--dut" in one_line_error(result) and "identity" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_real_benchs_record_names_the_charger_even_when_an_instrument_is_unreachable(tmp_path):
    with socket.socket() as a, socket.socket() as b:  # loopback ports nobody listens on
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        grid, capture = (f"TCPIP0::127.0.0.1::{s.getsockname()[1]}::SOCKET" for s in (a, b))
    out = tmp_path / "out"
    result = rig("run", str(PROTECTION_PLAN), "--bench", str(real_bench(tmp_path, grid, capture)),
                 "--dut", str(IDENTITY), "--out", str(out))
    assert result.returncode == 1
    dut = json.loads((out / "results.json").read_text())["run"]["dut"]
    assert dut == {"name": "bay3-unit-17", "description": "Production sample from lot 2026-44, CHAdeMO V2G, single phase",
                   "manufacturer": "Example Power Ltd", "model": "EX-V2G-7", "serial": "EXV7-2644-0017",
                   "firmware": "2.3.1", "simulated": False, "file": "inputs/dut.yaml", "ocpp_identity": None,
                   "declared": DECLARED}
    assert "EXV7-2644-0017" in (out / "report.html").read_text()
    assert (out / "inputs/dut.yaml").read_text() == IDENTITY.read_text()


def test_evidence_holds_no_local_absolute_paths(tmp_path):
    out = tmp_path / "out"
    assert rig("run", str(plan_with_cases(tmp_path / "p.yaml", [ONE_CASE, "g99.uv.trip_value"])),
               "--out", str(out)).returncode == 0
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".html", ".svg"):
            text = path.read_text(errors="replace")
            for local in (str(ROOT), str(tmp_path), str(Path.home())):
                assert local not in text, f"{path.relative_to(out)} holds {local}"
