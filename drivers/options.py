"""A driver's bench-file options, declared once as a model: checked when the bench file loads, read by the driver.

Every driver class has an ``Options`` model (a ``DriverOptions``): its fields are
the options the driver takes, with their types, ranges and defaults. The run
checks each instrument's ``options:`` against its driver's model before anything
is started (``rig.run.bench_session.check_drivers``), so a misspelt or out-of-range
option is one line naming the bench file, its line and the field, and nothing
is energised. A driver built directly (tests, scripts) reads its options through
the same model (``read``), where a problem is an ``InstrumentError`` naming the
role.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from rig.core.errors import InstrumentError


class DriverOptions(BaseModel):
    """Options a driver takes; any other key is refused (a typo must not silently become a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @classmethod
    def read(cls, name: str, options: dict[str, Any] | None) -> Self:
        """The options as the driver uses them; unusable ones raise naming the role and the first problem."""
        try:
            return cls.model_validate(dict(options or {}))
        except ValidationError as err:
            raise InstrumentError(name, "options", f"unusable options: {describe(err, cls)}") from None


def describe(err: ValidationError, model: type[BaseModel]) -> str:
    """The first problem as ``field: message`` (a validator that names the field it is about is believed)."""
    problem = err.errors()[0]
    cause = (problem.get("ctx") or {}).get("error")
    loc = (*problem["loc"], *getattr(cause, "loc", ()))
    if problem["type"] == "extra_forbidden":
        message = f"unknown option (allowed: {', '.join(model.model_fields)})"
    else:
        message = str(cause) if isinstance(cause, Exception) else problem["msg"]
    return f"{'.'.join(map(str, loc))}: {message}" if loc else message
