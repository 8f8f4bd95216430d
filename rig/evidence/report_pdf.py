"""report.pdf: the report's own content on paper, for a certification body's file.

The PDF is the HTML report's document (the same template, the same
evidence), laid out for A4 by WeasyPrint, with each plot as the JPEG drawn
beside its SVG (a PDF renderer draws a plot's hundreds of SVG elements
about a hundred times slower than it places a picture). Nothing is fetched:
every picture is inline, and any other address is refused.

Rebuilt from the same evidence it is the same bytes: WeasyPrint writes no
date of its own, and the one time stamp it would take from the clock (the
``head.modified`` field fontTools writes into each embedded font subset)
is taken from ``SOURCE_DATE_EPOCH``, the reproducible-builds convention
fontTools follows, set here to the run's start for the rendering only.

WeasyPrint needs the system's Pango library. Where it cannot be loaded the
run goes on and the HTML report says why there is no PDF
(``pdf_problem``), since the evidence is complete without it and
``rig report DIR`` renders it later on a machine that can.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path

PDF = "report.pdf"

_environment = threading.Lock()
"""One rendering at a time changes the process's environment."""


@cache
def pdf_problem() -> str | None:
    """Why no PDF can be rendered on this machine, or None when it can."""
    try:
        import weasyprint  # noqa: F401  -- loads Pango through cffi: fails where the library is missing
    except (ImportError, OSError) as error:
        return f"report.pdf not rendered: WeasyPrint cannot load here ({str(error).splitlines()[0]})"
    return None


@contextmanager
def _source_date(started: str) -> Iterator[None]:
    """``SOURCE_DATE_EPOCH`` set to the run's start while the PDF is written, as it was before afterwards."""
    epoch = str(int(datetime.fromisoformat(started).timestamp()))
    with _environment:
        before = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = epoch
        try:
            yield
        finally:
            if before is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = before


def pdf_bytes(html: str, run_dir: Path, started: str) -> bytes:
    """The PDF of the report's HTML (rendered for print: plots as inline JPEG); ValueError if the document
    asks for anything not inline."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    # The report is one file: a picture from anywhere but the document itself stops the rendering.
    inline_only = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    document = HTML(string=html, base_url=str(run_dir), url_fetcher=inline_only, media_type="print")
    with _source_date(started):
        try:
            return document.write_pdf()
        except FatalURLFetchingError as error:  # a BaseException in WeasyPrint: made an ordinary error here
            raise ValueError(str(error)) from None
