"""bad-rows.json: every kind planted, each planted value really is wrong, no identifiers."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from demo_support import bad_rows, column_for, csv_file, read_csv

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.demo.badrows import KINDS, chunk_quota, planned_count

REGISTRATIONS = ("dica-dsaa", "ldtr", "nkr-borst")


def parses(value: str, formats: tuple[str, ...]) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(value, fmt)
            return True
        except ValueError:
            continue
    return False


def test_every_kind_is_present_in_every_registration(demo_dir: Path) -> None:
    report = bad_rows(demo_dir)
    assert report["kinds"] == list(KINDS)
    for registration in REGISTRATIONS:
        kinds = {
            row["kind"]
            for dataset in report["registrations"][registration].values()
            for row in dataset["rows"]
        }
        assert kinds == set(KINDS), registration


def test_every_applicable_kind_is_present_in_every_dataset(demo_dir: Path) -> None:
    for registration, datasets in bad_rows(demo_dir)["registrations"].items():
        for name, detail in datasets.items():
            present = {row["kind"] for row in detail["rows"]}
            assert present == set(detail["applicable_kinds"]), (registration, name)
            assert detail["count"] == len(detail["rows"])
            assert sum(detail["kinds"].values()) == detail["count"]


def test_about_two_percent_of_records_are_bad(demo_dir: Path, catalogue: Catalogue) -> None:
    report = bad_rows(demo_dir)
    config = catalogue.get("ldtr")
    rows = read_csv(csv_file(demo_dir, config, "trauma", "csv-utf8"), "utf-8-sig")
    count = report["registrations"]["ldtr"]["trauma"]["count"]
    assert count == planned_count(0.02, 400, 1.0, 5) == 8
    assert len(rows) == 400


def test_planted_values_break_their_rule_in_the_csv(demo_dir: Path, catalogue: Catalogue) -> None:
    report = bad_rows(demo_dir)
    for registration in REGISTRATIONS:
        config = catalogue.get(registration)
        assert config.csv_source is not None
        formats = config.csv_source.date_formats
        datetime_formats = config.csv_source.datetime_formats
        for name, detail in report["registrations"][registration].items():
            dataset = config.dictionary.dataset(name)
            key = dataset.key[0]
            rows = read_csv(csv_file(demo_dir, config, name, "csv-cp1252"), "cp1252")
            by_key = {r[column_for(config, name, key)]: r for r in rows}
            rules = {rule.id: rule for rule in dataset.validations}
            for entry in detail["rows"]:
                row = by_key[entry["key"][key]]
                variable = dataset.variable(entry["variable"])
                value = row[column_for(config, name, variable.name)]
                kind = entry["kind"]
                if kind == "missing_required":
                    assert value == ""
                elif kind == "out_of_range":
                    number = float(value.replace(",", "."))
                    low, high = variable.min, variable.max
                    assert (low is not None and number < low) or (
                        high is not None and number > high
                    )
                elif kind == "invalid_code":
                    assert variable.option_set is not None
                    assert value not in config.dictionary.option_sets[variable.option_set].codes
                    assert value != ""
                elif kind == "wrong_date_format":
                    allowed = datetime_formats if variable.type == "datetime" else formats
                    assert value and not parses(value, tuple(allowed))
                    assert entry["formats"] == ["csv"]
                else:
                    rule = rules[entry["rule"]]
                    if rule.kind == "date_order":
                        earlier = row[column_for(config, name, str(rule.params["earlier"]))]
                        later = row[column_for(config, name, str(rule.params["later"]))]
                        assert parses(earlier, tuple(formats)) and parses(later, tuple(formats))
                        day = {v: _day(v, formats) for v in (earlier, later)}
                        assert day[earlier] > day[later], entry
                    else:
                        assert rule.kind == "required_if"
                        assert value == ""


def _day(value: str, formats: tuple[str, ...]) -> datetime:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise AssertionError(value)


def test_period_variable_is_never_spoilt(demo_dir: Path, catalogue: Catalogue) -> None:
    for registration in REGISTRATIONS:
        config = catalogue.get(registration)
        period_variable = config.period_variable.split(".")[-1]
        for detail in bad_rows(demo_dir)["registrations"][registration].values():
            for entry in detail["rows"]:
                assert entry["variable"] != period_variable
                datetime.strptime(entry["period_date"], "%Y-%m-%d")


def test_bad_rows_file_holds_no_identifiers(demo_dir: Path, catalogue: Catalogue) -> None:
    text = (demo_dir / "bad-rows.json").read_text(encoding="utf-8")
    summary = (demo_dir / "demo-data.json").read_text(encoding="utf-8")
    checked = 0
    for registration in REGISTRATIONS:
        config = catalogue.get(registration)
        path = csv_file(demo_dir, config, config.period_dataset, "csv-utf8")
        for row in read_csv(path, "utf-8-sig"):
            for column in ("BSN", "PATIENTNUMMER", "POSTCODE", "GESLACHTSNAAM"):
                value = row[column]
                pattern = re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")
                assert not pattern.search(text), column
                assert not pattern.search(summary), column
                checked += 1
    assert checked > 1000


def test_no_bad_rows_when_the_share_is_zero(catalogue: Catalogue, tmp_path: Path) -> None:
    out = tmp_path / "clean"
    result = generate_demo_data(
        catalogue,
        DemoOptions(out_dir=out, patients=300, seed=5, registrations=("ldtr",), bad_share=0),
    )
    assert result.registrations["ldtr"].bad_rows == {"trauma": 0}
    assert bad_rows(out)["registrations"]["ldtr"]["trauma"]["rows"] == []


@pytest.mark.parametrize(("total", "chunks"), [(7, 3), (5, 1), (100, 7), (2, 5)])
def test_chunk_quotas_add_up_and_keep_ordinals_contiguous(total: int, chunks: int) -> None:
    ordinal = 0
    for c in range(chunks):
        first, count = chunk_quota(total, chunks, c)
        assert first == ordinal
        ordinal += count
    assert ordinal == total


def test_small_runs_may_skip_kinds_but_large_runs_have_them_all() -> None:
    assert planned_count(0.02, 100, 1.0, 5) == 2
    assert planned_count(0.02, 200, 1.0, 5) == 5
    assert planned_count(0.02, 10_000, 1.0, 5) == 200
    assert planned_count(0.0, 10_000, 1.0, 5) == 0
