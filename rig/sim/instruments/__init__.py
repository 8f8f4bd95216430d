"""The instruments the simulated lab serves: a vendor-neutral model per role, one dialect module per real family."""
