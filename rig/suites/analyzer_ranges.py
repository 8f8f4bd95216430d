"""Which of a power analyzer's fixed ranges a measurement is made on: shared by the suites that read one (the
efficiency suite per load point, the OCPP 2.1 suite once per case). A plan states what must be measured (the
largest voltage and current), never a model's range list: the analyzer's own ranges come from its driver."""

from __future__ import annotations

from collections.abc import Sequence

from rig.suites.platform import CannotJudge


def choose_range(available: Sequence[float], expected: float, fill_max: float, what: str) -> float:
    """The smallest range that holds ``expected`` (an rms or mean magnitude) at most ``fill_max`` of the way up
    (the part-load range term shrinks with the range: the range is chosen per point). None fits: the analyzer
    lacks the range the point needs, and the case cannot be judged on it."""
    value = abs(expected)
    for candidate in sorted(available):
        if value <= candidate * fill_max:
            return candidate
    raise CannotJudge(f"cannot judge: {what} of {value:.4g} needs a range of at least {value / fill_max:.4g}, and the "
                      f"analyzer's largest is {max(available):g} (ranges {', '.join(f'{r:g}' for r in available)})")
