"""The growth figures of scripts/bench_pipeline.py compare like with like: in-process runs of one
source format, never a task-path run against an in-process one (that misleading line was printed
as `growth_csv_1m_steps_over_csv_1m` before)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]


def _bench_pipeline() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_pipeline_under_test", REPO / "scripts" / "bench_pipeline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _figures(module: ModuleType, runs: dict[str, float]) -> dict[str, float]:
    figures = module.Figures()
    for name, seconds in runs.items():
        figures.items.append({"name": name, "value": seconds, "unit": "s"})
    module._growth(figures)
    return {f["name"]: f["value"] for f in figures.items if f["name"] not in runs}


def test_growth_compares_in_process_runs_per_source(capsys: pytest.CaptureFixture[str]) -> None:
    module = _bench_pipeline()
    added = _figures(
        module,
        {
            "csv_200k_run": 10.0,
            "csv_1m_run": 60.0,
            "csv_200k_steps_run": 12.0,
            "csv_1m_steps_run": 75.0,
            "fhir_200k_run": 20.0,
            "fhir_1m_run": 110.0,
        },
    )
    assert added == {
        "growth_csv_1m_over_csv_200k": 6.0,
        "growth_per_patient_ratio": 1.2,
        "growth_fhir_1m_over_fhir_200k": 5.5,
        "growth_per_patient_ratio_fhir": 1.1,
    }
    assert "steps" not in capsys.readouterr().out


def test_one_run_per_source_gives_no_growth() -> None:
    module = _bench_pipeline()
    assert _figures(module, {"csv_200k_run": 10.0, "csv_200k_steps_run": 12.0}) == {}
