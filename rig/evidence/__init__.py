"""Evidence and report: the run directory, its seal, plots and their worker, the HTML report, verification."""
