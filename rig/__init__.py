"""v2g-rig: a hardware-in-the-loop test and certification rig for V2G chargers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("v2g-rig")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0.0.0+checkout"
