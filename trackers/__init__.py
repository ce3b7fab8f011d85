"""Tracker registry."""
