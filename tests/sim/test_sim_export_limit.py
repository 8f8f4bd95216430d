"""The simulated charger's G100 export limitation: a sampled FOPDT limiter on the boundary, in closed form.

With no household load it exports its operating point exactly (so other suites see no change); a load lets it
export more, up to what it is dispatched; a load switched off is corrected after its sample, dead time and lag;
a lost CT ends at the fail-safe export, or (without a fail-safe) at the dispatched export; all deterministic per
seed. The household load follows the terminal voltage (resistive)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from grid_on import grid_on
from rig.sim.charger.ac_port import ALIGNED_CLOCK
from rig.sim.charger.dut_profile import DutProfile, load_dut_profile
from rig.sim.charger.export_limit import ExportLimitation, ExportLimiter
from rig.sim.model import LabModel
from rig.sim.signal import PiecewiseLinear
from rig.sim.site import HouseholdSite
from rig.core.errors import InputFileError

ROOT = Path(__file__).resolve().parents[2]
COMPLIANT = load_dut_profile(ROOT / "fixtures" / "duts" / "compliant.yaml")
LOADS = {"load_a": 2000.0, "load_b": 1500.0}


def limited_lab(profile: DutProfile = COMPLIANT, seed: int = 1) -> LabModel:
    m = grid_on(profile, 25.0, seed=seed)
    m.site.fit(LOADS, 230.0)
    return m


def export_at(m: LabModel, t: float) -> float:
    m.advance_to(t)
    return float(m.charger.export_power_w(np.array([t]))[0])


def test_with_no_household_load_it_exports_its_operating_point_exactly():
    m = limited_lab()
    times = np.linspace(21.0, 25.0, 1001)
    plain = grid_on(COMPLIANT.model_copy(update={"export_limitation": None}), 25.0, seed=1)
    np.testing.assert_array_equal(m.charger.export_power_w(times), plain.charger.export_power_w(times))
    assert export_at(m, 25.0) == 6000.0


def test_a_load_lets_it_export_more_up_to_its_dispatch_and_a_load_off_is_corrected_in_closed_form():
    m = limited_lab()
    limiter = m.charger.export_limiter
    assert limiter is not None
    m.site.switch(25.0, "load_a", True)
    assert export_at(m, 40.0) == pytest.approx(7300.0, abs=1e-6)  # min(7300, 6000 + 2000)
    m.site.switch(40.0, "load_a", False)
    r = COMPLIANT.export_limitation.response  # type: ignore[union-attr]
    first = 40.0 + (limiter._phase - 40.0) % limiter._period  # the limiter's first reading at or after 40 s
    start = first + limiter._dead
    for dt in (0.0, 0.3, 1.0, 2.0):
        expected = 6000.0 + 1300.0 * math.exp(-dt / limiter._tau)
        assert export_at(m, start + dt) == pytest.approx(expected, rel=1e-9)
    assert export_at(m, start - 1e-6) == pytest.approx(7300.0)
    assert limiter._tau == pytest.approx(r.time_constant_s)  # an aligned clock: charger seconds are lab seconds


def test_the_household_load_follows_the_terminal_voltage_and_the_boundary_reading_includes_it():
    m = grid_on(COMPLIANT, 25.0, voltage_v=207.0)
    m.site.fit(LOADS, 230.0)
    m.site.switch(25.0, "load_b", True)
    m.advance_to(25.0)
    assert float(m.site.load_power_w(np.array([25.0]))[0]) == pytest.approx(1500.0 * (207.0 / 230.0) ** 2)
    assert m.site.load_current_a(25.0) == pytest.approx(1500.0 * 207.0 / 230.0**2)


def test_a_lost_ct_ends_at_the_fail_safe_export_and_without_one_at_the_dispatched_export():
    m = limited_lab()
    m.site.switch(25.0, "ct_break", True)
    fs = COMPLIANT.export_limitation.failsafe  # type: ignore[union-attr]
    assert export_at(m, 25.0 + fs.detection_s - 0.05) == pytest.approx(6000.0)  # holds while it decides
    assert export_at(m, 40.0) == pytest.approx(fs.export_w, abs=1e-3)
    naive = limited_lab(load_dut_profile(ROOT / "fixtures" / "duts" / "g100-no-failsafe.yaml"))
    naive.site.switch(25.0, "ct_break", True)
    assert export_at(naive, 40.0) == pytest.approx(7300.0, abs=1e-3)
    naive.site.switch(40.0, "ct_break", False)  # the signal back: the limit again
    assert export_at(naive, 60.0) == pytest.approx(6000.0, abs=1e-3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_trajectory_is_the_same_for_a_seed_whichever_way_time_is_asked_for(seed):
    def run(steps: list[float]) -> np.ndarray:
        m = limited_lab(seed=seed)
        m.site.switch(25.0, "load_a", True)
        for t in steps:
            export_at(m, t)
        m.site.switch(35.0, "load_a", False)
        return m.charger.export_power_w(np.linspace(25.0, 45.0, 2001)) if export_at(m, 45.0) else np.zeros(0)
    coarse, fine = run([35.0]), run(list(np.arange(25.0, 35.0, 0.037)))
    np.testing.assert_array_equal(coarse, fine)
    other = limited_lab(seed=seed + 10)
    assert other.charger.export_limiter._phase != limited_lab(seed=seed).charger.export_limiter._phase  # type: ignore[union-attr]


def test_a_limiter_left_alone_costs_nothing_over_hours_of_bench_time():
    site = HouseholdSite(PiecewiseLinear(0.0, 230.0))
    site.fit(LOADS, 230.0)
    limiter = ExportLimiter(COMPLIANT.export_limitation, site, ALIGNED_CLOCK, seed=1,  # type: ignore[arg-type]
                            operating_w=6000.0)
    site.switch(10.0, "load_a", True)
    site.switch(20.0, "load_a", False)
    assert limiter.setpoint_w(np.array([4 * 3600.0]))[0] == pytest.approx(6000.0)
    assert len(limiter._starts) <= 4  # the load's two changes, nothing per reading in the quiet hours


def test_a_dispatch_beyond_the_rating_is_refused_at_its_line(tmp_path):
    text = (ROOT / "fixtures" / "duts" / "compliant.yaml").read_text()
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("  dispatched_export_w: 7300.0", "  dispatched_export_w: 7400.0"))
    with pytest.raises(InputFileError) as caught:
        load_dut_profile(path)
    assert caught.value.field == "export_limitation.dispatched_export_w"
    assert "beyond the rating" in caught.value.message  # 7400 W at 230 V is 32.2 A, above the 32 A rating
    assert ExportLimitation.model_fields["failsafe"].default is None
