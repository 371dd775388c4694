"""A holder without the registration's terms reads a CSV as the product documents it (1006).

A holder that knows the terms (``catalogue_dir``) refuses a CSV whose name is
no dataset of the dictionary or whose header is not the pseudonym columns of
the manifest's types followed by the dataset's variables (decision 0435).
Without them it took any ``<name>.csv`` with any header, so a CSV without
the pseudonym columns (records no registry can link to a patient), with a
header it could not read as column names, or named by no dataset shape was
receipted. What the manifest and the documented layout say is checked
without the terms too: the file is named ``<dataset>.csv`` for a dataset the
manifest counts, its header has a name for every column, each once, and
starts with the pseudonym columns of the manifest's types, in order. The
file is still read and counted (decision 1003's rule); no header cell is
echoed. The holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.manifest import describe_files
from conftest import stage  # module level: a later import may find another
from support.holder_requests import csv_delivery
from support.holder_requests import send as _send
from support.holder_sending import refused as _problems
from support.registry_holder import RegistryHolder

#: The pseudonym columns the manifest's one type (NGG) promises, as the product writes them.
_PSEUDONYM = b"pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status"
_ROW = b"NGG:v1:abc;1;definitief;61\n"
_LEADING = "pseudoniem_NGG, pseudoniem_NGG_sleutelversie and pseudoniem_NGG_status, in that order"


def _send_csv(holder: RegistryHolder, folder: Path, body: bytes, rows: int = 1) -> list[str]:
    manifest = csv_delivery(folder, stage(folder, provider=holder.hospital), body, rows)
    return _problems(holder, folder, manifest)


def test_the_products_csv_layout_is_receipted(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = _PSEUDONYM + b";leeftijd\r\n" + _ROW.replace(b"\n", b"\r\n")
    manifest = csv_delivery(folder, stage(folder, provider=hospital_holder.hospital), body, 1)
    answer = _send(hospital_holder, folder, manifest)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "header",
    [
        b"leeftijd;pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status",
        b"pseudoniem_NGG;leeftijd;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status",
        b"NGG;sleutelversie;status;leeftijd",
        b"pseudoniem_NGG_status;pseudoniem_NGG_sleutelversie;pseudoniem_NGG;leeftijd",
    ],
)
def test_a_csv_without_the_manifests_pseudonym_columns_leading_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, header: bytes
) -> None:
    """Its records link to no patient pseudonym of the manifest's types; still counted."""
    problems = _send_csv(hospital_holder, tmp_path / "d", header + b"\n" + _ROW)
    assert problems[0] == (
        "trauma.csv: the header does not start with the pseudonym columns of the manifest's "
        f"pseudonym types ({_LEADING}); a delivered CSV holds them first"
    )
    # A pseudoniem_NGG column moved over another's cells holds no pseudonym there (1009).
    assert all("a value that is no NGG pseudonym" in problem for problem in problems[1:])


def test_the_pseudonym_columns_of_every_type_lead_in_the_manifests_order(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    columns = [
        f"pseudoniem_{t}{s}" for t in ("C", "NGG") for s in ("", "_sleutelversie", "_status")
    ]
    body = (
        ";".join([*columns, "leeftijd"]) + "\nC:v1:abc;1;definitief;NGG:v1:def;1;definitief;61\n"
    ).encode()
    manifest = replace(
        csv_delivery(folder, manifest, body, 1),
        pseudonym_types=("NGG", "C"),
        key_versions={"NGG": 1, "C": 1},  # a version for each type (decision 1061)
    )
    (problem,) = _problems(hospital_holder, folder, manifest)
    assert problem.startswith("trauma.csv: the header does not start with the pseudonym columns")
    assert "pseudoniem_NGG, pseudoniem_NGG_sleutelversie, pseudoniem_NGG_status, pseudoniem_C" in (
        problem
    )


@pytest.mark.parametrize(
    ("header", "said"),
    [
        (_PSEUDONYM + b";leeftijd;leeftijd", "column 5 repeats column 4's name"),
        (_PSEUDONYM + b";;leeftijd", "column 4 has no name"),
    ],
)
def test_a_header_that_names_a_column_twice_or_not_at_all_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, header: bytes, said: str
) -> None:
    row = b"NGG:v1:abc;1;definitief;61;62\n"
    problems = _send_csv(hospital_holder, tmp_path / "d", header + b"\n" + row)
    assert problems == [f"trauma.csv: the header is no list of column names ({said})"]
    assert "leeftijd" not in json.dumps(problems)  # no header cell is echoed


def test_an_empty_csv_without_a_header_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    problems = _send_csv(hospital_holder, tmp_path / "d", b"", rows=0)
    assert problems == [
        "trauma.csv: no header line (a delivered CSV starts with its columns' names)"
    ]


@pytest.mark.parametrize("name", ["Trauma.csv", "trauma_V2.csv", "trauma.v2.csv", "1trauma.csv"])
def test_a_csv_named_by_no_dataset_shape_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, name: str
) -> None:
    folder = tmp_path / "d"
    manifest = csv_delivery(
        folder, stage(folder, provider=hospital_holder.hospital), _PSEUDONYM + b";x\n" + _ROW, 1
    )
    (folder / "trauma.csv").rename(folder / name)
    dataset = name.removesuffix(".csv")
    files = describe_files(folder, {name: 1}, {name: "text/csv"})
    manifest = replace(manifest, files=files, record_counts={dataset: 1})
    assert _problems(hospital_holder, folder, manifest) == [
        f"{name}: a CSV data file named otherwise than <dataset>.csv (a dataset's name is "
        "lower-case letters, digits, '_' and '-', starting with a letter)"
    ]


def test_a_csv_of_a_dataset_the_manifest_does_not_count_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """Without rows its records add no count mismatch: the file is of no delivered dataset."""
    folder = tmp_path / "d"
    manifest = csv_delivery(
        folder, stage(folder, provider=hospital_holder.hospital), _PSEUDONYM + b";x\n" + _ROW, 1
    )
    (folder / "opname.csv").write_bytes(_PSEUDONYM + b";dagen\n")
    files = describe_files(
        folder,
        {"trauma.csv": 1, "opname.csv": 0},
        {n: "text/csv" for n in ("trauma.csv", "opname.csv")},
    )
    manifest = replace(manifest, files=files)
    assert _problems(hospital_holder, folder, manifest) == [
        "opname.csv: a dataset the manifest's record_counts does not name "
        "(a delivery counts the records of every dataset it holds)"
    ]
