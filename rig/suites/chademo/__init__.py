"""CHAdeMO compliance: the rig plays the vehicle (CAN, contact lines, battery emulator) against the charger."""
