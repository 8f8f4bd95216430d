"""The OCPP 2.0.1 suite: plan, procedures and summary (cases as OCTT 2.0.1 names them)."""
