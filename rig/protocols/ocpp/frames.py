"""OCPP-J frames (RPC over WebSocket): parse what a charger sent, build what the rig sends, choose a subprotocol.

A frame is a JSON array: ``[2, id, action, payload]`` (CALL), ``[3, id,
payload]`` (CALLRESULT), ``[4, id, code, description, details]`` (CALLERROR);
OCPP 2.1 adds ``[5, id, code, description, details]`` (CALLRESULTERROR) and
``[6, id, action, payload]`` (SEND). ``parse`` never raises on what a charger
sends: a frame that is not one of these is a ``Malformed`` naming why and the
CALLERROR code its version defines for it, so the rig can record it, judge
it and answer it (OCPP-J 1.6 table 7 spells the format error
``FormationViolation``; 2.x says ``FormatViolation``, and ``RpcFrameworkError``
or ``MessageTypeNotSupported`` for a frame that is no RPC at all).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

Version = Literal["1.6", "2.0.1", "2.1"]
VERSIONS: tuple[Version, ...] = ("1.6", "2.0.1", "2.1")
SUBPROTOCOL: dict[Version, str] = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
"""The WebSocket subprotocol each version is negotiated as (OCPP-J: ``Sec-WebSocket-Protocol``)."""

CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND = 2, 3, 4, 5, 6
KINDS = {CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR", CALLRESULTERROR: "CALLRESULTERROR",
         SEND: "SEND"}
ARITY = {CALL: 4, CALLRESULT: 3, CALLERROR: 5, CALLRESULTERROR: 5, SEND: 4}
TYPES_OF: dict[Version, tuple[int, ...]] = {"1.6": (2, 3, 4), "2.0.1": (2, 3, 4), "2.1": (2, 3, 4, 5, 6)}

MAX_ID_LENGTH = 36
"""A message id is a string of at most 36 characters (OCPP-J, both versions)."""


def format_error(version: Version) -> str:
    """The CALLERROR code for a payload or frame that breaks the format: 1.6 spells it FormationViolation."""
    return "FormationViolation" if version == "1.6" else "FormatViolation"


@dataclass(frozen=True)
class Frame:
    """A well-formed OCPP-J frame."""

    type_id: int
    message_id: str
    action: str | None = None
    """CALL and SEND: the action; otherwise None (a reply is matched to its CALL by id)."""
    payload: Any = None
    error_code: str | None = None
    error_description: str | None = None
    error_details: Any = None

    @property
    def kind(self) -> str:
        return KINDS[self.type_id]


@dataclass(frozen=True)
class Malformed:
    """What a charger sent that is no valid frame of its version: why, and how the version says to answer."""

    reason: str
    answer_code: str
    """The CALLERROR code to answer with."""
    message_id: str | None = None
    """The id, when one can be read (an answer needs one; without it the frame cannot be answered)."""


def parse(text: str, version: Version) -> Frame | Malformed:
    """The frame ``text`` is, or why it is none (never raises)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as err:
        return Malformed(f"not JSON: {err}", _rpc_error(version))
    if not isinstance(value, list) or not value:
        return Malformed(f"a frame is a JSON array, got {type(value).__name__}", _rpc_error(version))
    type_id = value[0]
    message_id = value[1] if len(value) > 1 and isinstance(value[1], str) else None
    if not isinstance(type_id, int) or isinstance(type_id, bool) or type_id not in TYPES_OF[version]:
        code = "MessageTypeNotSupported" if version != "1.6" else "FormationViolation"
        return Malformed(f"message type {type_id!r} is not one OCPP {version} has", code, message_id)
    if len(value) != ARITY[type_id]:
        return Malformed(f"a {KINDS[type_id]} has {ARITY[type_id]} elements, this one {len(value)}",
                         format_error(version), message_id)
    if message_id is None:
        return Malformed(f"the message id must be a string, got {value[1]!r}", format_error(version))
    if len(message_id) > MAX_ID_LENGTH:
        return Malformed(f"message id longer than {MAX_ID_LENGTH} characters", format_error(version), message_id)
    if type_id in (CALL, SEND):
        action, payload = value[2], value[3]
        if not isinstance(action, str) or not isinstance(payload, dict):
            return Malformed("a CALL is [2, id, action (string), payload (object)]", format_error(version), message_id)
        return Frame(type_id, message_id, action, payload)
    if type_id == CALLRESULT:
        if not isinstance(value[2], dict):
            return Malformed("a CALLRESULT's payload is an object", format_error(version), message_id)
        return Frame(type_id, message_id, payload=value[2])
    code, description, details = value[2], value[3], value[4]
    if not isinstance(code, str) or not isinstance(description, str) or not isinstance(details, dict):
        return Malformed(f"a {KINDS[type_id]} is [{type_id}, id, code, description, details (object)]",
                         format_error(version), message_id)
    return Frame(type_id, message_id, error_code=code, error_description=description, error_details=details)


def readable_id(text: str) -> tuple[int | None, str | None]:
    """The message type and id of ``text`` where they can be read (a JSON array whose second element is a string),
    whatever else is wrong with it: what a deliberately broken frame's answer is matched by."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(value, list) or len(value) < 2 or not isinstance(value[1], str):
        return None, None
    type_id = value[0] if isinstance(value[0], int) and not isinstance(value[0], bool) else None
    return type_id, value[1]


def _rpc_error(version: Version) -> str:
    return "FormationViolation" if version == "1.6" else "RpcFrameworkError"


def call(message_id: str, action: str, payload: dict[str, Any]) -> str:
    return _dump([CALL, message_id, action, payload])


def call_result(message_id: str, payload: dict[str, Any]) -> str:
    return _dump([CALLRESULT, message_id, payload])


def call_error(message_id: str, code: str, description: str = "", details: dict[str, Any] | None = None) -> str:
    return _dump([CALLERROR, message_id, code, description, details or {}])


def call_result_error(message_id: str, code: str, description: str = "", details: dict[str, Any] | None = None) -> str:
    """OCPP 2.1 only: the answer to a CALLRESULT the receiver found invalid (part 4, message type 5)."""
    return _dump([CALLRESULTERROR, message_id, code, description, details or {}])


def _dump(value: list[Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def choose_subprotocol(offered: Sequence[str], wanted: Sequence[Version]) -> str | None:
    """The subprotocol to accept: the first version the rig wants (in its order) that the charger offered; None
    when it offered none of them (OCPP-J: complete the handshake without the header, then close)."""
    for version in wanted:
        if SUBPROTOCOL[version] in offered:
            return SUBPROTOCOL[version]
    return None


def version_of(subprotocol: str) -> Version:
    return next(v for v, name in SUBPROTOCOL.items() if name == subprotocol)


def identity_from_path(path: str) -> str:
    """The charging station's identity: the last segment of the connection URL's path, percent-decoded (OCPP
    2.0.1 errata 4.1; websockets leaves ``/CP%2F1`` as it came)."""
    segment = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return unquote(segment)
