"""Maintenance scripts for the test suite."""
