"""``rig diff RUN_A RUN_B``: between the compliant charger and a defective one, exactly the cases whose verdict
changed; between two seeds of the compliant charger, no verdict change and every value within its uncertainty;
the DUT, bench and plans where they differ; text and HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaign_helpers import DUTS, run_cases
from rig.evidence.diff import diff_runs, format_diff, render_diff_html
from rig.run.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("diff")
    return {name: run_cases(tmp / name, dut=dut, seed=seed).recorder.run_dir
            for name, dut, seed in (("compliant", DUTS / "compliant.yaml", 1), ("seed2", DUTS / "compliant.yaml", 2),
                                    ("slow", DUTS / "ov2-slow.yaml", 1))}


def test_a_defective_charger_shows_exactly_the_cases_whose_verdict_changed(runs, tmp_path: Path) -> None:
    from rig.evidence.recorder import read_results
    before = {c.id: c.verdict for c in read_results(runs["compliant"]).cases}
    after = {c.id: c.verdict for c in read_results(runs["slow"]).cases}
    changed = sorted(i for i in before if before[i] != after[i])
    assert changed  # the profile breaks a rule this plan judges
    result = diff_runs(runs["compliant"], runs["slow"])
    assert sorted(case for case, _a, _b in result.verdicts) == changed
    assert not result.added and not result.missing
    assert any(what == "DUT file" for what, _a, _b in result.context)
    cli = runner.invoke(app, ["diff", str(runs["compliant"]), str(runs["slow"]), "--html", str(tmp_path / "d.html")])
    assert cli.exit_code == 1
    for case in changed:
        assert f"verdict  {case}: pass -> fail" in cli.output
    page = (tmp_path / "d.html").read_text()
    assert "Verdicts that changed (" + str(len(changed)) + ")" in page and changed[0] in page


def test_two_seeds_of_the_compliant_charger_change_no_verdict_and_move_nothing_beyond_its_uncertainty(runs) -> None:
    """No verdict changes and no judged value moves beyond its combined measurement uncertainty, trip and
    reconnection times included: the compliant charger's protection cycle is locked to the grid and its clock is
    the unit's, so the seed changes only the noise (``rig.sim.charger.ac_port``)."""
    result = diff_runs(runs["compliant"], runs["seed2"])
    assert result.verdicts == [] and not result.added and not result.missing, format_diff(result)
    assert result.moved == [], format_diff(result)
    assert [what for what, _a, _b in result.context] == ["seed"]
    cli = runner.invoke(app, ["diff", str(runs["compliant"]), str(runs["seed2"])])
    assert cli.exit_code == 0
    assert "every value within its combined uncertainty" in cli.output
    assert "<h1>Run comparison</h1>" in render_diff_html(result)


def test_a_run_that_does_not_verify_is_not_compared(runs, tmp_path: Path) -> None:
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(runs["seed2"], copy)
    (copy / "results.json").write_text((copy / "results.json").read_text() + " ")
    result = runner.invoke(app, ["diff", str(runs["compliant"]), str(copy)])
    assert result.exit_code == 2 and "does not verify" in result.output
