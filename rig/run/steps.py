"""Procedure steps as they happen: evidence, live progress and allure, from one call.

A procedure says ``with lab.steps.step("Step grid to 280 V"):`` and the step
is recorded with its bench time (for results.json), shown on the terminal,
and, when the run is a pytest session with allure, reported as an allure
step. The procedure knows none of these consumers.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Callable, ContextManager, Iterator

from rig.core import stop
from rig.core.clock import Clock
from rig.core.results import Step

StepListener = Callable[[str], None]


def _allure_step(name: str) -> ContextManager[object]:
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return nullcontext()
    return allure.step(name)


class StepLog:
    """Collects the steps of the current case."""

    def __init__(self, clock: Clock, listeners: list[StepListener] | None = None, use_allure: bool = False) -> None:
        self.clock = clock
        self.listeners = list(listeners or [])
        self.use_allure = use_allure
        self.steps: list[Step] = []

    def start_case(self) -> None:
        self.steps = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        stop.checkpoint()  # every procedure step is a point where a stop request is acted on
        self.steps.append(Step(name=name, sim_time_s=round(self.clock.now(), 6)))
        for listener in self.listeners:
            listener(name)
        with _allure_step(name) if self.use_allure else nullcontext():
            yield
