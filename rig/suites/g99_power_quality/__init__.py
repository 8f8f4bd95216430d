"""G99 power quality: harmonic currents (IEC 61000-4-7 analysis, BS EN 61000-3-2 limits), DC injection, power factor."""
