"""`make bench`'s event-log benchmark still runs end to end, on a tiny export and tiny logs.

Not a timing test: it asserts that the figures issue 18 asks for are printed
(run against a large log, against an empty one, the growth run, the log reads
indexed and replayed) with values that fit what was built and delivered, so
the benchmark cannot rot unnoticed.

The deliveries are repeated against the large log only (``--repeat-large-only``,
decision 0872): the repeat and its fastest-of figure are the same code for every
log, and each delivery is a worker process of its own (about ten seconds of CPU).
"""

from __future__ import annotations

from pathlib import Path

from support.bench import run_bench


def test_bench_event_log_prints_every_figure(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    recorded = run_bench(
        "bench_event_log.py",
        "--patients",
        "200",
        "--registrations",
        "2",
        "--months",
        "3",
        "--patients-per-delivery",
        "20",
        "--optouts",
        "300",
        "--growth",
        "2",
        "--repeat-large-only",
        "--cache-dir",
        str(tmp_path / "cache"),
        results=results,
    )
    fastest = min(recorded["log_large_run"], recorded["log_large_again_run"])
    assert recorded["run_with_large_log"] == recorded["log_large_best_run"] == fastest > 0
    assert recorded["run_with_large_log_over_empty"] > 0
    assert recorded["run_with_large_log_growth"] > 0
    assert recorded["run_with_large_log_reads_growth"] > 0
    # 2 x 3 deliveries of 20 patients and 300 opt-outs, then as much again
    assert recorded["log_large_log_events"] >= 2 * 3 * 5 + 300
    # as much again (other random withdrawals, so not exactly twice)
    assert recorded["log_large2x_log_events"] >= 1.9 * recorded["log_large_log_events"]
    assert recorded["log_large_again_run"] > 0  # the large log is delivered against twice
    # ... and the others once (--repeat-large-only): their best run is that one run.
    assert "log_empty_again_run" not in recorded and "log_large2x_again_run" not in recorded
    assert recorded["log_empty_best_run"] == recorded["log_empty_run"] > 0
    assert recorded["log_large2x_best_run"] == recorded["log_large2x_run"] > 0
    for label in ("log_large", "log_large2x"):
        assert recorded[f"{label}_reads_patients"] == recorded[f"{label}_patients"]
        assert recorded[f"{label}_reads_indexed"] >= 0
    assert recorded["log_large_reads_replay"] > 0
    # both built logs are kept for the next run (they take minutes at full size)
    assert len(list((tmp_path / "cache").glob("history-*.sqlite3"))) == 2
