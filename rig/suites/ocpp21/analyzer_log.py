"""The power analyzer beside the digitizer in an OCPP 2.1 case: while the case waits (the settled part of every
commanded power), the rig reads each of the analyzer's data updates at the charger's AC terminals; each ``power``
check with a target is then also judged on the updates that lie wholly in its settled window, with the analyzer's
stated accuracy (``<check>_analyzer_error_w``). Two instruments on two principles (a precision analyzer's
averaging, the digitizer's cycle power) agreeing is what makes a settled value evidence."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from rig.core.clock import Clock
from rig.core.roles import AnalyzerUpdate, PowerAnalyzer
from rig.core.uncertainty import Uncertainty, expanded, normal, rectangular
from rig.suites.analyzer_ranges import choose_range
from rig.suites.platform import CannotJudge


@dataclass
class AnalyzerLog:
    """The analyzer's AC element, ranged once for the case, read update by update while the case waits."""

    analyzer: PowerAnalyzer
    clock: Clock
    element: int
    update_s: float
    updates: list[AnalyzerUpdate] = field(default_factory=list)

    @classmethod
    def prepared(cls, analyzer: PowerAnalyzer, clock: Clock, update_s: float, max_voltage_v: float,
                 max_current_a: float) -> AnalyzerLog:
        """Ranged for the case: the analyzer's smallest voltage and current ranges that hold the plan's largest
        values (``CannotJudge`` when it has none that large)."""
        if "ac" not in analyzer.elements:
            raise CannotJudge("the bench's power analyzer names no 'ac' element (its elements: "
                              f"{', '.join(analyzer.elements) or 'none'})")
        element = analyzer.elements["ac"]
        voltages, currents = analyzer.ranges(element)
        analyzer.set_update_rate(update_s)
        analyzer.set_ranges(element, choose_range(voltages, max_voltage_v, 1.0, "the AC voltage"),
                            choose_range(currents, max_current_a, 1.0, "the AC current"))
        return cls(analyzer, clock, element, update_s)

    def wait_until(self, condition: Callable[[], bool], until: float) -> bool:
        """Wait (bench time) until ``condition`` holds or the clock reaches ``until``, reading every update that
        ends before then, and looking at ``condition`` after each (so about as often as the rig polls anyway)."""
        while True:
            if condition():
                return True
            now = self.clock.now()
            if now >= until - 1e-9:
                return False
            if now + self.update_s > until:
                self.clock.sleep(until - now)
                return condition()
            self.updates.append(self.analyzer.read([self.element]))

    def settled(self, name: str, start: float, end: float, target_w: float) -> tuple[float, Uncertainty, str] | None:
        """The mean of the updates wholly inside [start, end] (rig clock) less ``target_w``, its uncertainty (the
        analyzer's stated accuracy on its range, rectangular; the updates' scatter), and a finding; None when no
        update lies wholly inside."""
        inside = [u for u in self.updates if u.t_s - u.interval_s >= start and u.t_s <= end]
        if not inside:
            return None
        readings = [u.elements[self.element] for u in inside]
        mean = sum(r.power_w for r in readings) / len(readings)
        worst = max(readings, key=lambda r: abs(r.power_w))
        spec = self.analyzer.power_spec(self.element, worst.frequency_hz, worst.current_range_a)
        half = spec.half_width_w(worst.power_w, worst.power_range_w, worst.apparent_va)
        spread = (math.sqrt(sum((r.power_w - mean) ** 2 for r in readings) / (len(readings) - 1) / len(readings))
                  if len(readings) > 1 else 0.0)
        u = expanded(rectangular("analyzer's stated power accuracy on its range", half),
                     normal(f"scatter of the mean of {len(readings)} updates", spread))
        return mean - target_w, u, (f"{name}: the analyzer read {mean:.0f} W over {len(readings)} updates "
                                    f"(target {target_w:.0f} W)")
