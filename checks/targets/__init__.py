"""Targets the exploration engine can explore (see `checks.engine.target.Target`)."""
