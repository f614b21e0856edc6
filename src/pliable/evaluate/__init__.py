"""Evaluation: ``evaluate()``, metrics and statistics (issue 4)."""
