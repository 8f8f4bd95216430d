"""Vehicle-side drivers: the rig's CAN interface to the charger (python-can)."""
