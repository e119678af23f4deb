"""Reports on what a stage did to the data: statistics as JSON, figures as PNG.

Each module computes its statistics from plain records (no I/O) and writes them
separately, so a stage always returns the numbers and writes files only when asked.
"""
