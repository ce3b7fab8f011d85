"""Comparing detectors x trackers: paired bootstrap intervals, IDSW attribution, tables, plots."""
