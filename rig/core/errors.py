"""Errors the rig reports as one clear message instead of a traceback.

Each error says what went wrong, where (file:line and field, or instrument
and command) and, where it can, what to do about it. The CLI turns a
``RigInputError`` into exit code 2; ``InstrumentError`` and
``SafetyError`` raised inside a case become a recorded case error.
"""

from __future__ import annotations

from pathlib import Path


class RigError(Exception):
    """Base class of every error the rig expects and explains."""


class RigInputError(RigError):
    """A plan, bench or DUT file (or a command line) the rig cannot use."""


class InputFileError(RigInputError):
    """A problem at a known place in an input file: ``file:line: field: message``."""

    def __init__(self, file: Path | str, line: int | None, field: str | None, message: str) -> None:
        self.file = Path(file)
        self.line = line
        self.field = field
        self.message = message
        where = f"{self.file}:{line}" if line is not None else f"{self.file}"
        what = f"{field}: {message}" if field else message
        super().__init__(f"{where}: {what}")


class EnvelopeError(RigInputError):
    """A setpoint outside the bench's safety envelope; nothing was sent."""


class EvidenceWriteError(RigError):
    """The evidence could not be written (disk full, no permission, a path that cannot be made).

    A run cannot go on without its record: the bench is made safe and the
    run ends (``rig run`` exits 2, naming the file).
    """

    def __init__(self, path: Path | str, error: OSError) -> None:
        self.path = Path(path)
        self.reason = error.strerror or str(error)
        super().__init__(f"{self.path}: cannot write evidence: {self.reason}")


class EnvelopeBreach(RigError):
    """A quantity measured during a case left the bench's safety envelope (or an instrument's own
    protection tripped). The case ends as an error with outputs off; the run goes on."""


class IdentityError(RigError):
    """The peer at an instrument address is not the instrument the bench file names.

    Nothing but the identification query was sent to it.
    """

    def __init__(self, role: str, address: str, expected: str, received: str, *, asked_by: str = "*IDN?") -> None:
        self.role, self.address, self.expected, self.received = role, address, expected, received
        super().__init__(f"{role} at {address}: expected {expected}; asked {asked_by}, it answered {received!r}. "
                         "Nothing else was sent to it; check the address and the bench file")


class SafetyError(RigError):
    """The bench could not be brought to, or kept in, its safe state."""


class InstrumentError(RigError):
    """An instrument refused a command, reported an error or did not answer."""

    def __init__(self, instrument: str, command: str, detail: str) -> None:
        self.instrument = instrument
        self.command = command
        self.detail = detail
        super().__init__(f"{instrument}: {command!r}: {detail}")
