"""The run and its front doors: opening a bench, the engine, steps, the CLI, the pytest plugin."""
