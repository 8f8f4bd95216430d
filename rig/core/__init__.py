"""The core types every layer uses: errors, the stop request, the clock, instrument roles, the run's record types, identity, uncertainty, the decision rule, the safe state."""
