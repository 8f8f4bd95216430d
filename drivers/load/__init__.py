"""Load drivers: the RLC load at the charger's point of connection (islanding tests)."""
