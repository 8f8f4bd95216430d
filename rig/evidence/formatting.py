"""How numbers, limits and settings read, in the report and on the terminal alike."""

from __future__ import annotations

import math

import numpy as np

from rig.core.results import CaseResult, Limit, Uncertainty

_UNIT_SUFFIXES = (
    ("_hz_per_s", "Hz/s"),
    ("_v_per_s", "V/s"),
    ("_pct", "%"),
    ("_deg", "°"),
    ("_hz", "Hz"),
    ("_kw", "kW"),
    ("_w", "W"),
    ("_ms", "ms"),
    ("_s", "s"),
    ("_v", "V"),
    ("_a", "A"),
)
"""Setting names end in their unit (``to_v``, ``hold_s``); this turns the suffix into a unit label."""


def format_number(value: float) -> str:
    """Six significant digits, and a whole number still reads as a float: 262.2, 1.0, 0.512346."""
    text = f"{value:.6g}"
    return f"{text}.0" if text.lstrip("-").isdigit() else text


def format_setting(setting: dict[str, float | str]) -> str:
    """A case's setting in one line, e.g. ``262.2 V, 1.0 s``; names without a unit suffix are kept."""
    parts = []
    for name, value in setting.items():
        unit = _unit_of(name)
        if isinstance(value, str):
            parts.append(f"{name} {value}")
        elif unit is None:
            parts.append(f"{name} {format_number(value)}")
        else:
            parts.append(f"{format_number(value)} {unit}")
    return ", ".join(parts)


def format_limit(limit: Limit) -> str:
    """``0.45..0.55 s``, or ``≥ 0.45 s`` / ``≤ 0.55 s`` when one bound is open; ``yes`` for a check that must
    be met; a unitless whole bound (a count) without a decimal point."""
    if is_check(limit):
        return "yes"
    unit = f" {limit.unit}" if limit.unit else ""
    if not limit.unit and all(b is None or float(b).is_integer() for b in (limit.min, limit.max)):
        low, high = (None if b is None else str(int(b)) for b in (limit.min, limit.max))
        if low is not None and high is not None:
            return f"{low}..{high}"
        return f"≥ {low}" if low is not None else (f"≤ {high}" if high is not None else "no limit")
    if limit.min is not None and limit.max is not None:
        return f"{format_number(limit.min)}..{format_number(limit.max)}{unit}"
    if limit.min is not None:
        return f"≥ {format_number(limit.min)}{unit}"
    if limit.max is not None:
        return f"≤ {format_number(limit.max)}{unit}"
    return "no limit"


def format_measured(name: str, value: float | None, limit: Limit | None,
                    uncertainty: Uncertainty | None = None) -> str:
    """A measured value with its expanded uncertainty and its limit's unit, rounded as the GUM says (7.2.6: the
    uncertainty to two significant digits, the value to the same decimal place): ``trip_value: 262.152 ± 0.058
    V``; a count as a whole number (``levels_held: 14``), a check as yes or no (``session_ended: yes``);
    ``not measured`` when the procedure got no value."""
    if value is None:
        return f"{name}: not measured"
    label = limit.unit if limit is not None and limit.unit else _unit_of(name)
    unit = f" {label}" if label else ""
    expanded = uncertainty.expanded if uncertainty is not None else None
    if not label and not expanded and float(value).is_integer():
        return f"{name}: {format_count(value, limit)}"
    if expanded:
        return f"{name}: {format_value(value, expanded)} ± {format_uncertainty(expanded)}{unit}"
    return f"{name}: {format_number(value)}{unit}"


def is_check(limit: Limit | None) -> bool:
    """A judged yes/no: a check met (1) or not (0) that must be met (limit: at least 1, no upper bound)."""
    return limit is not None and limit.min == 1.0 and limit.max is None and not limit.unit


def format_count(value: float, limit: Limit | None) -> str:
    """A whole number with no unit and no uncertainty: ``yes``/``no`` for a check, else the number (``14``)."""
    if is_check(limit) and value in (0.0, 1.0):
        return "yes" if value == 1.0 else "no"
    return str(int(value))


def format_value(value: float, expanded: float) -> str:
    """``value`` to the decimal place of the second significant digit of ``expanded`` (> 0), as stated."""
    stated = float(format_uncertainty(expanded))
    place = math.floor(math.log10(stated)) - 1
    text = f"{round(value, -place):.0f}" if place >= 0 else f"{value:.{-place}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0"


def format_uncertainty(value: float) -> str:
    """Two significant digits, as uncertainties are stated, never in exponent form: 0.058, 0.000052, 1.2."""
    return np.format_float_positional(value, precision=2, unique=False, fractional=False, trim="-") if value else "0"


def format_budget(uncertainty: Uncertainty) -> str:
    """The budget in one line: ``U = 0.058 (k = 2): resolution ... u = 0.029 (rectangular)``."""
    parts = [f"{c.source}: u = {format_uncertainty(c.standard)} ({c.distribution})" for c in uncertainty.components]
    return (f"U = {format_uncertainty(uncertainty.expanded)} (k = {uncertainty.coverage_factor:g})"
            + (": " + "; ".join(parts) if parts else ""))


def _unit_of(name: str) -> str | None:
    """The unit a quantity's name ends in (``hold_s`` -> s), or None."""
    return next((label for suffix, label in _UNIT_SUFFIXES if name.endswith(suffix)), None)


def judged_cell(case: CaseResult, name: str, *, missing: str = "not measured") -> tuple[str, str]:
    """A summary cell for one judged value: its text with uncertainty, and its own verdict (the case's when it
    errored or was skipped). A value the case judges but did not measure fails; ``missing`` says so."""
    value, limit = case.measured.get(name), case.limits.get(name)
    text = missing if value is None else format_measured(name, value, limit, case.uncertainty.get(name)).split(": ", 1)[1]
    if case.verdict in ("error", "skip"):
        return (text if value is not None else case.verdict, case.verdict)
    zone = case.acceptance.get(name)
    if value is None or zone is None:
        return (text, "fail" if limit is not None else "")
    if zone.admits(value):
        return (text, "pass")
    if case.verdict.startswith("conditional") and limit is not None:  # ILAC-G8 4.2.3: how sure, around the limit
        if limit.admits(value):
            return (text, "conditional pass")
        w = max((b - z for b, z in ((limit.max, zone.max), (zone.min, limit.min)) if b is not None and z is not None),
                default=0.0)
        widened = Limit(min=None if limit.min is None else limit.min - w,
                        max=None if limit.max is None else limit.max + w)
        return (text, "conditional fail" if widened.admits(value) else "fail")
    return (text, "fail")
