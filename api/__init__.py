"""Entry points: the command line (and later the HTTP API, scheduler and dashboard)."""
