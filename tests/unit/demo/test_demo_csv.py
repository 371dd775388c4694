"""CSV exports: both encodings, mapped columns, Dutch formats, quoting, the dictionary's codes."""

from __future__ import annotations

import csv
import fnmatch
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from demo_support import bad_rows, column_for, csv_file, read_csv

from aanlevering.catalogue import Catalogue
from aanlevering.demo import csvout
from aanlevering.demo.ids import is_valid_bsn

REGISTRATIONS = ("dica-dsaa", "ldtr", "nkr-borst")
DMY = re.compile(r"^\d{2}-\d{2}-\d{4}$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def datasets(catalogue: Catalogue) -> list[tuple[str, str]]:
    return [
        (reg, ds)
        for reg in REGISTRATIONS
        for ds in (catalogue.get(reg).csv_source.datasets)  # type: ignore[union-attr]
    ]


def test_both_variants_exist_for_every_mapped_dataset_with_matching_names(
    demo_dir: Path, catalogue: Catalogue
) -> None:
    for reg, ds in datasets(catalogue):
        config = catalogue.get(reg)
        assert config.csv_source is not None
        glob = config.csv_source.datasets[ds].file
        for variant in ("csv-utf8", "csv-cp1252"):
            path = csv_file(demo_dir, config, ds, variant)
            assert fnmatch.fnmatch(path.name, glob)


def test_utf8_variant_has_a_bom_and_cp1252_variant_has_none(
    demo_dir: Path, catalogue: Catalogue
) -> None:
    for reg, ds in datasets(catalogue):
        config = catalogue.get(reg)
        assert csv_file(demo_dir, config, ds, "csv-utf8").read_bytes().startswith(csvout.BOM)
        assert not csv_file(demo_dir, config, ds, "csv-cp1252").read_bytes().startswith(b"\xef")


def test_cp1252_and_utf8_variants_hold_the_same_text_with_diacritics(
    demo_dir: Path, catalogue: Catalogue
) -> None:
    for reg, ds in datasets(catalogue):
        config = catalogue.get(reg)
        utf8 = csv_file(demo_dir, config, ds, "csv-utf8").read_bytes().decode("utf-8-sig")
        cp1252 = csv_file(demo_dir, config, ds, "csv-cp1252").read_bytes().decode("cp1252")
        assert utf8 == cp1252
        if "GESLACHTSNAAM" in utf8.splitlines()[0]:
            assert not utf8.isascii(), f"{reg}/{ds}: expected names with diacritics"
    # a cp1252 file is not valid UTF-8 once it holds a diacritic
    config = catalogue.get("ldtr")
    raw = csv_file(demo_dir, config, "trauma", "csv-cp1252").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_header_is_exactly_the_mapped_columns_and_rows_are_complete(
    demo_dir: Path, catalogue: Catalogue
) -> None:
    for reg, ds in datasets(catalogue):
        config = catalogue.get(reg)
        assert config.csv_source is not None
        source = config.csv_source.datasets[ds]
        path = csv_file(demo_dir, config, ds, "csv-cp1252")
        text = path.read_bytes().decode("cp1252")
        header = text.splitlines()[0].split(";")
        assert set(header) == set(source.columns) | set(source.identity)
        assert len(header) == len(set(header))
        assert "\r\n" in text
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        assert all(len(row) == len(header) for row in rows)
        assert len(rows) > 1


def test_dates_decimals_and_booleans_are_written_the_dutch_way(
    demo_dir: Path, catalogue: Catalogue
) -> None:
    config = catalogue.get("dica-dsaa")
    rows = read_csv(csv_file(demo_dir, config, "operatie", "csv-utf8"), "utf-8-sig")
    assert all(DMY.match(r["OPERATIEDATUM"]) for r in rows)  # the period date always parses
    assert all(DMY.match(r["GEBOORTEDATUM"]) for r in rows)
    assert any("," in r["BMI"] for r in rows)
    assert not any("." in r["BMI"] for r in rows)
    assert {r["OVERLEDEN_30D"] for r in rows} <= {"ja", "nee", ""}
    # complications come from an export that writes ISO dates, which the config allows
    assert config.csv_source is not None and "%Y-%m-%d" in config.csv_source.date_formats
    complications = read_csv(csv_file(demo_dir, config, "complicatie", "csv-utf8"), "utf-8-sig")
    assert sum(bool(ISO.match(r["DATUM"])) for r in complications) >= len(complications) - 5
    trauma = read_csv(csv_file(demo_dir, catalogue.get("ldtr"), "trauma", "csv-utf8"), "utf-8-sig")
    arrivals = [r["AANKOMST_SEH"] for r in trauma if r["AANKOMST_SEH"]]
    parsed = 0
    for value in arrivals:
        try:
            datetime.strptime(value, "%d-%m-%Y %H:%M")
            parsed += 1
        except ValueError:
            pass
    assert parsed >= len(arrivals) - 5


def test_period_dates_fall_in_2026_with_a_few_in_late_2025(
    demo_dir: Path, catalogue: Catalogue
) -> None:
    config = catalogue.get("ldtr")
    rows = read_csv(csv_file(demo_dir, config, "trauma", "csv-utf8"), "utf-8-sig")
    years = [datetime.strptime(r["DATUM_ONGEVAL"], "%d-%m-%Y").date() for r in rows]
    late = [d for d in years if d.year == 2025]
    assert all(d.year in (2025, 2026) for d in years)
    assert all(d.month >= 10 for d in late)
    assert 0 < len(late) < len(years) * 0.1


def test_related_records_reference_existing_parents(demo_dir: Path, catalogue: Catalogue) -> None:
    config = catalogue.get("dica-dsaa")
    operations = read_csv(csv_file(demo_dir, config, "operatie", "csv-utf8"), "utf-8-sig")
    complications = read_csv(csv_file(demo_dir, config, "complicatie", "csv-utf8"), "utf-8-sig")
    patient_of = {r["OK_ID"]: r["PATIENTNUMMER"] for r in operations}
    assert complications
    for row in complications:
        assert row["OK_ID"] in patient_of
        assert row["PATIENTNUMMER"] == patient_of[row["OK_ID"]]


def test_keys_are_unique_and_bsns_mostly_valid(demo_dir: Path, catalogue: Catalogue) -> None:
    for reg, ds in datasets(catalogue):
        config = catalogue.get(reg)
        key = config.dictionary.dataset(ds).key[0]
        rows = read_csv(csv_file(demo_dir, config, ds, "csv-utf8"), "utf-8-sig")
        keys = [r[column_for(config, ds, key)] for r in rows]
        assert len(set(keys)) == len(keys)
        if rows and "BSN" in rows[0]:
            valid = sum(is_valid_bsn(r["BSN"]) for r in rows)
            assert valid >= len(rows) * 0.95
            assert all(len(r["BSN"]) == 9 for r in rows)


def test_clean_values_respect_the_dictionary(demo_dir: Path, catalogue: Catalogue) -> None:
    """Option sets and ranges hold for every value that was not spoilt on purpose."""
    spoilt = bad_rows(demo_dir)["registrations"]
    for reg, ds in datasets(catalogue):
        config = catalogue.get(reg)
        dataset = config.dictionary.dataset(ds)
        key = dataset.key[0]
        bad_keys = {e["key"][key] for e in spoilt[reg][ds]["rows"]}
        rows = read_csv(csv_file(demo_dir, config, ds, "csv-utf8"), "utf-8-sig")
        assert config.csv_source is not None
        for column, name in config.csv_source.datasets[ds].columns.items():
            variable = dataset.variable(name)
            for row in rows:
                if row[column_for(config, ds, key)] in bad_keys:
                    continue
                value = row[column]
                if variable.is_required_for("hospital") and variable.is_required_for("umc"):
                    assert value != "", f"{reg}/{ds}.{name} empty"
                if value == "":
                    continue
                if variable.option_set:
                    assert value in config.dictionary.option_sets[variable.option_set].codes
                if variable.min is not None or variable.max is not None:
                    number = float(value.replace(",", "."))
                    assert variable.min is None or number >= variable.min, (name, number)
                    assert variable.max is None or number <= variable.max, (name, number)


def test_quote_only_cells_that_need_it() -> None:
    assert csvout.quote("achter; bel 2") == '"achter; bel 2"'
    assert csvout.quote('"rood"') == '"""rood"""'
    assert csvout.quote("2-hoog") == "2-hoog"
    line = ";".join(csvout.quote(c) for c in ["12", "achter; bel 2", '"rood"', "A"])
    assert next(csv.reader([line], delimiter=";")) == ["12", "achter; bel 2", '"rood"', "A"]
    assert csvout.quote_all(["a", "b"]) == ["a", "b"]
    assert csvout.quote_all(["a", "b;c"]) == ["a", '"b;c"']


def test_file_name_matches_its_glob() -> None:
    assert csvout.file_name("dsaa_operaties*.csv") == "dsaa_operaties_2026.csv"
    assert fnmatch.fnmatch(csvout.file_name("ltr_?_trauma*.csv"), "ltr_?_trauma*.csv")


def test_everyone_is_born_before_their_care_event(demo_dir: Path, catalogue: Catalogue) -> None:
    for registration, column in (
        ("ldtr", "DATUM_ONGEVAL"),
        ("dica-dsaa", "OPERATIEDATUM"),
        ("nkr-borst", "INCIDENTIEDATUM"),
    ):
        config = catalogue.get(registration)
        path = csv_file(demo_dir, config, config.period_dataset, "csv-utf8")
        for row in read_csv(path, "utf-8-sig"):
            born = datetime.strptime(row["GEBOORTEDATUM"], "%d-%m-%Y")
            assert born < datetime.strptime(row[column], "%d-%m-%Y")
