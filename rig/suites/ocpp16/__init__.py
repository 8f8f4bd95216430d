"""OCPP 1.6J conformance of the charger, with the rig as its central system (OCTT 1.6 case ids and titles)."""
