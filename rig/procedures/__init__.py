"""How to measure: procedures by name, as plans refer to them.

Each suite's module keeps its own table; this is the one place that joins
them, so the engine looks a procedure up without knowing which suite it
belongs to.
"""

from __future__ import annotations

from rig.procedures import g99_protection
from rig.procedures.outcome import Procedure

PROCEDURES: dict[str, Procedure] = {**g99_protection.PROCEDURES}
