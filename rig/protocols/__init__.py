"""Protocol knowledge shared by drivers and the simulated lab (SunSpec models)."""
