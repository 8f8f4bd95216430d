"""What a rule returns: violations (side at fault, time, message, evidence), or not applicable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from rig.chademo.messages import Side
from rig.chademo.parameters import ChademoParameters
from rig.chademo.reconstruction import SessionSummary
from rig.chademo.session import Evidence, Session


@dataclass(frozen=True)
class Violation:
    rule: str
    side: Side
    """The side at fault."""
    t: float
    message: str
    evidence: tuple[Evidence, ...] = ()

    def describe(self) -> str:
        return f"[{self.rule}] {self.side.value} at fault, t={self.t:.3f} s: {self.message}"


class NotApplicable(Exception):
    """Raised by a rule that lacks what it needs (e.g. contact edges in a CAN-only trace):
    such a rule neither passes nor fails."""


RuleCheck = Callable[[Session, SessionSummary, ChademoParameters], list[Violation]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    check: RuleCheck = field(repr=False)


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    violations: tuple[Violation, ...] = ()
    not_applicable: str | None = None
    """Why the rule could not judge this session; None when it did."""

    @property
    def verdict(self) -> Literal["pass", "fail", "not applicable"]:
        if self.not_applicable is not None:
            return "not applicable"
        return "fail" if self.violations else "pass"
