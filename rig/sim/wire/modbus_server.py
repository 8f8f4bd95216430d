"""Modbus TCP on loopback for the simulated lab's Modbus devices (the digital I/O module, the charger's SunSpec
interface).

pymodbus does the protocol: its socket framer cuts the MBAP frames and
builds the answers, its server-side decoder makes the request PDUs, and each
request runs against the same datastore pymodbus's own server builds from a
``SimDevice`` (``SimCore``), with the module's ``request`` as the hook that
answers from the lab. Errors are answered as pymodbus's server answers them
(an undecodable request: illegal function; an unknown unit: gateway no
response; a datastore failure: device failure).

What is not pymodbus's server is the transport: one blocking thread per
connection, like the SCPI instruments (``rig.sim.wire.scpi_server``), instead of its
asyncio loop. pymodbus's server schedules every request through two loop
callbacks and a cross-thread future, about 180 us a round trip on loopback
against 25 us for a blocking thread; the CHAdeMO vehicle reads its contact
lines every 100 ms cycle, so that was a tenth of a session's wall time. The
request's ``datastore_update`` is a coroutine only by signature: nothing in
``SimCore`` or the hook waits on anything, so it is run to completion in
place (``_completed``), and one that did suspend is answered device failure
and logged, never left hanging.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Coroutine
from types import SimpleNamespace
from typing import Any, Protocol

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException, NoSuchIdException
from pymodbus.framer import FramerSocket
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.device import DeviceInformationFactory, ModbusDeviceIdentification
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest, ReadDeviceInformationResponse
from pymodbus.simulator import SimData, SimDevice
from pymodbus.simulator.simcore import SimCore

log = logging.getLogger(__name__)

class ModbusModule(Protocol):
    """A simulated Modbus device the server answers for: its blocks, and each request against the lab."""

    def simdata(self) -> list[SimData] | tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        """The blocks pymodbus serves: one shared block, or coils, discrete inputs, holding and input registers."""
        ...

    def request(self, function_code: int, address: int,
                values: list[int] | list[bool] | None) -> list[int] | ExcCodes: ...

    def modbus_identity(self) -> dict[str, str]:
        """The Read Device Identification objects by name (VendorName, ProductCode, MajorMinorRevision); empty for
        a device that does not answer that request."""
        ...


class ModbusServer(socketserver.ThreadingTCPServer):
    """Serve one simulated module on 127.0.0.1 (a free port), each request under the lab's lock."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, module: ModbusModule, lock: threading.RLock, before_request: Callable[[], None],
                 *, identity: dict[str, str]) -> None:
        """``identity``: the Read Device Identification objects by name (VendorName, ProductCode,
        MajorMinorRevision); empty for a device that does not answer that request (illegal function)."""
        super().__init__(("127.0.0.1", 0), _Connection)
        self.module = module
        self.identity = dict(identity)
        self.lock = lock
        self.before_request = before_request
        self.decoder = DecodePDU(True)
        self.decoder.register(identification_request(self.identity))
        self.context = SimCore(SimDevice(id=0, action=self._request, simdata=module.simdata()))
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"modbus-{type(module).__name__}", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def resource(self) -> str:
        return f"modbus-tcp://127.0.0.1:{self.port}"

    def start(self) -> ModbusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def answer(self, request: ModbusPDU) -> ModbusPDU:
        """The response to one decoded request, as pymodbus's server would give it."""
        try:
            response = _completed(request.datastore_update(self.context, request.dev_id))  # type: ignore[arg-type]  # SimCore answers the calls a server context does (pymodbus's own simulator passes it)
        except NoSuchIdException:
            response = ExceptionResponse(request.function_code, ExcCodes.GATEWAY_NO_RESPONSE)
        except Exception:  # noqa: BLE001 - pymodbus's server answers a failing datastore so, and serves on
            log.exception("the simulated Modbus module could not answer function %s", request.function_code)
            response = ExceptionResponse(request.function_code, ExcCodes.DEVICE_FAILURE)
        response.transaction_id = request.transaction_id
        response.dev_id = request.dev_id
        return response

    async def _request(self, function_code: int, start_address: int, address: int, count: int,
                       registers: list[int], values: list[int] | list[bool] | None) -> ExcCodes | None:
        """pymodbus's hook before it reads or writes the module's block: the model answers instead.

        ``registers`` (the addressed block, from its start) are refilled from the
        model, after applying a write, so pymodbus answers with the lab's state at
        this instant.
        """
        with self.lock:
            self.before_request()
            answer = self.module.request(function_code, address, values)
        if isinstance(answer, ExcCodes):
            return answer
        registers[:len(answer)] = answer  # in place: pymodbus keeps the block's length
        return None


