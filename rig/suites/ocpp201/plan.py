"""The OCPP 2.0.1 plan: cases named as the OCA's test tool names them (TC_<block>_<nn>_CS), each citing its
edition; the 1.6 plan's case kinds (cold boot, pending boot, steps as data) with 2.0.1's central system.

A script case of 2.0.1 also judges what only 2.0.1 has: the seqNo of each
transaction's TransactionEvents (0 for Started, one more for each event
after it, E01/E02), measured as ``transaction_event_seq_errors`` and
limited to none, so every case with a transaction catches a charger that
numbers its events wrong.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from rig.core.results import Limit
from rig.suites.ocpp.central_system201 import CentralSystem201
from rig.suites.ocpp16 import plan as plan16
from rig.suites.ocpp16.plan import BootPendingCase, ColdBootCase

SEQ_ERRORS = "transaction_event_seq_errors"
"""The TransactionEvents whose seqNo is not the one its transaction's sequence calls for."""


class ScriptCase(plan16.ScriptCase):
    """A 2.0.1 case as the test case document's steps: each check limited to be met, and no TransactionEvent
    out of its sequence."""

    def limit_map(self) -> dict[str, Limit]:
        return {**super().limit_map(), SEQ_ERRORS: Limit(max=0.0)}


AnyCase = Union[ColdBootCase, BootPendingCase, ScriptCase]
Case = Annotated[AnyCase, Field(discriminator="procedure")]


class Plan(plan16.Plan):
    """An OCPP 2.0.1 plan file (the 1.6 plan's sections; the central system knows 2.0.1 idTokens)."""

    suite: Literal["ocpp201"]  # type: ignore[assignment]
    version: Literal["2.0.1"] = Field(  # type: ignore[assignment]
        "2.0.1", description="The OCPP version the rig accepts in these cases (a charger speaking several is held to "
                             "this one).")
    central_system: CentralSystem201  # type: ignore[assignment]
    cases: list[Case] = Field(min_length=1)  # type: ignore[assignment]
