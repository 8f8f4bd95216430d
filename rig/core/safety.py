"""The safe state: every output off, in a defined order, on every exit path.

The AC source goes first (the charger loses its supply and stops exporting,
its contactors open), then DC sources, then everything else. Each
instrument is tried even if an earlier one failed, because one instrument
that does not answer must not leave another energised; the failures are
reported together afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping

from rig.core.roles import ROLE_TABLE, Instrument

SAFE_ORDER = tuple(role.name for role in ROLE_TABLE)
"""The role table's order (``rig.core.roles.ROLE_TABLE`` says why each role is where it is)."""


def bring_to_safe_state(instruments: Mapping[str, Instrument]) -> list[str]:
    """Turn every output off in ``SAFE_ORDER``; returns the problems met (empty when all went safe)."""
    ordered = sorted(instruments.items(), key=lambda item: SAFE_ORDER.index(item[0])
                     if item[0] in SAFE_ORDER else len(SAFE_ORDER))
    problems: list[str] = []
    for role, instrument in ordered:
        try:
            instrument.safe_off()
        except Exception as err:  # noqa: BLE001 - keep going: the next instrument must still go safe
            text = str(err)
            problems.append(text if text.startswith(f"{role}:") else f"{role}: {text}")
    return problems
