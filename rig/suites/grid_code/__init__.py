"""What the grid-code suites share (G99 protection, islanding, frequency response, power quality, G100 export):
the nominal grid plan and its readiness, the exporting check, the captured disturbance, trip detection and the
case's power level. Typed on ``GridPlan``, so a suite passes its own plan without a cast."""
