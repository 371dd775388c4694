"""Local-client mode: upload with digests, TTP pseudonymises and forwards to the registry holder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from aanlevering.deliver.manifest import Manifest
from aanlevering.errors import TTPError
from aanlevering.pseudonym.crypto import parse_label
from aanlevering.pseudonym.ttp.models import PseudonymInputs, RecordPseudonyms
from support.servers import ServerProcess
from support.ttp import Hospital, TTPSetup, digest
from support.ttp_uploads import forwarded, nkr_manifest, refused_upload, upload


def stage(
    folder: Path,
    period: str,
    hospital: Hospital,
    *,
    extra_type: str | None = None,
    provider: str = "demo-hospital",
) -> Manifest:
    """A staged nkr-borst delivery: NDJSON tumours and a CSV of the same patients."""
    folder.mkdir(parents=True)
    lines = []
    for i in range(4):
        inputs = {
            "NGGV": digest(f"NGGV|local-{i}"),
            "C": digest(f"C|local-{i}"),
            "MRN": hospital.mrn_ciphertext(f"MRN-local-{i}"),
        }
        if extra_type and i == 3:
            inputs[extra_type] = digest("bsn")
        lines.append(
            json.dumps(
                {"tumor_id": f"T{i}", "topografie": "C50.4", "pseudonym_inputs": inputs},
                separators=(",", ":"),
            )
        )
    (folder / "tumor.ndjson").write_text("\n".join(lines) + "\n")
    rows = ["tumor_id;pseudonym_input.NGGV;incidentiedatum"]
    rows += [f"T{i};{digest(f'NGGV|local-{i}')};2026-03-0{i + 1}" for i in range(4)]
    rows.append("T9;;2026-04-01")  # no birth-name input for this patient
    (folder / "tumor.csv").write_text("\r\n".join(rows) + "\r\n")
    counts = {"tumor.ndjson": 4, "tumor.csv": 5}
    return nkr_manifest(
        folder, period, counts, types=("NGGV", "C", "MRN"), tumours=4, provider=provider
    )


def test_upload_is_pseudonymised_forwarded_and_receipted(
    ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path, ttp_root: Path
) -> None:
    manifest = stage(tmp_path / "staged", "2026-L1", hospital_a)

    result = upload(ttp, tmp_path / "staged", manifest)

    assert result.receipt.idempotency_key == manifest.idempotency_key
    assert result.receipt.channel == "ttp-local"
    assert result.key_version == 1 and result.forward_attempts == 1
    reports = {report.name: report for report in result.files}
    assert dict(reports["tumor.ndjson"].pseudonyms) == {"NGGV": 4, "C": 4, "MRN": 4}
    assert dict(reports["tumor.csv"].pseudonyms) == {"NGGV": 4}

    folder = forwarded(ttp_root, manifest)
    records = [json.loads(line) for line in (folder / "tumor.ndjson").read_text().splitlines()]
    assert [r["tumor_id"] for r in records] == ["T0", "T1", "T2", "T3"]
    assert all("pseudonym_inputs" not in r for r in records)
    assert parse_label(records[0]["pseudonyms"]["NGGV"]).kind == "definitive"
    assert records[0]["pseudonyms"]["MRN"].startswith("MRN:v1:")
    csv_lines = (folder / "tumor.csv").read_bytes().decode().split("\r\n")
    assert csv_lines[0] == "tumor_id;pseudonym.NGGV;incidentiedatum"
    assert csv_lines[1].split(";")[1] == records[0]["pseudonyms"]["NGGV"]
    assert csv_lines[5] == "T9;;2026-04-01"

    # No digest or hospital ciphertext reached the registry holder.
    delivered = (folder / "tumor.ndjson").read_text() + (folder / "tumor.csv").read_text()
    for i in range(4):
        assert digest(f"NGGV|local-{i}") not in delivered
        assert digest(f"C|local-{i}") not in delivered
    sent_manifest = json.loads((folder / "manifest.json").read_text())
    assert sent_manifest["key_versions"] == {"C": 1, "MRN": 1, "NGGV": 1}
    headers = json.loads((folder / "headers.json").read_text())
    assert headers["Idempotency-Key"] == manifest.idempotency_key

    # The hospital can still reverse the MRN pseudonyms the TTP made in local mode.
    ciphertext = ttp.client("demo-hospital").reverse_mrn(
        "nkr-borst", [records[2]["pseudonyms"]["MRN"]]
    )[0]
    assert hospital_a.decrypt(ciphertext) == "MRN-local-2"


def test_local_and_web_mode_give_the_same_definitive_pseudonym(
    ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path, ttp_root: Path
) -> None:
    manifest = stage(tmp_path / "staged", "2026-L2", hospital_a)
    upload(ttp, tmp_path / "staged", manifest)
    first = json.loads((forwarded(ttp_root, manifest) / "tumor.ndjson").read_text().splitlines()[0])

    temporary = ttp.client("demo-hospital-b").temporary_pseudonyms(
        "nkr-borst",
        [PseudonymInputs("x", {"NGGV": digest("NGGV|local-0")})],
        run_id="mode-compare",
        profile_version="nl-2026.1",
    )
    definitive = ttp.client("iknl").exchange(
        "nkr-borst",
        [RecordPseudonyms("x", dict(temporary.pseudonyms["x"]))],
        run_id="mode-compare-x",
    )
    assert definitive.pseudonyms["x"]["NGGV"] == first["pseudonyms"]["NGGV"]


def test_forwarding_failures_are_retried(
    ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path, receiver: ServerProcess
) -> None:
    manifest = stage(tmp_path / "staged", "2026-L3", hospital_a)
    requests.post(receiver.url + "/_fail", json={"commits": 2}, timeout=5).raise_for_status()
    before = requests.get(receiver.url + "/_stats", timeout=5).json()["commit_calls"]

    result = upload(ttp, tmp_path / "staged", manifest)

    assert result.forward_attempts == 3
    after = requests.get(receiver.url + "/_stats", timeout=5).json()["commit_calls"]
    assert after - before == 3


def test_forwarding_that_keeps_failing_is_reported(
    ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path, receiver: ServerProcess
) -> None:
    manifest = stage(tmp_path / "staged", "2026-L4", hospital_a)
    requests.post(receiver.url + "/_fail", json={"commits": 6}, timeout=5).raise_for_status()
    client = ttp.client("demo-hospital", max_retries=1)
    try:
        with pytest.raises(TTPError) as failed:
            upload(ttp, tmp_path / "staged", manifest, client=client)
        assert "failed after 2 attempts" in str(failed.value)
        assert "HTTP 502" in str(failed.value) or "502" in str(failed.value)
    finally:
        requests.post(receiver.url + "/_fail", json={"commits": 0}, timeout=5)

    # Once the registry holder is back, the same delivery goes through (not cached as failed).
    result = upload(ttp, tmp_path / "staged", manifest, client=client)
    assert result.receipt.idempotency_key == manifest.idempotency_key


def test_a_disallowed_type_anywhere_refuses_the_whole_upload(
    ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path, ttp_root: Path
) -> None:
    manifest = stage(tmp_path / "staged", "2026-L5", hospital_a, extra_type="B")
    with pytest.raises(TTPError, match="justification"):
        upload(ttp, tmp_path / "staged", manifest)
    refused = refused_upload(
        ttp, tmp_path / "staged", manifest, bsn_justification="testing the TTP's refusal"
    )
    assert (refused.status, refused.pseudonym_type) == (403, "B")
    assert "tumor.ndjson line 4" in str(refused)
    assert not forwarded(ttp_root, manifest).exists()


def test_upload_must_match_its_manifest_and_caller(
    ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "staged", "2026-L6", hospital_a)
    (tmp_path / "staged" / "tumor.csv").write_text("tampered\r\n")
    tampered = refused_upload(ttp, tmp_path / "staged", manifest)
    assert tampered.code == "checksum_mismatch"

    other = stage(tmp_path / "other", "2026-L7", hospital_a, provider="demo-hospital")
    impostor = refused_upload(ttp, tmp_path / "other", other, organisation="demo-hospital-b")
    assert (impostor.status, impostor.code) == (403, "provider_mismatch")
