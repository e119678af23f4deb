"""Reports on what a stage did to the data: statistics as JSON, figures as PNG.

Each module computes its statistics from plain records (no I/O) and writes them
separately, so a stage always returns the numbers and writes files only when asked.

- `quality`: the filter's report (filter_summary.json and three histograms);
- `run` + `html`: the whole run's report (`acecoder report RUN_DIR`): `run.collect`
  gathers the numbers from a run folder, `html.write_report` writes report.json and a
  self-contained report.html drawn from them.
"""
