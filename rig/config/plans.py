"""Test plans and campaigns: loaded as data, validated once by their suite's model, each case with its line.

A plan file is one suite's: its ``suite:`` names the suite (``rig.suites``),
whose plan model validates the rest (errors come back as ``file:line:
field: message``). A campaign file lists plan files (paths relative to the
campaign file). Nothing here knows any suite's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from rig.core.errors import InputFileError, RigInputError
from rig.suites.platform import Procedure, Strict, Suite, SuiteCase, SuitePlan
from rig.suites import SUITES
from rig.config.yaml_source import load_document, validate


class Campaign(Strict):
    campaign: str
    title: str = ""
    suites: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedCase:
    """A case with the plan it belongs to, its suite, and where it was written."""

    plan: SuitePlan
    case: SuiteCase
    plan_file: Path
    line: int | None

    @property
    def suite(self) -> Suite:
        return SUITES[self.plan.suite]

    @property
    def procedure(self) -> Procedure:
        return self.suite.procedures[self.case.procedure]

    @property
    def source(self) -> str:
        """``file:line`` as the user named the file (for messages; evidence uses its own copy)."""
        return f"{self.plan_file}:{self.line}"


def load_plan(path: Path) -> list[LoadedCase]:
    """A plan file's cases, validated by the model of the suite it names."""
    document = load_document(path)
    name = document.data.get("suite")
    if not isinstance(name, str) or name not in SUITES:
        raise InputFileError(path, document.line_of(("suite",)), "suite",
                             f"unknown suite {name!r} (known: {', '.join(sorted(SUITES))})")
    plan = validate(document, SUITES[name].plan)
    plan.bind(document)
    return [LoadedCase(plan, case, Path(path), document.line_of(("cases", i))) for case, i in plan.runnable()]


def is_campaign(path: Path) -> bool:
    return "campaign" in load_document(path).data


def load_campaign(path: Path) -> list[Path]:
    document = load_document(path)
    campaign = validate(document, Campaign)
    suites = []
    for index, entry in enumerate(campaign.suites):
        suite = (path.parent / entry).resolve()
        if not suite.is_file():
            raise InputFileError(path, document.line_of(("suites", index)), f"suites[{index}]",
                                 f"no such plan file: {entry}")
        suites.append(suite)
    return suites


@dataclass(frozen=True)
class PlanFiles:
    """What the command line named, resolved: the plan files to run and the campaign files that listed them."""

    plans: list[Path]
    campaigns: list[Path]

    @property
    def all(self) -> list[Path]:
        """Every file read, campaigns first: what the evidence keeps a copy of."""
        return self.campaigns + self.plans


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def collect_plan_files(paths: list[Path]) -> PlanFiles:
    """Plan files from the command line: files, campaigns (their suites) and directories (their *.yaml).

    A directory without any plan, or a command line that names none, is an
    input error: a run of nothing must not look like a run that passed.
    """
    plans: list[Path] = []
    campaigns: list[Path] = []
    if not paths:
        raise RigInputError("no plan given: name a plan file, a campaign file or a directory of plans")
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml"))
            if not found:
                raise InputFileError(path, None, None, "this directory holds no plan files (*.yaml)")
            inner = collect_plan_files(found)
            plans.extend(inner.plans)
            campaigns.extend(inner.campaigns)
        elif not path.exists():
            raise InputFileError(path, None, None, "no such plan file or directory")
        elif is_campaign(path):
            campaigns.append(path.resolve())
            plans.extend(load_campaign(path))
        else:
            plans.append(path.resolve())
    return PlanFiles(_unique(plans), _unique(campaigns))


def expand_plan_paths(paths: list[Path]) -> list[Path]:
    """The plan files to run, in order, each once."""
    return collect_plan_files(paths).plans


def load_cases(paths: list[Path]) -> list[LoadedCase]:
    cases: list[LoadedCase] = []
    for path in expand_plan_paths(paths):
        cases.extend(load_plan(path))
    seen: dict[str, str] = {}
    for loaded in cases:
        if loaded.case.id in seen:
            raise InputFileError(loaded.plan_file, loaded.line, "id",
                                 f"case id {loaded.case.id!r} is also used at {seen[loaded.case.id]}")
        seen[loaded.case.id] = loaded.source
    return cases
