"""Whom the rig talks to: an instrument's ``*IDN?`` checked before anything else is sent.

Every driver declares the instrument family it speaks to (manufacturer and
model patterns); a bench file may pin an instrument further (model pattern,
serial). A peer that does not answer like a member of the family (a web
server, another instrument, a swapped unit) gets nothing but the
identification query: the bench is refused with a message naming the role,
the address, what was expected and what was received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rig.core.errors import IdentityError


@dataclass(frozen=True)
class Idn:
    """The four fields of an IEEE 488.2 ``*IDN?`` answer."""

    manufacturer: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, reply: str) -> Idn | None:
        """The fields of a well-formed answer, or None (too few fields, empty or unprintable fields).

        Some instruments add fields (a Chroma 61600 reports two firmware
        versions): everything after the serial is kept as the firmware.
        """
        fields = [part.strip() for part in reply.strip().split(",")]
        if len(fields) < 4 or not fields[0] or not fields[1]:
            return None
        if not all(field.isprintable() for field in fields):
            return None
        return cls(fields[0], fields[1], fields[2], ",".join(fields[3:]))


@dataclass(frozen=True)
class InstrumentFamily:
    """What a driver can talk to: ``manufacturer`` and ``model`` are regexes matched in full, any case."""

    name: str
    manufacturer: str
    model: str
    asked_by: str = "*IDN?"
    """How the driver asks who the peer is, in words for an error (Modbus and CAN peers have no ``*IDN?``)."""

    def admits(self, idn: Idn) -> bool:
        return bool(re.fullmatch(self.manufacturer, idn.manufacturer, re.IGNORECASE)
                    and re.fullmatch(self.model, idn.model, re.IGNORECASE))

    def describe(self) -> str:
        return f"a {self.name} (manufacturer /{self.manufacturer}/, model /{self.model}/)"


@dataclass(frozen=True)
class IdentityPin:
    """A bench file's narrower expectation of one instrument (each part optional)."""

    model: str | None = None
    """Regex matched in full against the model field, any case."""
    serial: str | None = None
    """Exact serial number."""

    def admits(self, idn: Idn) -> bool:
        if self.model is not None and not re.fullmatch(self.model, idn.model, re.IGNORECASE):
            return False
        return self.serial is None or idn.serial == self.serial

    def describe(self) -> str:
        parts = ([f"model /{self.model}/"] if self.model else []) + ([f"serial {self.serial}"] if self.serial else [])
        return ", ".join(parts)


def check_identity(role: str, address: str, reply: str, family: InstrumentFamily,
                   pin: IdentityPin | None = None) -> Idn:
    """The parsed identity if ``reply`` is from a member of ``family`` (and matches ``pin``); else refuse."""
    expected = family.describe() + (f" pinned to {pin.describe()}" if pin and pin.describe() else "")
    idn = Idn.parse(reply)
    if idn is None or not family.admits(idn) or (pin is not None and not pin.admits(idn)):
        shown = reply if len(reply) <= 120 else reply[:117] + "..."
        raise IdentityError(role, address, expected, shown, asked_by=family.asked_by)
    return idn
