"""`make bench`'s whole-run benchmark still runs end to end, on a tiny extract.

Not a timing test: it asserts that every figure the issue asks for is
printed and recorded (stage times, peak RSS, floor, rate, batches), with
values that make sense for what was delivered, so the benchmark cannot rot
unnoticed while the pipeline's stage functions change.

The smallest run that still prints every kind of figure: two sizes per format
(the growth figures need two), and the Airflow-path run (each stage its own
process) for the smaller CSV size only (``--steps smallest-csv``, decision
0772): the larger size's steps run is the same code path again, and its eight
stage processes were a quarter of the test's CPU.
"""

from __future__ import annotations

from pathlib import Path

from aanlevering.pipeline.stages import STAGE_NAMES
from support.bench import run_bench

STAGES = STAGE_NAMES  # the benchmark times the stages the CLI and the DAG run


def test_bench_pipeline_prints_and_records_every_figure(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    recorded = run_bench(
        "bench_pipeline.py",
        "--csv-patients",
        "300,600",
        "--fhir-patients",
        "150,300",
        "--steps",
        "smallest-csv",
        results=results,
    )
    for label in ("csv_300", "csv_600", "fhir_150", "fhir_300"):
        for stage in STAGES:
            assert recorded[f"{label}_{stage}"] >= 0
            assert recorded[f"{label}_{stage}_peak_rss"] > 0
        assert recorded[f"{label}_run"] > 0
        assert recorded[f"{label}_patients"] > 0
        assert recorded[f"{label}_records"] >= recorded[f"{label}_patients"] * 0.5
        assert recorded[f"{label}_pseudonymise_rate"] > 0
        assert recorded[f"{label}_ttp_batches"] >= 1
        assert recorded[f"{label}_output_bytes"] > 0
        assert recorded[f"{label}_floor"] > 0
        assert recorded[f"{label}_floor_write"] > 0  # synced, as the delivery's files are
        assert recorded[f"{label}_floor_write_unsynced"] >= 0  # microseconds at this size
        assert recorded[f"{label}_run_over_floor"] > 0
    # The Airflow path (each stage its own process, state through the run folder) is measured.
    for label in ("csv_300_steps",):
        for stage in STAGES:
            assert recorded[f"{label}_{stage}"] > 0
            assert (
                recorded[f"{label}_{stage}_cpu"] > 0
            )  # the step's process, comparable when shared
        assert recorded[f"{label}_run"] >= sum(recorded[f"{label}_{s}"] for s in STAGES) * 0.99
        assert recorded[f"{label}_records"] == recorded[label.removesuffix("_steps") + "_records"]
        assert recorded[f"{label}_over_in_process"] > 0
    assert "fhir_150_steps_run" not in recorded
    assert "csv_600_steps_run" not in recorded  # --steps smallest-csv
    assert recorded["growth_per_patient_ratio_fhir"] > 0  # two FHIR sizes, their own growth
    assert not any("steps_over_csv" in name for name in recorded)
    assert recorded["csv_600_excluded_optout"] >= 0
    assert recorded["growth_per_patient_ratio"] > 0
    assert recorded["gx_import"] > 0