def _completed(coroutine: Coroutine[Any, Any, ModbusPDU]) -> ModbusPDU:
    """Run a coroutine that never waits to its result (pymodbus's datastore calls are async in name only)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a Modbus datastore call waited on something; the simulated lab's never do")


_LONGEST_UNFINISHED = 1024
"""More bytes than this without a whole frame among them (the longest Modbus TCP frame is 260 bytes) is not a
client speaking Modbus TCP: the connection is closed, where pymodbus's framer would wait for it for ever."""


class _Connection(socketserver.BaseRequestHandler):
    """One client: frames in, one answer per request, in order."""

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        server: ModbusServer = self.server  # type: ignore[assignment]
        framer = FramerSocket(server.decoder)
        pending = b""
        while data := self._receive():
            pending += data
            if len(pending) > _LONGEST_UNFINISHED:  # not Modbus TCP (a wrong protocol id never completes)
                log.error("Modbus connection: %d bytes that make no frame; closing it", len(pending))
                return
            while pending:
                try:
                    used, request = framer.handleFrame(pending, 0, 0)
                except ModbusIOException as err:  # a function it does not know: refused, as a device does
                    function = pending[7] if len(pending) > 7 else 0
                    pending = pending[int.from_bytes(pending[4:6], "big") + 6:]  # that frame only (its MBAP length)
                    answer: ModbusPDU = ExceptionResponse(function, exception_code=ExcCodes.ILLEGAL_FUNCTION,
                                                          device_id=err.dev_id, transaction=err.transaction_id)
                else:
                    pending = pending[used:]
                    if request is None:
                        break  # the rest of a frame is still on its way
                    answer = server.answer(request)
                self.request.sendall(framer.buildFrame(answer))

    def _receive(self) -> bytes:
        try:
            return self.request.recv(4096)
        except OSError:
            return b""


def identification_request(objects: dict[str, str]) -> type[ModbusPDU]:
    """A Read Device Identification request class that answers from ``objects`` (none: the device does not
    implement the function, and says so: illegal function).

    pymodbus answers 0x2B/0x0E from one control block per process (a
    singleton), so two simulated devices in one process would share an identity;
    registered as this server's custom PDU, the request answers from its own.
    Its sub-function code stays -1 once decoded, so pymodbus's decoder does not
    swap in its own class for MEI type 0x0E.
    """

    identity = ModbusDeviceIdentification(info_name=objects)

    class ModuleIdentification(ReadDeviceInformationRequest):
        sub_function_code = -1

        def decode(self, data: bytes) -> None:
            super().decode(data)
            self.sub_function_code = -1

        async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
            if not objects:
                return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)
            if not 0x01 <= self.read_code <= 0x04:
                return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
            information = DeviceInformationFactory.get(SimpleNamespace(Identity=identity), self.read_code,
                                                       self.object_id)
            if not information.get(self.object_id, True):
                return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_ADDRESS)
            return ReadDeviceInformationResponse(read_code=self.read_code, information=information,
                                                 dev_id=device_id, transaction_id=self.transaction_id)

    return ModuleIdentification
