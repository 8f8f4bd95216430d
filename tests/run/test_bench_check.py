"""``rig bench check``: every instrument named with its identity; unreachable, impostor and out-of-range problems
each named; a bad file refused; nothing energised (no set-up, no output on)."""

from __future__ import annotations

import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from campaign_helpers import COMPLIANT, ROOT, SIM_BENCH
from rig.config.bench_file import load_bench
from rig.run.bench_check import check_bench, format_bench_check
from rig.sim.charger.dut_profile import load_dut_profile

RIG = [sys.executable, "-m", "rig.run.cli"]


def test_the_simulated_bench_is_usable_and_every_instrument_answers_as_itself() -> None:
    bench = load_bench(SIM_BENCH)
    report = check_bench(bench, profile=load_dut_profile(COMPLIANT))
    assert report.usable, format_bench_check(report)
    assert [i.role for i in report.instruments] == list(bench.instruments)
    assert all(i.idn and not i.unusable for i in report.instruments)
    outcomes = {c.outcome for i in report.instruments for c in i.checks}
    assert outcomes <= {"confirmed", "note", "needs energising"}
    # what cannot be confirmed without energising is said, not passed off as confirmed
    grid = next(i for i in report.instruments if i.role == "grid")
    assert any(c.outcome == "needs energising" and "MEAS:POW:AC?" in c.what for c in grid.checks)


SIMULATED_BENCHES = sorted(p for p in (ROOT / "fixtures" / "benches").glob("sim*.yaml"))


@pytest.mark.parametrize("bench_file", SIMULATED_BENCHES, ids=lambda p: p.stem)
def test_every_simulated_bench_is_usable_whichever_driver_family_it_names(bench_file: Path) -> None:
    """Each driver family's simulated bench (the lab speaking that family's dialect): every unit answers as
    itself, each driver's confirmations come out confirmed or honestly unchecked, never a problem."""
    bench = load_bench(bench_file)
    report = check_bench(bench, profile=load_dut_profile(COMPLIANT))
    assert report.usable, format_bench_check(report)
    assert [i.role for i in report.instruments] == list(bench.instruments)
    assert all(i.idn and not i.unusable for i in report.instruments)


@pytest.mark.e2e
def test_the_command_exits_0_on_the_simulated_bench_and_lists_every_identity() -> None:
    done = subprocess.run([*RIG, "bench", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for idn in ("Chroma ATE,61845", "MSOX3104T", "RP7942A", "Moxa,E1212", "NH Research,4600"):
        assert idn in done.stdout
    assert done.stdout.rstrip().endswith("usable: nothing energised")


class _Impostor(socketserver.StreamRequestHandler):
    """A SCPI peer that is not the instrument the bench names: it answers *IDN? as something else."""

    def handle(self) -> None:
        for raw in self.rfile:
            self.server.heard.append(raw.decode().strip())  # type: ignore[attr-defined]
            self.wfile.write(b"ACME Instruments,X-100,0001,1.0\n")


@pytest.fixture
def impostor() -> Iterator[tuple[str, list[str]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Impostor)
    server.daemon_threads = True
    server.heard = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"TCPIP0::127.0.0.1::{server.server_address[1]}::SOCKET", server.heard  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.e2e
def test_an_unreachable_unit_an_impostor_and_an_envelope_beyond_a_rating_are_each_named(
        tmp_path: Path, impostor: tuple[str, list[str]]) -> None:
    address, heard = impostor
    data = yaml.safe_load(SIM_BENCH.read_text())
    data["instruments"]["grid"]["address"] = f"TCPIP0::127.0.0.1::{_closed_port()}::SOCKET"
    data["instruments"]["island_load"]["address"] = address
    data["envelope"]["dc_voltage_v"] = {"min": 0.0, "max": 600.0}  # the RP7942A's rating in this bench is 500 V
    bench = tmp_path / "bench.yaml"
    bench.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([*RIG, "bench", "check", str(bench)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "grid (chroma_61800)" in out and "Connection refused" in out
    assert "island_load" in out and "ACME Instruments,X-100" in out
    assert "envelope dc_voltage_v 0..600 within the unit's 0..500" in out
    assert "NOT usable: 3 problem(s)" in out
    assert heard == ["*IDN?"]  # nothing but the identity query reached the stranger
    assert "Traceback" not in done.stderr


def test_a_bad_bench_file_is_refused_before_anything_is_contacted(tmp_path: Path) -> None:
    text = SIM_BENCH.read_text().replace("max_voltage_v: 500.0", "max_volts: 500.0")
    bench = tmp_path / "bench.yaml"
    bench.write_text(text)
    done = subprocess.run([*RIG, "bench", "check", str(bench)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "bench.yaml:" in done.stderr and "max_volts" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
