"""The one simulated charger (the DUT), one module per face: AC port and protection, DC and CHAdeMO, SunSpec, its profile."""
