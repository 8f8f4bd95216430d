"""G99 interface protection: trip values, trip times and no-trip points of every voltage and frequency stage."""
