"""Values as a certification body reads them: rounded as the GUM says (7.2.6: the expanded uncertainty to two
significant digits, the value to the same decimal place), counts as whole numbers, checks as yes or no."""

from __future__ import annotations

import pytest

from rig.core.results import Limit, Uncertainty
from rig.evidence.formatting import format_limit, format_measured


def u(expanded: float) -> Uncertainty:
    return Uncertainty(expanded=expanded, coverage_factor=2.0, components=[])


@pytest.mark.parametrize(("value", "expanded", "shown"), [
    (262.15234, 0.0583, "262.152 ± 0.058"),
    (0.5234, 0.0241, "0.523 ± 0.024"),
    (1.6, 20.3, "2 ± 20"),
    (-4008.4, 30.0, "-4008 ± 30"),
    (1234.5, 123.0, "1230 ± 120"),
    (0.325203, 1.2, "0.3 ± 1.2"),
])
def test_a_value_is_rounded_to_its_uncertainty(value: float, expanded: float, shown: str) -> None:
    assert format_measured("x_w", value, None, u(expanded)) == f"x_w: {shown} W"


def test_a_count_is_a_whole_number_and_a_check_is_yes_or_no() -> None:
    check = Limit(min=1.0, max=None, unit="")
    assert format_measured("session_ended", 1.0, check, u(0.0)) == "session_ended: yes"
    assert format_measured("session_ended", 0.0, check, u(0.0)) == "session_ended: no"
    assert format_measured("levels_held", 14.0, Limit(min=14.0, max=None, unit=""), None) == "levels_held: 14"
    assert format_measured("schema_violations", 0.0, Limit(min=None, max=0.0, unit=""), u(0.0)) == "schema_violations: 0"
    assert format_limit(check) == "yes" and format_limit(Limit(min=None, max=0.0, unit="")) == "≤ 0"
    assert format_limit(Limit(min=0.45, max=0.55, unit="s")) == "0.45..0.55 s"
