"""Markdown tables of one ``make bench`` record, for docs/performance.md: stages and targets.

    .venv/bin/python scripts/report_bench_results.py bench/results.json

Prints, from the figures of one run only: a table of every delivery run
(``csv_200k``, ``csv_1m``, ``csv_1m_steps``, ``fhir_200k``, ``fhir_1m``, ...)
by stage of ``pipeline.stages.STAGES``, with run, floor, ratio and peak RSS;
and the targets of issue 18, each with its figure and whether it is met (a
missing figure is "no figure", never met). Why a script: the record and the
docs must say the same numbers, copied by hand they drift. Not named
``bench_*``, so ``make bench`` does not run it as a benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGE_NAMES = (
    "check_obligation",
    "extract",
    "apply_optouts",
    "validate",
    "pseudonymise",
    "build_output",
    "deliver",
    "confirm_receipt",
)
RUN_ORDER = ("csv_200k", "csv_200k_steps", "csv_1m", "csv_1m_steps", "fhir_200k", "fhir_1m")


@dataclass(frozen=True)
class Target:
    """One target of issue 18: its wording, and how its figure is read from the record."""

    wording: str
    figure: Callable[[Mapping[str, float]], float | None]
    unit: str
    limit: float
    strictly_below: bool = False

    def met(self, figure: float) -> bool:
        """Whether ``figure`` meets the target."""
        return figure < self.limit if self.strictly_below else figure <= self.limit


def _ratio(numerator: str, denominator: str) -> Callable[[Mapping[str, float]], float | None]:
    def read(values: Mapping[str, float]) -> float | None:
        if numerator not in values or not values.get(denominator):
            return None
        return values[numerator] / values[denominator]

    return read


def _value(name: str) -> Callable[[Mapping[str, float]], float | None]:
    return lambda values: values.get(name)


TARGETS = (
    Target("`fhir_1m_run` ≤ 5x `fhir_1m_floor`", _ratio("fhir_1m_run", "fhir_1m_floor"), "x", 5),
    Target("`fhir_1m_peak_rss` ≤ 4,096 MiB", _value("fhir_1m_peak_rss"), "MiB", 4096),
    Target("`csv_1m_run` ≤ 60 s", _value("csv_1m_run"), "s", 60),
    Target("`csv_1m_run` ≤ 5x `csv_1m_floor`", _ratio("csv_1m_run", "csv_1m_floor"), "x", 5),
    Target("`csv_1m_peak_rss` ≤ 2,048 MiB", _value("csv_1m_peak_rss"), "MiB", 2048),
    Target(
        "`csv_1m_steps_run` ≤ 1.25x `csv_1m_run`",
        _ratio("csv_1m_steps_run", "csv_1m_run"),
        "x",
        1.25,
    ),
    Target(
        "`run_with_large_log_growth` ≤ 1.2x (log 10x larger)",
        _value("run_with_large_log_growth"),
        "x",
        1.2,
    ),
    Target("`make_bench_seconds` < 1,800 s", _value("make_bench_seconds"), "s", 1800, True),
)


def values_of(document: Mapping[str, Any]) -> dict[str, float]:
    """Figure name -> value; a name printed twice (``gx_import``) keeps its first value."""
    values: dict[str, float] = {}
    for figure in document["figures"]:
        values.setdefault(str(figure["name"]), float(figure["value"]))
    return values


def runs_in(values: Mapping[str, float]) -> list[str]:
    """The delivery runs of bench_pipeline the record holds, in a fixed order, then any others."""
    found = [
        name.removesuffix("_run")
        for name in values
        if name.endswith("_run") and name.startswith(("csv_", "fhir_"))  # not the event log's
    ]
    runs = [label for label in found if any(f"{label}_{s}" in values for s in STAGE_NAMES)]
    known = [label for label in RUN_ORDER if label in runs]
    return known + sorted(set(runs) - set(known))


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.1f} s"


def stage_table(values: Mapping[str, float]) -> str:
    """Seconds per stage, run, floor, ratio and peak RSS for every run of the record."""
    runs = runs_in(values)
    lines = ["| stage | " + " | ".join(runs) + " |", "|---" * (len(runs) + 1) + "|"]
    rows: list[tuple[str, Callable[[str], float | None], str]] = [
        (stage, lambda run, stage=stage: values.get(f"{run}_{stage}"), "s") for stage in STAGE_NAMES
    ]
    rows += [
        ("**run**", lambda run: values.get(f"{run}_run"), "s"),
        ("floor (read + write)", lambda run: values.get(f"{run}_floor"), "s"),
        ("run / floor", lambda run: values.get(f"{run}_run_over_floor"), "x"),
        ("peak RSS", lambda run: values.get(f"{run}_peak_rss"), "MiB"),
        ("delivered", lambda run: values.get(f"{run}_output_bytes"), "MiB"),
    ]
    for name, read, unit in rows:
        lines.append(f"| {name} | " + " | ".join(_number(read(run), unit) for run in runs) + " |")
    return "\n".join(lines)


def target_table(values: Mapping[str, float]) -> str:
    """Every target of issue 18 with its figure from this record and whether it is met."""
    lines = ["| target | this run | met? |", "|---|---|---|"]
    for target in TARGETS:
        figure = target.figure(values)
        verdict = "no figure" if figure is None else ("yes" if target.met(figure) else "no")
        lines.append(f"| {target.wording} | {_number(figure, target.unit)} | {verdict} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=Path("bench/results.json"))
    args = parser.parse_args()
    document = json.loads(args.results.read_text(encoding="utf-8"))
    values = values_of(document)
    print(f"Record: `{args.results}`, {document.get('finished_at', 'time not recorded')}.\n")
    print(stage_table(values))
    print()
    print(target_table(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
