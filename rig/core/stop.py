"""Stop requests (Ctrl-C, SIGTERM): remembered until acted on, so none can be lost.

A signal handler that raises ``KeyboardInterrupt`` wherever the main thread
happens to be can raise it inside a finalizer or a weakref callback, where
Python prints "Exception ignored" and swallows it: the run goes on
energising the bench. So the handler here only *records* the request and
raises nowhere but where raising is known to be safe:

- inside ``interruptible()`` (a real-time wait, where the main thread sits
  in a sleep), so a bench engineer's Ctrl-C ends a long hold at once;
- at every ``checkpoint()``: each clock wait and each instrument exchange
  calls one, so a request is acted on within one exchange, whatever it
  interrupted.

The request is sticky: once made, every later checkpoint raises again, and
the run's closing asks ``requested()`` before it calls anything complete.
Inside ``deferred()`` (bringing the bench to its safe state, closing the
record) checkpoints do nothing, so a second Ctrl-C cannot cut the safe state
short.

This module imports nothing heavy: the ``rig`` command installs it before
anything else is loaded, so a stop during start-up is caught too.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(KeyboardInterrupt):
    """A stop was requested (the signal's name is the message); raised at a safe point."""


_requested: str | None = None
_interruptible = 0
_deferred = 0


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _requested
    if _requested is None:
        _requested = signal.Signals(signum).name
    if _interruptible and not _deferred:
        raise StopRequested(_requested)


def install() -> None:
    """Route SIGINT and SIGTERM here (main thread only, as Python requires)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)


def request(name: str = "SIGINT") -> None:
    """Record a stop request as the signal handler would (for callers that are not signals)."""
    global _requested
    if _requested is None:
        _requested = name


def requested() -> str | None:
    """The name of the signal that asked to stop, or None."""
    return _requested


def checkpoint() -> None:
    """Raise ``StopRequested`` if a stop was requested (and this is not a deferred section)."""
    if _requested is not None and not _deferred:
        raise StopRequested(_requested)


@contextmanager
def interruptible() -> Iterator[None]:
    """A wait during which a stop request raises at once (a real-time sleep)."""
    global _interruptible
    checkpoint()
    _interruptible += 1
    try:
        yield
    finally:
        _interruptible -= 1


@contextmanager
def deferred() -> Iterator[None]:
    """A section no stop request may cut short (safe state, closing the record)."""
    global _deferred
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1


def reset() -> None:
    """Forget a request (tests only: a real run never takes a stop request back)."""
    global _requested
    _requested = None


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (delivered, if still wanted, when the block ends)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def pending() -> str | None:
    """A stop signal that arrived while blocked and waits to be delivered, or None."""
    waiting = signal.sigpending()
    for signum in STOP_SIGNALS:
        if signum in waiting:
            return signal.Signals(signum).name
    return None
