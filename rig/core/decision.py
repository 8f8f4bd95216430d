"""Decision rules: how a measured value with its uncertainty becomes pass or fail (ILAC-G8:09/2019).

A certification body accepts a verdict only with the rule that produced it.
The plan chooses one for all its cases, the report states it, and every
case records the acceptance zone it was judged against:

- ``simple_acceptance`` (ILAC-G8 4.2.1, guard band w = 0): pass when the
  measured value lies within the limit. The uncertainty is stated beside the
  value; the risk of a false pass near a limit is the customer's, which the
  rig keeps small by its measurement resolution.
- ``guarded_acceptance`` (ILAC-G8 4.2.2, guard band
  w = ``guard_band`` x U): pass only when the value lies inside the limit
  narrowed by w at each bound, so a pass holds with about 95 % confidence
  (w = U, k = 2); a value outside the limit fails; one inside the limit but
  within w of it cannot be decided by this measurement, and the case is an
  error saying so (never a pass, and not a fail the measurement cannot
  support).
- ``non_binary`` (ILAC-G8 4.2.3, guard band w = U at each bound): four
  verdicts, each saying how sure it is: pass (inside the limit by more than
  U), conditional pass (inside, but within U of a bound), conditional fail
  (outside, but within U), fail (outside by more than U). A case with several
  values takes the worst of theirs.

A limit the rule must apply to a value that has no uncertainty is a rig
defect, so it ends the case as an error rather than guessing.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from rig.core.results import DecisionRuleRecord, Limit, Uncertainty

STATEMENTS = {
    "simple_acceptance": "Simple acceptance (ILAC-G8:09/2019 4.2.1, guard band w = 0): a value passes when it lies "
                         "within the limit; its expanded uncertainty (k = 2) is stated beside it.",
    "guarded_acceptance": "Guarded acceptance (ILAC-G8:09/2019 4.2.2 guard band, undecided zone an error): a value passes only when it "
                          "lies inside the limit narrowed at each bound by the guard band w = {w:g} x U "
                          "(expanded uncertainty, k = 2); outside the limit it fails; inside the limit but within "
                          "the guard band it is undecided and the case is an error.",
    "non_binary": "ILAC-G8:09/2019 4.2.3 non-binary statement (guard band w = {w:g} x U at each bound, expanded "
                  "uncertainty, k = 2): pass when the value lies inside the limit by more than w; conditional pass "
                  "when inside but within w of a bound; conditional fail when outside but within w; fail when "
                  "outside by more than w. A case takes the worst statement of its values.",
}

RuleName = Literal["simple_acceptance", "guarded_acceptance", "non_binary"]
Statement = Literal["pass", "conditional pass", "conditional fail", "fail"]
STATEMENT_ORDER: tuple[Statement, ...] = get_args(Statement)
"""From best to worst: a case takes the worst of its values' statements."""


class DecisionRule(BaseModel):
    """The plan's choice (``decision_rule:`` in a plan file)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    rule: RuleName
    guard_band: float = Field(1.0, ge=0.0, description="w as a multiple of U (guarded acceptance and the "
                                                       "non-binary rule).")

    @property
    def w_factor(self) -> float:
        return 0.0 if self.rule == "simple_acceptance" else self.guard_band

    def record(self) -> DecisionRuleRecord:
        return DecisionRuleRecord(rule=self.rule, guard_band=self.w_factor,
                                  statement=STATEMENTS[self.rule].format(w=self.guard_band))

    def acceptance_zone(self, limit: Limit, uncertainty: Uncertainty | None) -> Limit:
        """The limit narrowed by the guard band (the limit itself under simple acceptance)."""
        if self.w_factor == 0.0:
            return limit
        if uncertainty is None:
            raise ValueError("a guarded decision needs the value's uncertainty")
        w = self.w_factor * uncertainty.expanded
        return Limit(min=None if limit.min is None else limit.min + w,
                     max=None if limit.max is None else limit.max - w, unit=limit.unit)

    def statement(self, limit: Limit, uncertainty: Uncertainty | None, value: float) -> Statement:
        """The non-binary statement for ``value`` (ILAC-G8 4.2.3): pass or fail when it lies beyond w of the
        limit's bounds, conditional within w of one."""
        inside = self.acceptance_zone(limit, uncertainty)
        if inside.admits(value):
            return "pass"
        if limit.admits(value):
            return "conditional pass"
        w = self.w_factor * (uncertainty.expanded if uncertainty is not None else 0.0)
        widened = Limit(min=None if limit.min is None else limit.min - w,
                        max=None if limit.max is None else limit.max + w, unit=limit.unit)
        return "conditional fail" if widened.admits(value) else "fail"
