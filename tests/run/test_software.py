"""What a run ran on: Python and every package ``constraints.txt`` pins, recorded in results.json; a version that
is not the tested one is named, and the report's first screen says so."""

from __future__ import annotations

from pathlib import Path

import numpy

from campaign_helpers import ROOT, run_cases
from rig.run import engine
from rig.run.software import CONSTRAINTS, pinned, software_record


def test_the_constraints_file_the_readme_installs_with_pins_every_dependency() -> None:
    pins = pinned()
    assert CONSTRAINTS == ROOT / "constraints.txt" and pins is not None
    for name in ("numpy", "pyvisa", "pymodbus", "python-can", "ocpp", "cryptography", "pydantic"):
        assert any(p.lower().replace("_", "-") == name for p in pins), name
    assert "-c constraints.txt" in (ROOT / ".ci" / "run").read_text()


def test_a_version_other_than_the_tested_one_is_named(tmp_path: Path) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("numpy==0.0.1\nno-such-package==1.0\npyyaml  # unpinned: ignored\n")
    record, differs = software_record(constraints)
    assert record["numpy"] == numpy.__version__ and record["no-such-package"] == "not installed"
    assert differs == [f"numpy {numpy.__version__} (tested with 0.0.1)", "no-such-package not installed (tested with 1.0)"]
    assert software_record(tmp_path / "missing.txt")[1] == ["missing.txt not found: the installed versions were not "
                                                            "compared with the tested ones"]


def test_a_run_records_its_software_and_its_report_warns_of_a_difference(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine, "software_record", lambda: ({"python": "3.11.7", "numpy": "0.0.1"},
                                                           ["numpy 0.0.1 (tested with 2.4.6)"]))
    run = run_cases(tmp_path / "run", ids=["g99.ov2.trip_time"])
    info = run.recorder.results.run
    assert info.software == {"python": "3.11.7", "numpy": "0.0.1"}
    html = (run.recorder.run_dir / "report.html").read_text()
    assert "Not the versions the rig is tested with" in html and "numpy 0.0.1 (tested with 2.4.6)" in html
