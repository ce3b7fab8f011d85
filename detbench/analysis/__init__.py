"""Training analysis: logs.py (read a run), stats.py (figures), plots.py, report.py, compare_runs.py."""
