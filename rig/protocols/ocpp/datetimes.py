"""OCPP's dateTime (RFC 3339, UTC, ``Z``) to and from seconds since 1970: one reading for the rig and its lab."""

from __future__ import annotations

import datetime


def wall_of(text: str) -> float:
    """OCPP's dateTime as seconds since 1970."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def text_of(wall: float) -> str:
    """Seconds since 1970 as OCPP's dateTime, to the millisecond."""
    instant = datetime.datetime.fromtimestamp(wall, datetime.timezone.utc)
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")
