"""G99 loss of mains by islanding: the run-on time after the grid switch opens on a balanced RLC load."""
