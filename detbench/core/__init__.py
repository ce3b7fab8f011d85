"""Small infrastructure every stage and every tracker may use (no dependency on runs, paths or
dataset layout): camera geometry today."""
