"""OCPP 2.1 bidirectional (V2X) control judged at the grid (``rig.suites.ocpp21.suite``)."""
