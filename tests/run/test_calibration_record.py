"""Each instrument's calibration in the run's record (due, EXPIRED, unknown, simulated) and on the report's first
screen when a real unit's is expired or unknown: a value measured with it is not traceable."""

from __future__ import annotations

import datetime
from pathlib import Path

from campaign_helpers import run_cases
from rig.config.calibration import calibration_state
from rig.run import bench_session

TODAY = datetime.date(2026, 12, 7)


def test_the_states_of_a_calibration() -> None:
    assert calibration_state("2027-03-01", TODAY, simulated=False) == ("valid", "due 2027-03-01")
    assert calibration_state("2026-12-06", TODAY, simulated=False) == ("expired", "EXPIRED: was due 2026-12-06")
    assert calibration_state(None, TODAY, simulated=False)[0] == "unknown"
    assert calibration_state("2020-01-01", TODAY, simulated=True) == ("simulated", "simulated: none")


def test_a_simulated_bench_records_simulated_and_warns_of_nothing(tmp_path: Path) -> None:
    run = run_cases(tmp_path / "run", ids=["g99.ov2.trip_time"])
    states = {i.role: i.calibration_state for i in run.recorder.results.run.instruments}
    assert states.pop("csms") == "none" and set(states.values()) == {"simulated"}
    assert "not traceable" not in (run.recorder.run_dir / "report.html").read_text()


def test_an_expired_calibration_is_on_the_first_screen(tmp_path: Path, monkeypatch) -> None:
    """As if the grid simulator were a real unit past its due date."""
    opening: list[str] = []
    real_connect = bench_session.connect

    def connect(role, entry, sim, guard):
        opening.append(role)
        return real_connect(role, entry, sim, guard)

    def state(due, today, *, simulated):
        return calibration_state("2026-01-31" if opening[-1] == "grid" else due, today,
                                 simulated=simulated and opening[-1] != "grid")

    monkeypatch.setattr(bench_session, "connect", connect)
    monkeypatch.setattr(bench_session, "calibration_state", state)
    run = run_cases(tmp_path / "run", ids=["g99.ov2.trip_time"])
    grid = next(i for i in run.recorder.results.run.instruments if i.role == "grid")
    assert (grid.calibration_state, grid.calibration) == ("expired", "EXPIRED: was due 2026-01-31")
    html = (run.recorder.run_dir / "report.html").read_text()
    first_screen = html[:html.index("<h2>")]
    assert "CALIBRATION" in first_screen and "EXPIRED: was due 2026-01-31" in first_screen
