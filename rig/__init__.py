"""v2g-rig: a hardware-in-the-loop test and certification rig for V2G chargers.

Importing the package loads nothing (the ``rig`` command installs its stop
handler before any heavy import); ``rig.__version__`` is read on first use.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module 'rig' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("v2g-rig")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "0.0.0+checkout"
