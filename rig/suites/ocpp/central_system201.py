"""The rig's answers as the charging station's OCPP 2.0.1 CSMS: what a 2.0.1 case's plan says the CSMS answers.

The 1.6 answers (``central_system``) with 2.0.1's actions: the idTokens the
CSMS knows (``idTokenInfo`` in Authorize and in a TransactionEvent that
carries an idToken), and the transaction id the charger itself gives in its
TransactionEvent Started, kept so a case can say ``$transactionId`` (2.0.1:
the charging station numbers its transactions, E01.FR.16).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from rig.suites.ocpp.central_system import Answers, CentralSystem, now_text

IdTokenStatus = Literal["Accepted", "Blocked", "ConcurrentTx", "Expired", "Invalid", "NoCredit", "NotAllowedTypeEVSE",
                        "NotAtThisLocation", "NotAtThisTime", "Unknown"]
"""AuthorizationStatusEnumType (2.0.1)."""


class CentralSystem201(CentralSystem):
    """``central_system:`` in an OCPP 2.0.1 plan: the idTokens it knows (any other is Unknown)."""

    id_tags: dict[str, IdTokenStatus] = Field(  # type: ignore[assignment]
        description="The idTokens it knows and the status of each; any other is Unknown.")


class Answers201(Answers):
    """The responders of an OCPP 2.0.1 case, and what the charger told the rig (its transaction id)."""

    transaction_id: Any

    def _info(self, id_tag: str | None) -> dict[str, Any]:
        return {"status": self.system.id_tags.get(id_tag or "", "Unknown")}

    def _transaction_event(self, payload: dict) -> dict:
        """Keeps the charger's transactionId of a Started event (``$transactionId``) and the idToken of the
        transaction (``$idTag``); answers idTokenInfo when the event carries an idToken (E01, C01)."""
        info = payload.get("transactionInfo", {})
        token = payload.get("idToken", {}).get("idToken")
        if payload.get("eventType") == "Started":
            self.transaction_id, self.id_tag = info.get("transactionId"), token
        elif token is not None and info.get("transactionId") == self.transaction_id:
            self.id_tag = token
        return {"idTokenInfo": self._info(token)} if token is not None else {}

    def made(self) -> dict[str, Callable[[dict], dict]]:
        def ack(payload: dict) -> dict:
            return {}
        return {
            "BootNotification": self._boot,
            "Heartbeat": lambda payload: {"currentTime": now_text(self.clock)},
            "StatusNotification": ack, "MeterValues": ack, "NotifyReport": ack, "NotifyEvent": ack,
            "SecurityEventNotification": ack, "FirmwareStatusNotification": ack, "LogStatusNotification": ack,
            "NotifyChargingLimit": ack, "ReportChargingProfiles": ack, "NotifyMonitoringReport": ack,
            "Authorize": lambda payload: {"idTokenInfo": self._info(payload.get("idToken", {}).get("idToken"))},
            "TransactionEvent": self._transaction_event,
            "DataTransfer": lambda payload: {"status": "Accepted"},
        }

    def substitute(self, value: Any) -> Any:
        """A case's payload with ``$transactionId`` (a string in 2.0.1; ``none`` before the charger gave one) and
        ``$idTag`` filled in."""
        if value == "$transactionId" and self.transaction_id is None:
            return "none"
        return super().substitute(value)
