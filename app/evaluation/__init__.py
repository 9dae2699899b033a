"""Evaluation: `verbatim eval` and what it measures.

One door: the CLI's `verbatim eval` (app.evaluation.cli). The question suite about the bundled
report is app.evaluation.suite (`run_suite`; written out by app.evaluation.suite_output, thresholds
chosen by app.evaluation.calibration); the public benchmarks are app.evaluation.beir, squad and
squad2, sharing their opening, cached index and output files in app.evaluation.benchmark; the
briefing's QA coverage against lead and LexRank is app.evaluation.brief. Metrics
(metrics, ir_metrics, verdicts, uncertainty) are small functions with exact, tested outputs.
"""
