"""Over real HTTP, the reference TTP answers hostile local-mode uploads with a 4xx, never a 500.

Deep nesting used to reach the TTP's recursive rewrite and come back as HTTP
500. The fuzz loop sends mutated files with a manifest whose checksums match
them, so every case reaches the file rewriting (not just the checksum check).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from support.ttp import Hospital, TTPSetup, digest
from support.ttp_uploads import one_file_manifest, post_upload

#: Nine digits passing the eleven-test.
BSN = "111222333"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("tumor.ndjson", b'{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n"),
        ("tumor.json", b'{"a": ' + b"9" * 5000 + b"}"),
        ("tumor.csv", b'id;pseudonym_input.NGGV\n1;"' + b"x" * 140_000 + b'"\n'),
    ],
)
def test_hostile_files_are_answered_with_422(ttp: TTPSetup, name: str, data: bytes) -> None:
    response = post_upload(ttp, name, data, f"hostile-{name}")
    assert response.status_code == 422, response.text
    assert name in response.json()["detail"]["message"]


def test_a_deeply_nested_manifest_is_answered_with_422(ttp: TTPSetup) -> None:
    response = post_upload(ttp, "t.ndjson", b"{}\n", "hostile-manifest", manifest="[" * 50_000)
    assert response.status_code == 422, response.text


def test_fuzzed_uploads_are_answered_with_200_or_a_4xx(ttp: TTPSetup, hospital_a: Hospital) -> None:
    lines = [
        {"tumor_id": f"T{i}", "pseudonym_inputs": {"NGGV": digest(f"fz{i}"),
         "MRN": hospital_a.mrn_ciphertext(f"FZ-{i}")}}
        for i in range(2)
    ]  # fmt: skip
    original = "".join(json.dumps(line) + "\n" for line in lines).encode()
    tokens = (
        b"[" * 3000,
        b"9" * 5000,
        b"NaN",
        b'"',
        b"{",
        b"\xff",
        b"\\ud800",
        b'{"pseudonym_inputs":5}',
    )
    rng = random.Random(1417)
    statuses: dict[int, int] = {}
    for number in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(data) + 1)
            data[position:position] = rng.choice(tokens)
        response = post_upload(ttp, "tumor.ndjson", bytes(data), f"fuzz-{number}")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code == 200 or 400 <= response.status_code < 500, (
            f"case {number}: HTTP {response.status_code}: {response.text[:300]}"
        )
    assert statuses.get(422, 0) > 100


#: Fields the upload API does not define, or defines once (decision 1024).
ODD_FIELDS: dict[str, dict[str, Any]] = {
    "an unknown text field": {"extra": [("comment", "please forward")], "named": "'comment'"},
    "a misspelt file part": {
        "extra_files": [("file", ("report.csv", b"a;b\n", "text/csv"))],
        "named": "'file'",
    },
    "a second registration": {"extra": [("registration", "dica-dsaa")], "named": "'registration'"},
    "a second manifest": {"extra": [("manifest", "{}")], "named": "'manifest'"},
    "a field named by a number": {"extra": [(BSN, "x")], "named": "not repeated"},
}


@pytest.mark.parametrize("case", sorted(ODD_FIELDS))
def test_an_upload_with_a_field_the_api_does_not_define_is_refused(
    ttp: TTPSetup, ttp_root: Path, hospital_a: Hospital, case: str
) -> None:
    """Not silently dropped: the hospital would believe the dropped part was delivered."""
    line = {
        "tumor_id": "T0",
        "pseudonym_inputs": {"NGGV": digest("odd-0"), "MRN": hospital_a.mrn_ciphertext("ODD-0")},
    }
    data = (json.dumps(line) + "\n").encode()
    key = f"odd-field-{sorted(ODD_FIELDS).index(case)}"
    options = {k: v for k, v in ODD_FIELDS[case].items() if k != "named"}

    response = post_upload(ttp, "tumor.ndjson", data, key, **options)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["code"] in {"unknown_field", "repeated_field"}
    assert ODD_FIELDS[case]["named"] in detail["message"]
    assert BSN not in response.text and BSN not in ttp.audit_log.read_text()
    assert not (ttp_root / "received" / key).exists()
    assert post_upload(ttp, "tumor.ndjson", data, key + "-plain").status_code == 200
    assert (ttp_root / "received" / (key + "-plain")).exists()


@pytest.mark.parametrize("where", ["files", "reports"])
def test_a_manifest_naming_a_file_twice_is_answered_with_422(
    ttp: TTPSetup, ttp_root: Path, where: str
) -> None:
    """It used to reach the rewrite, which dropped one of the two and failed with HTTP 500."""
    data = (json.dumps({"tumor_id": "T0", "pseudonym_inputs": {"NGGV": digest("twice")}})).encode()
    key = f"twice-{where}"
    manifest = json.loads(one_file_manifest("tumor.ndjson", data, key))
    manifest[where] = [*manifest.get(where, []), manifest["files"][0]]
    response = post_upload(ttp, "tumor.ndjson", data, key, manifest=json.dumps(manifest))
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["code"] == "invalid_manifest"
    assert "'tumor.ndjson' 2 times" in response.json()["detail"]["message"]
    assert not (ttp_root / "received" / key).exists()
