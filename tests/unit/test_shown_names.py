"""The one rule for naming an input file outside the hospital's reports (decision 0730).

A name that may hold a patient number, BSN or birth date is shown as its place in
its folder and its kind; product-made names (run folders, time stamps, numbered
Bundles) and export names keep theirs, so messages stay useful.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aanlevering.errors import ExtractError
from aanlevering.shown_names import (
    ShownNamesFilter,
    may_name_a_patient,
    shown_path,
    shown_text,
    withhold_in_error,
)


@pytest.mark.parametrize(
    "name",
    [
        "consent-ZH-0072318.ndjson",
        "patient_1990-05-17_jansen.json",
        "bsn_012345672.csv",
        "069-386-181.json",
        "b_19500208.json",
        "17-5-1990.json",
        "export 0069386181.csv",
        "patient_0069386181",  # a folder
    ],
)
def test_a_name_that_may_hold_an_identifier_is_withheld(name: str) -> None:
    assert may_name_a_patient(name)


@pytest.mark.parametrize(
    "name",
    [
        "Patient.ndjson",
        "Observation.000.ndjson",
        "Bundle-000001.json",
        "dsaa_operaties_2026.csv",
        "export_2024-Q1.csv",
        "run-a12345bcdef0",
        "run-scheduled__2026-01-01T00_00_00_00_00@abcdef123456",
        "Patient.ndjson.gz",
        "ltr-2026_1-trauma-umc.json",  # a dictionary version, no number
    ],
)
def test_an_export_or_product_name_is_shown(name: str) -> None:
    assert not may_name_a_patient(name)


def test_a_withheld_file_is_named_by_its_folder_place_and_kind(tmp_path: Path) -> None:
    for name in ("Condition.ndjson", "consent-ZH-0072318.ndjson", "Patient.ndjson"):
        (tmp_path / name).write_text("{}\n", encoding="utf-8")

    shown = shown_path(tmp_path / "consent-ZH-0072318.ndjson")

    assert shown == f"{tmp_path}/<input file 3 of 3, .ndjson, name withheld>"  # name order
    assert shown_path(tmp_path / "Patient.ndjson") == str(tmp_path / "Patient.ndjson")


def test_a_message_names_no_identifier_of_a_path_in_it(tmp_path: Path) -> None:
    path = tmp_path / "patient_1990-05-17_jansen.json"
    path.write_text("[", encoding="utf-8")
    text = (
        f"{path}: not valid JSON; also patient_1990-05-17_jansen.json:entry[2] and Patient.ndjson:3"
    )

    shown = shown_text(text)

    assert "1990-05-17" not in shown and "jansen" not in shown
    assert f"{tmp_path}/<input file 1 of 1, .json, name withheld>: not valid JSON" in shown
    assert "<an input file, .json, name withheld>:entry[2]" in shown
    assert "Patient.ndjson:3" in shown


def test_a_product_error_and_a_log_record_follow_the_rule(tmp_path: Path) -> None:
    error = withhold_in_error(ExtractError(f"{tmp_path}/bsn_012345672.csv: line 4: bad"))
    assert "012345672" not in str(error) and "line 4: bad" in str(error)

    record = logging.LogRecord(
        "aanlevering.x",
        logging.INFO,
        __file__,
        1,
        "reading %s",
        (f"{tmp_path}/b_19500208.json",),
        None,
    )
    assert ShownNamesFilter().filter(record)
    assert "19500208" not in record.getMessage() and "name withheld" in record.getMessage()


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("https://feed.example/besluiten.json?token=abc123secret", ["abc123secret"]),
        ("https://user:pa55word@feed.example/x.csv", ["user", "pa55word"]),
        ("https://feed.example/x?abc123secret", ["abc123secret"]),
        ("http://127.0.0.1:8080/fhir/$export?_type=Patient&access_token=t0k", ["t0k"]),
    ],
)
def test_a_urls_credentials_are_redacted(url: str, secrets: list[str]) -> None:
    shown = shown_text(f"cannot reach {url}: refused")
    assert all(secret not in shown for secret in secrets), shown
    assert "feed.example" in shown or "127.0.0.1:8080" in shown
