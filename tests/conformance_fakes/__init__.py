"""Deliberately broken protocol adapters, for testing how the runner copes with them."""
