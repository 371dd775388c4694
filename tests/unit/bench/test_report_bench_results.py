"""scripts/report_bench_results.py: docs tables come from the record, targets judged from it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "report_bench_results.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_bench_results_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _record(tmp_path: Path) -> Path:
    figures = {
        "csv_1m_extract": 3.5,
        "csv_1m_build_output": 20.0,
        "csv_1m_run": 58.0,
        "csv_1m_floor": 12.5,
        "csv_1m_run_over_floor": 4.64,
        "csv_1m_peak_rss": 2100.0,
        "csv_1m_steps_build_output": 24.0,
        "csv_1m_steps_run": 72.0,
        "fhir_1m_extract": 200.0,
        "fhir_1m_run": 300.0,
        "fhir_1m_floor": 60.0,
        "fhir_1m_peak_rss": 4000.0,
        "run_with_large_log_growth": 0.9,
        "log_large_extract": 0.1,  # the event log bench's runs have their own section
        "log_large_run": 2.5,
        "make_bench_seconds": 1800,
    }
    path = tmp_path / "results.json"
    document = {
        "finished_at": "2026-12-05T04:40:00+00:00",
        "figures": [{"name": n, "value": v, "unit": ""} for n, v in figures.items()],
    }
    path.write_text(json.dumps(document))
    return path


def test_targets_are_judged_from_the_record(tmp_path: Path) -> None:
    module = _module()
    values = module.values_of(json.loads(_record(tmp_path).read_text()))
    rows = {
        line.split(" | ")[0].removeprefix("| "): line.split(" | ")[-1].removesuffix(" |")
        for line in module.target_table(values).splitlines()[2:]
    }
    assert rows == {
        "`fhir_1m_run` ≤ 5x `fhir_1m_floor`": "yes",
        "`fhir_1m_peak_rss` ≤ 4,096 MiB": "yes",
        "`csv_1m_run` ≤ 60 s": "yes",
        "`csv_1m_run` ≤ 5x `csv_1m_floor`": "yes",
        "`csv_1m_peak_rss` ≤ 2,048 MiB": "no",
        "`csv_1m_steps_run` ≤ 1.25x `csv_1m_run`": "yes",  # 72 / 58 = 1.24
        "`run_with_large_log_growth` ≤ 1.2x (log 10x larger)": "yes",
        "`make_bench_seconds` < 1,800 s": "no",  # strictly below
    }


def test_a_missing_figure_is_never_met(tmp_path: Path) -> None:
    module = _module()
    table = module.target_table({"csv_1m_run": 59.0})
    assert "| `csv_1m_run` ≤ 60 s | 59.0 s | yes |" in table
    assert "| `fhir_1m_peak_rss` ≤ 4,096 MiB | - | no figure |" in table
    assert table.count("no figure") == len(module.TARGETS) - 1


def test_the_stage_table_has_every_run_of_the_record(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(_record(tmp_path))],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert "2026-12-05T04:40:00+00:00" in lines[0]
    header = next(line for line in lines if line.startswith("| stage |"))
    assert header == "| stage | csv_1m | csv_1m_steps | fhir_1m |"
    assert "| build_output | 20.0 s | 24.0 s | - |" in lines
    assert "| **run** | 58.0 s | 72.0 s | 300.0 s |" in lines
    assert "| peak RSS | 2,100 MiB | - | 4,000 MiB |" in lines
