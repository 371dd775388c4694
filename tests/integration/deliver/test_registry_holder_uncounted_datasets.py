"""A holder that knows the terms refuses a dataset the manifest does not count (a real process).

Without the registration's terms the holder refuses ``<dataset>.csv`` for a
dataset the manifest's ``record_counts`` does not name (decision 1006). With
the terms it checked the name against the dictionary only, so a 0-row CSV of
a dictionary dataset the manifest does not count added no count mismatch and
was receipted: a file the manifest does not describe as delivered, receipted
(decision 1030). A ``record_counts`` naming a dataset the dictionary does not
have is counts of nothing the registration receives, repeated by the receipt
(decision 1031).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aanlevering.counterparts.registry_holder.terms import load_terms
from aanlevering.deliver.manifest import Manifest, describe_files, idempotency_key
from conftest import stage  # module level: a later import may find another conftest
from support.holder_requests import send as _send
from support.registry_holder import CATALOGUE, RegistryHolder

#: dica-dsaa's dictionary: its datasets' columns, as the knowing holder reads them.
_DSAA = load_terms(CATALOGUE)["dica-dsaa"]
_PSEUDONYM = ["pseudoniem_NGGV", "pseudoniem_NGGV_sleutelversie", "pseudoniem_NGGV_status"]


def _csv(dataset: str, rows: int) -> bytes:
    header = [*_PSEUDONYM, *_DSAA.datasets[dataset]]
    row = ["NGGV:v1:abc", "1", "definitief", *(["x"] * len(_DSAA.datasets[dataset]))]
    return ("\n".join([";".join(header), *([";".join(row)] * rows)]) + "\n").encode()


def _dsaa_delivery(
    holder: RegistryHolder, folder: Path, files: dict[str, int], counts: dict[str, int]
) -> Manifest:
    """A dica-dsaa CSV delivery of ``files`` (dataset -> rows) claiming ``counts``."""
    manifest = stage(folder, registration="dica-dsaa", provider=holder.hospital)
    for item in manifest.files:
        (folder / item.name).unlink()
    for dataset, rows in files.items():
        (folder / f"{dataset}.csv").write_bytes(_csv(dataset, rows))
    records = {f"{dataset}.csv": rows for dataset, rows in files.items()}
    return replace(
        manifest,
        idempotency_key=idempotency_key(holder.hospital, "dica-dsaa", "2026-Q1", 1),
        registry_holder="dica",
        period="2026-Q1",
        period_start="2026-01-01",
        period_end="2026-04-01",
        dictionary_id="dsaa",
        format="csv",
        pseudonym_types=("NGGV",),
        key_versions={"NGGV": 1},
        files=describe_files(folder, records, {name: "text/csv" for name in records}),
        record_counts=counts,
    )


def _problems(holder: RegistryHolder, folder: Path, manifest: Manifest) -> list[str]:
    answer = _send(holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    assert holder.ledger() == []
    problems: list[str] = json.loads(answer.text)["detail"]["problems"]
    return problems


def test_the_delivery_as_counted_is_receipted(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = _dsaa_delivery(
        knowing_holder,
        tmp_path / "d",
        {"operatie": 1, "complicatie": 0},
        {"operatie": 1, "complicatie": 0},
    )
    answer = _send(knowing_holder, tmp_path / "d", manifest)
    assert answer.status_code == 201, answer.text


def test_an_empty_csv_of_a_dataset_the_manifest_does_not_count_is_refused(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    """complicatie is a dataset of the dictionary, but not of this manifest: no rows, no
    count mismatch, and still a file the manifest does not count (1030)."""
    manifest = _dsaa_delivery(
        knowing_holder, tmp_path / "d", {"operatie": 1, "complicatie": 0}, {"operatie": 1}
    )
    assert _problems(knowing_holder, tmp_path / "d", manifest) == [
        "complicatie.csv: a dataset the manifest's record_counts does not name "
        "(a delivery counts the records of every dataset it holds)"
    ]


def test_record_counts_of_a_dataset_the_dictionary_does_not_have_are_refused(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    """Counts of 0 for a dataset no registration receives add no mismatch; the receipt
    would still repeat them (1031)."""
    manifest = _dsaa_delivery(
        knowing_holder, tmp_path / "d", {"operatie": 1}, {"operatie": 1, "opname": 0}
    )
    assert _problems(knowing_holder, tmp_path / "d", manifest) == [
        "record_counts names dataset(s) 'opname' that dictionary dsaa does not have"
    ]
