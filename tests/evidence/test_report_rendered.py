"""The report as a reader sees it: report.html rendered by a real browser (headless Chromium) and report.pdf
rendered to pages (poppler), neither blank, the status, the summary and the clause matrix on them; the PDF the
same bytes when rebuilt; an interrupted run INCOMPLETE on the first page of both.

Chromium and poppler-utils are the distribution's packages, which ``.ci/run`` installs when missing and then
sets ``RIG_RENDER_TESTS=required``: there a missing tool fails these tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from rig.evidence import report_pdf
from rig.evidence.recorder import read_manifest
from rig.evidence.report import render_report
from rig.evidence.verify import verify_run
from test_report import CASES, record_error_case, start_run

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def tool(name: str) -> str:
    """The path of a rendering tool; a skip where it is missing, a failure where CI requires it."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (Debian: chromium, poppler-utils)"
        if os.environ.get("RIG_RENDER_TESTS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return found


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    return subprocess.run([tool("pdftotext"), "-layout", *pages, str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def pdf_pages(pdf: Path, out: Path) -> list[Path]:
    subprocess.run([tool("pdftoppm"), "-r", "50", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    return sorted(out.glob("page-*.png"))


def ink(png: Path) -> float:
    """The share of a picture's pixels that are not (near) white: 0 for a blank page."""
    grey = Image.open(png).convert("L")
    histogram = grey.histogram()
    return 1.0 - sum(histogram[245:]) / (grey.width * grey.height)


def chromium(html: Path, out: Path, *args: str) -> None:
    profile = out / f"profile-{len(list(out.glob('profile-*')))}"
    subprocess.run([tool("chromium"), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, html.as_uri()],
                   check=True, capture_output=True, timeout=120)


def finished_run(run_dir: Path) -> Path:
    recorder = start_run(run_dir)
    record_error_case(recorder)
    recorder.finish("complete", None, sim_seconds=4.0, wall_seconds=0.25)
    render_report(run_dir, recorder)
    recorder.seal()
    return run_dir


def test_report_pdf_is_rendered_with_the_html_listed_in_the_manifest_and_rebuilt_to_the_same_bytes(
        tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path / "run")
    pdf = run_dir / "report.pdf"
    first = pdf.read_bytes()

    assert first.startswith(b"%PDF-")
    manifest = read_manifest(run_dir).files
    assert {"report.html", "report.pdf", *(f"plots/{case}.jpg" for case in CASES)} <= manifest.keys()
    assert verify_run(run_dir).ok

    render_report(run_dir)  # rebuilt from the evidence alone, by another call (as `rig report DIR` does)
    assert pdf.read_bytes() == first
    assert verify_run(run_dir).ok


def test_report_pdf_pages_are_not_blank_and_carry_status_summary_matrix_and_cases(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path / "run")
    pages = pdf_pages(run_dir / "report.pdf", tmp_path)

    assert pages and all(ink(page) > 0.01 for page in pages), [ink(page) for page in pages]
    first_page = pdf_text(run_dir / "report.pdf", 1, 1)
    assert "COMPLETE" in first_page and "INCOMPLETE" not in first_page
    assert "Summary" in first_page
    text = pdf_text(run_dir / "report.pdf")
    assert "Clause traceability" in text
    for case_id in [*CASES, "chademo.v2h.start"]:
        assert case_id in text
    assert "no answer within 0.5 s" in text


def test_report_html_in_headless_chromium_is_not_blank_and_shows_summary_and_matrix(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path / "run")
    shot = tmp_path / "screen.png"

    chromium(run_dir / "report.html", tmp_path, "--window-size=1280,1600", f"--screenshot={shot}")
    chromium(run_dir / "report.html", tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={tmp_path / 'printed.pdf'}")

    assert ink(shot) > 0.02
    text = pdf_text(tmp_path / "printed.pdf")  # what Chromium laid out, as text
    assert "COMPLETE" in pdf_text(tmp_path / "printed.pdf", 1, 1)
    assert "Summary" in text and "Clause traceability" in text
    for case_id in CASES:
        assert case_id in text
    # Every plot is drawn by the browser from its inline data: the printed pages carry the pictures.
    pages = pdf_pages(tmp_path / "printed.pdf", tmp_path)
    assert max(ink(page) for page in pages) > 0.05


def test_an_interrupted_run_says_incomplete_on_the_first_page_of_html_and_pdf(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    recorder = start_run(run_dir)  # never finished: what a stopped or killed run leaves
    render_report(run_dir, recorder)

    assert "INCOMPLETE" in pdf_text(run_dir / "report.pdf", 1, 1)
    chromium(run_dir / "report.html", tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={tmp_path / 'printed.pdf'}")
    assert "INCOMPLETE" in pdf_text(tmp_path / "printed.pdf", 1, 1)


def test_a_machine_that_cannot_render_pdf_still_gets_the_html_report_saying_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_pdf, "pdf_problem", lambda: "report.pdf not rendered: WeasyPrint cannot load here")
    run_dir = finished_run(tmp_path / "run")

    assert not (run_dir / "report.pdf").exists()
    assert "report.pdf not rendered: WeasyPrint cannot load here" in (run_dir / "report.html").read_text()
    assert verify_run(run_dir).ok


def test_the_pdf_takes_nothing_from_outside_the_report(tmp_path: Path) -> None:
    html = '<html><body><p>x</p><img src="file:///etc/hostname"></body></html>'
    with pytest.raises(ValueError, match="file:///etc/hostname"):
        report_pdf.pdf_bytes(html, tmp_path, "2026-12-07T10:00:00+00:00")
