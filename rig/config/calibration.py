"""An instrument's calibration as evidence: the date its calibration is due (the bench file's
``calibration_due``), judged on the day it is used. Past due is a problem a certification body must see; none
stated on a real unit is said (a digital I/O module or a CAN interface measures nothing and may have none); a
simulated instrument has none. One rule for ``rig bench check`` and for a run's record."""

from __future__ import annotations

import datetime
from typing import Literal

CalibrationState = Literal["valid", "expired", "unknown", "simulated", "none"]
"""``none``: nothing to calibrate (the rig's own central system)."""


def calibration_state(due: str | None, today: datetime.date, *, simulated: bool) -> tuple[CalibrationState, str]:
    """The state and how a report says it (``due`` is YYYY-MM-DD, checked when the bench file was read)."""
    if simulated:
        return "simulated", "simulated: none"
    if due is None:
        return "unknown", "unknown: no calibration_due in the bench file"
    if datetime.date.fromisoformat(due) < today:
        return "expired", f"EXPIRED: was due {due}"
    return "valid", f"due {due}"
