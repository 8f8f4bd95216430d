"""Drivers for the charger's own control interfaces (its export power, through SunSpec Modbus)."""
