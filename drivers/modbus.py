"""Modbus TCP sessions for drivers: the address form, opening the session, one request at a time.

Every Modbus driver (the digital I/O module, a SunSpec charger) speaks through
pymodbus's synchronous client, which waits for each response before it
returns: when a write returns, the peer (and in the simulated lab the model)
has done it, so the exchange is quiescent, as virtual time needs. A refusal
(a Modbus exception response) or no answer raises ``InstrumentError`` naming
the role and the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from rig.core import stop
from rig.core.errors import InstrumentError

# pymodbus logs what goes wrong on a connection ("Invalid Modbus protocol id", "Repeating....") to stderr through
# Python's last-resort handler; the driver raises the same event as one InstrumentError naming role and request,
# which the run records, so the library's own lines would only scatter the bench engineer's terminal.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

MODBUS_PORT = 502
EXCEPTION_CODES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                   4: "server device failure", 6: "server device busy", 11: "gateway target did not respond"}

Response = TypeVar("Response", bound=ModbusPDU)


def refusal(response: ModbusPDU) -> str:
    """A Modbus exception response in words: its code and what the code means."""
    code = getattr(response, "exception_code", None)
    return f"Modbus exception {code} ({EXCEPTION_CODES.get(code or 0, 'unknown')})"


def tcp_address(name: str, resource: str) -> tuple[str, int]:
    """Host and port of ``modbus-tcp://HOST[:PORT]`` (port 502 when omitted); anything else is refused."""
    parts = urlsplit(resource)
    try:
        port = parts.port or MODBUS_PORT
    except ValueError:
        port = 0
    if parts.scheme != "modbus-tcp" or not parts.hostname or not port or parts.path not in ("", "/"):
        raise InstrumentError(name, f"open {resource}", "expected a Modbus TCP address modbus-tcp://HOST[:PORT]")
    return parts.hostname, port


def open_client(name: str, resource: str, timeout_s: float) -> ModbusTcpClient:
    """A connected client (no retries: a request that gets no answer is reported, not repeated)."""
    host, port = tcp_address(name, resource)
    client = ModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
    try:
        connected = client.connect()
    except (ModbusException, OSError) as err:
        raise InstrumentError(name, f"open {resource}", f"cannot connect: {err}") from None
    if not connected:
        raise InstrumentError(name, f"open {resource}", "cannot connect: nothing answers at that address")
    return client


def exchange(name: str, what: str, request: Callable[[], Response], *, peer: str = "the module") -> Response:
    """One request and its response; a refusal or no answer raises naming the request."""
    stop.checkpoint()
    try:
        response = request()
    except ModbusException as err:
        raise InstrumentError(name, what, f"no answer: {err}") from None
    if response.isError():
        raise InstrumentError(name, what, f"{peer} refused it: {refusal(response)}")
    return response
