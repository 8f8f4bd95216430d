"""Wires the rig's pytest plugin for this checkout.

Installed, the plugin also arrives through its ``pytest11`` entry point
(named after the module, so pytest sees one plugin, not two). Fixtures for
the rig's own tests live in ``tests/conftest.py``.
"""

pytest_plugins = ["rig.run.pytest_plugin"]
