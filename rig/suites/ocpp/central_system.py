"""The rig's answers as the charger's OCPP 1.6 central system: what a case's plan says the CSMS answers.

The idTags the central system knows (and the status it gives each), the
heartbeat interval of its boot answer, and an answer per action; an
``answer`` step of a case changes one for the rest of the case. Every
answer is held against the OCA schema by the test that loads the plan, so
the rig never tells a charger something OCPP does not allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any, Literal

from pydantic import Field

from rig.core.clock import Clock
from rig.core.roles import Csms
from rig.protocols.ocpp.datetimes import text_of
from rig.suites.platform import Strict

IdStatus = Literal["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"]


class CentralSystem(Strict):
    """``central_system:`` in an OCPP plan."""

    heartbeat_interval_s: int = Field(gt=0, description="The interval the rig's BootNotification answer gives.")
    id_tags: dict[str, IdStatus] = Field(description="The idTags it knows and the status of each; any other is "
                                                     "Invalid.")
    first_transaction_id: int = Field(1, ge=1)


def now_text(clock: Clock) -> str:
    """The rig's clock as OCPP's dateTime (what the central system tells the charger)."""
    return text_of(clock.epoch_offset_s() + clock.now())


class Answers:
    """The responders the rig installs on its CSMS for one case, and what it told the charger."""

    def __init__(self, system: CentralSystem, clock: Clock) -> None:
        self.system, self.clock = system, clock
        self.overrides: dict[str, dict[str, Any]] = {}
        self._ids = count(system.first_transaction_id)
        self.transaction_id: int | None = None
        """The last transaction id the rig gave (``$transactionId`` in a case's payloads)."""
        self.id_tag: str | None = None
        """The idTag of the last StartTransaction (``$idTag``)."""

    def _info(self, id_tag: str | None) -> dict[str, Any]:
        return {"status": self.system.id_tags.get(id_tag or "", "Invalid")}

    def _boot(self, payload: dict) -> dict:
        return {"status": "Accepted", "currentTime": now_text(self.clock), "interval": self.system.heartbeat_interval_s}

    def _start(self, payload: dict) -> dict:
        self.transaction_id = next(self._ids)
        self.id_tag = payload.get("idTag")
        return {"transactionId": self.transaction_id, "idTagInfo": self._info(self.id_tag)}

    def _stop(self, payload: dict) -> dict:
        return {"idTagInfo": self._info(payload["idTag"])} if "idTag" in payload else {}

    def made(self) -> dict[str, Callable[[dict], dict]]:
        """The answer to each action the charger may send, before a case's ``answer`` steps change it (a
        version's answers subclass this)."""
        return {
            "BootNotification": self._boot,
            "Heartbeat": lambda payload: {"currentTime": now_text(self.clock)},
            "StatusNotification": lambda payload: {},
            "MeterValues": lambda payload: {},
            "Authorize": lambda payload: {"idTagInfo": self._info(payload.get("idTag"))},
            "StartTransaction": self._start,
            "StopTransaction": self._stop,
            "DataTransfer": lambda payload: {"status": "Accepted"},
            "DiagnosticsStatusNotification": lambda payload: {},
            "FirmwareStatusNotification": lambda payload: {},
        }

    def responders(self) -> dict[str, Callable[[dict], object]]:
        def answering(action: str, made: Callable[[dict], dict]) -> Callable[[dict], object]:
            return lambda payload: {**made(payload), **self.overrides.get(action, {})}

        return {action: answering(action, made) for action, made in self.made().items()}

    def substitute(self, value: Any) -> Any:
        """A case's payload with ``$transactionId`` and ``$idTag`` filled in."""
        if value == "$transactionId":
            return self.transaction_id if self.transaction_id is not None else -1
        if value == "$idTag":
            return self.id_tag or ""
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        return value


@contextmanager
def answering(csms: Csms, answers: Answers) -> Iterator[Answers]:
    """The rig's answers installed for the case, and none left behind (a charger that boots in another suite's
    case is not accepted by a central system that no case set up)."""
    csms.responders.clear()
    csms.responders.update(answers.responders())
    try:
        yield answers
    finally:
        csms.responders.clear()
