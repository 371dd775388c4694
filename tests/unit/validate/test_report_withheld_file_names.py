"""Which file names the registry holder's report withholds (decision 0375), and how it says so."""

from __future__ import annotations

import pyarrow as pa

from aanlevering.extract.model import ExtractedDataset
from aanlevering.validate.file_names import identifying_names, withhold_identifying_names
from aanlevering.validate.results import CheckResult, DatasetResult

FILES = ("Patient-0001.json", "bundle_van der Berg.json", "export:a.ndjson", "x_2026.csv")


def _dataset() -> ExtractedDataset:
    identity = pa.table(
        {
            "patient_id": ["P-123456", None],
            "bsn": ["123456782", "012345672"],
            "own_name": ["Van der Berg", "Jansen"],
            "birth_date": ["08-02-1950", "1961-03-04"],
            "postcode": ["3600 HZ", None],
        }
    )
    return ExtractedDataset(
        name="operatie",
        clinical=pa.table({"x": [1, 2]}),
        identity=identity,
        row_refs=pa.array(["a:2", "a:3"]),
        source_files=FILES,
    )


def test_names_holding_any_identity_value_are_found_whatever_the_separators() -> None:
    names = [
        "p123456.csv",  # patient number without its dash
        "export_123456782.ndjson",
        "BUNDLE-vanderberg-2026.json",
        "jansen_19610304.json",  # birth date as written, separators aside
        "b_08021950.json",
        "pc3600hz.csv",
        "dsaa_operaties_2026.csv",
        "Patient-0001.json",
    ]
    found = identifying_names(names, [_dataset()])
    assert found == set(names[:6])


def test_references_keep_line_and_entry_and_number_the_file_in_name_order() -> None:
    check = CheckResult(
        rule_id="r",
        dataset="operatie",
        kind="range",
        severity="error",
        description="d",
        variables=("x",),
        expectation_type="e",
        engine="gx",
        success=False,
        element_count=2,
        unexpected_count=4,
        unexpected_percent=50.0,
        failing_row_refs=(
            "bundle_van der Berg.json:entry[3]",
            "Patient-0001.json",
            "x_2026.csv:17",
            "elsewhere_123456782.csv:4",
        ),
    )
    result = DatasetResult("operatie", 2, "s", "f", "src", (check,))
    (out,) = withhold_identifying_names([result], [_dataset()])
    assert out.checks[0].failing_row_refs == (
        "input file 2 (name withheld):entry[3]",
        "Patient-0001.json",
        "x_2026.csv:17",
        "input file (name withheld):4",
    )


def test_names_holding_a_number_without_its_leading_zeros_or_a_birth_date_in_the_other_order() -> (
    None
):
    """A tool that writes numbers as numbers drops leading zeros; dates come either way (0686)."""
    dataset = _dataset()
    identity = dataset.identity.append_column("mrn", pa.array(["0069386181", None]))
    dataset = ExtractedDataset(
        name=dataset.name,
        clinical=dataset.clinical,
        identity=identity,
        row_refs=dataset.row_refs,
        source_files=dataset.source_files,
    )
    names = [
        "bundle_69386181.json",  # the patient number 0069386181, as an integer writes it
        "export_12345672.ndjson",  # the BSN 012345672 with its leading zero lost
        "b_19500208.json",  # the birth date 08-02-1950, year first
        "b_04031961.json",  # the birth date 1961-03-04, day first
        "dsaa_operaties_2026.csv",
        "x_19500802.csv",  # not a birth date of this run: month and day swapped
    ]

    found = identifying_names(names, [dataset])

    assert found == set(names[:4])


def test_names_holding_one_word_of_a_name_are_found() -> None:
    """A file named after the birth name alone, the name column holding more (1070)."""
    identity = pa.table(
        {
            "patient_id": ["P-1"] * 3,
            "own_name": ["van den Bosch", "Berg, van der", "Smit-Jansen"],
            "given_names": ["Jan Pieter", None, "Els"],
        }
    )
    dataset = ExtractedDataset(
        name="operatie",
        clinical=pa.table({"x": [1, 2, 3]}),
        identity=identity,
        row_refs=pa.array(["a:2", "a:3", "a:4"]),
    )
    names = [
        "dsaa_operaties_bosch.csv",
        "BERG.csv",
        "jansen-2026.csv",
        "pieter.json",
        "dsaa_operaties_2026.csv",  # "van", "den", "der", "Els" are too short to look for
        "smid.csv",
    ]
    assert identifying_names(names, [dataset]) == set(names[:4])
