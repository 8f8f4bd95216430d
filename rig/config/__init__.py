"""Configuration and plans: YAML with file:line, the bench file and its envelope, DUT files, test plans."""
