"""The person at the bench: the physical actions no instrument of the bench performs (a card at the charger's
reader, a plug without a vehicle emulator).

A step that needs one tells the operator what to do: on a real bench it is
printed when a terminal is attached (and only recorded otherwise); the case
then waits, bounded by its plan, for the charger's message that shows it
happened, so an action nobody performed is a check not met, never a pass.
On the simulated lab the operator's hand is the lab's (``SimulatedOperator``):
there is no wire for a hand, so it acts on the simulated charger directly,
the one place the rig reaches into the lab without an instrument protocol.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rig.sim.simulated_lab import SimulatedLab


class Operator(Protocol):
    instructions: list[str]
    """Every instruction given in the run, in order (evidence of what was asked of the person)."""

    def instruct(self, text: str) -> bool:
        """Ask for an action; whether it is surely done (False: perhaps, by a person)."""
        ...

    def present_card(self, id_tag: str) -> bool:
        """Ask for a card at the charger's reader; whether it surely was shown."""
        ...

    def configure_ocpp(self, url: str, profile: int | None = None, password: str | None = None) -> bool:
        """Ask for the charger's central system address (and security profile, password) to be set at its own
        configuration tool (a security case's precondition); whether it surely was."""
        ...


class TerminalOperator:
    """A person at a real bench, told through the terminal when one is attached."""

    def __init__(self) -> None:
        self.instructions: list[str] = []

    def instruct(self, text: str) -> bool:
        self.instructions.append(text)
        if sys.stdin is not None and sys.stdin.isatty():
            print(f"\n>>> OPERATOR: {text}", file=sys.stderr, flush=True)
        return False

    def present_card(self, id_tag: str) -> bool:
        return self.instruct(f"Present the card with idTag {id_tag} at the charger's reader.")

    def configure_ocpp(self, url: str, profile: int | None = None, password: str | None = None) -> bool:
        return self.instruct(ocpp_configuration_text(url, profile, password))


class SimulatedOperator:
    """The simulated lab's person: does what it is told to the simulated charger."""

    def __init__(self, sim: SimulatedLab) -> None:
        self.sim = sim
        self.instructions: list[str] = []

    def instruct(self, text: str) -> bool:
        self.instructions.append(text)  # no hand in the lab does anything else
        return False

    def present_card(self, id_tag: str) -> bool:
        self.instructions.append(f"Present the card with idTag {id_tag} at the charger's reader.")
        self.sim.present_card(id_tag)
        return True

    def configure_ocpp(self, url: str, profile: int | None = None, password: str | None = None) -> bool:
        self.instructions.append(ocpp_configuration_text(url, profile, password))
        self.sim.configure_ocpp(url, profile, password)
        return True


def ocpp_configuration_text(url: str, profile: int | None, password: str | None) -> str:
    """The instruction for a charger's OCPP configuration (its password is named, never printed)."""
    text = f"At the charger's configuration tool, set its central system address ({url.split(':', 1)[0]}://) to {url}"
    if profile is not None:
        text += f" and its security profile to {profile}" + (" with the case's password" if password else "")
    return text + "."
