"""The reference TTP refuses clear identifiers, as a real pseudonymisation service would.

Against the real TTP process over HTTP (decisions 1020, 1021):

* local-client mode: an upload whose data carries a BSN (a BSN identifier, a
  nine-digit text passing the eleven-test, a CSV cell) or an identifier that
  is not a pseudonym input (a clear MRN) is refused before anything is
  forwarded, so the registry holder never receives it;
* both modes: a "source digest" that is no one-way value (a zero-padded
  number, an identifier as an integer, text in hex) is refused, so a clear
  identifier dressed as a digest never gets a pseudonym.

And a local upload's manifest must say what the upload is: its registry
holder, mode, normalisation profile and pseudonym types (decision 1022).

Every refusal names file, line or record and the kind, never the value.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.deliver.manifest import Manifest, describe_files
from aanlevering.fhir.conventions import pseudonym_system
from aanlevering.pseudonym.crypto import b64url_encode
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from aanlevering.pseudonym_types import BSN_SYSTEM
from support.ttp import Hospital, TTPSetup, digest
from support.ttp_uploads import forwarded, nkr_manifest, refused_upload, upload

#: Nine digits passing the eleven-test (a BSN as far as anyone can tell).
BSN = "111222333"
INPUT = "urn:aanlevering:pseudonym-input:"

#: Clear identifiers a broken or hostile source step could send in a digest's place.
NOT_ONE_WAY = {
    "a zero-padded BSN": "0" * 55 + BSN,
    "a BSN as an integer": int(BSN).to_bytes(32, "big").hex(),
    "a name and birth date in hex": b"JANSEN|1980-01-01|M".ljust(32, b"\0").hex(),
    "an MRN in hex, space padded": b"MRN0012345".ljust(32, b" ").hex(),
}

#: Clear hospital numbers written so that they pass as 17+ bytes of base64url (decision 1023).
NOT_CIPHERTEXT = {
    "a number in digits": "000000000000001234567890",
    "a number padded with zeros": "MRN000000000000000000042",
    "an MRN as base64 text": b64url_encode(b"MRN-0012345/2026.1 A"),
    "an MRN padded with NULs": b64url_encode(b"0012345".ljust(24, b"\0")),
}


def _patient(i: int, *extra: dict[str, str]) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "id": f"p{i}",
        "identifier": [{"system": INPUT + "NGGV", "value": digest(f"NGGV|clear-{i}")}, *extra],
        "gender": "female",
    }


def _stage(folder: Path, period: str, files: dict[str, str], counts: dict[str, int]) -> Manifest:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return nkr_manifest(folder, period, counts, types=("NGGV",), tumours=2)


def _ndjson(*values: object) -> str:
    return "".join(json.dumps(v) + "\n" for v in values)


LOCAL_CASES = {
    "a BSN identifier": (
        {"Patient.ndjson": _ndjson(_patient(0), _patient(1, {"system": BSN_SYSTEM, "value": BSN}))},
        "Patient.ndjson line 2",
    ),
    "a clear MRN identifier": (
        {
            "Patient.ndjson": _ndjson(
                _patient(0, {"system": "https://hospital.example/mrn", "value": "MRN0012345"}),
                _patient(1),
            )
        },
        "Patient.ndjson line 1",
    ),
    "a BSN in a text": (
        {"tumor.ndjson": _ndjson({"tumor_id": "T0", "note": f"patient {BSN} seen"})},
        "tumor.ndjson line 1",
    ),
    "a BSN in a CSV cell": (
        {
            "tumor.csv": "tumor_id;pseudonym_input.NGGV;verwijzer\r\n"
            f"T0;{digest('NGGV|c0')};huisarts\r\nT1;{digest('NGGV|c1')};{BSN}\r\n"
        },
        "tumor.csv line 3",
    ),
    "a column named by a BSN": (
        {"tumor.csv": f"tumor_id;{BSN}\r\nT0;x\r\n"},
        "tumor.csv header",
    ),
    # A pseudonym's place holding a clear number (decision 1025).
    "a clear MRN under the pseudonym system": (
        {
            "Patient.ndjson": _ndjson(
                _patient(0),
                _patient(
                    1, {"system": pseudonym_system("nkr-borst", "MRN"), "value": "MRN0012345"}
                ),
            )
        },
        "Patient.ndjson line 2",
    ),
    "a clear MRN as a pseudonyms member": (
        {"tumor.ndjson": _ndjson({"tumor_id": "T0", "pseudonyms": {"MRN": "MRN0012345"}})},
        "tumor.ndjson line 1",
    ),
    "a clear MRN in a pseudonym column": (
        {"tumor.csv": "tumor_id;pseudonym.MRN\r\nT0;\r\nT1;MRN0012345\r\n"},
        "tumor.csv line 3",
    ),
    "a clear MRN in a registry holder's pseudonym column": (
        {"tumor.csv": "tumor_id;pseudoniem_MRN\r\nT0;MRN0012345\r\n"},
        "tumor.csv line 2",
    ),
}


@pytest.mark.parametrize("case", sorted(LOCAL_CASES))
def test_a_local_upload_with_a_clear_identifier_is_refused_before_forwarding(
    ttp: TTPSetup, tmp_path: Path, ttp_root: Path, case: str
) -> None:
    files, where = LOCAL_CASES[case]
    counts = {name: text.count("\n") - name.endswith(".csv") for name, text in files.items()}
    period = f"2026-CLEAR-{sorted(LOCAL_CASES).index(case)}"
    manifest = _stage(tmp_path / "staged", period, files, counts)

    refused = refused_upload(ttp, tmp_path / "staged", manifest)

    assert (refused.status, refused.code) == (422, "clear_identifier"), refused
    assert where in str(refused)
    assert BSN not in str(refused) and "MRN0012345" not in str(refused)
    assert not forwarded(ttp_root, manifest).exists()
    log = ttp.audit_log.read_text()
    assert BSN not in log and "MRN0012345" not in log


@pytest.mark.parametrize("kind", sorted(NOT_ONE_WAY))
def test_a_digest_that_is_no_one_way_value_is_refused_in_records(ttp: TTPSetup, kind: str) -> None:
    people = [
        PseudonymInputs("r0", {"NGGV": digest("NGGV|ok-0")}),
        PseudonymInputs("r1", {"NGGV": digest("NGGV|ok-1"), "RGG": NOT_ONE_WAY[kind]}),
    ]
    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").temporary_pseudonyms(
            "dica-dsaa",
            people,
            run_id=f"not-one-way-{sorted(NOT_ONE_WAY).index(kind)}",
            profile_version="nl-2026.1",
        )
    assert (refused.value.status, refused.value.code) == (422, "not_one_way"), refused.value
    assert refused.value.pseudonym_type == "RGG" and "record 1" in str(refused.value)
    assert NOT_ONE_WAY[kind] not in str(refused.value)


@pytest.mark.parametrize("kind", sorted(NOT_ONE_WAY))
def test_a_digest_that_is_no_one_way_value_is_refused_in_columns(ttp: TTPSetup, kind: str) -> None:
    column = [digest("NGGV|col-0"), digest("NGGV|col-1"), NOT_ONE_WAY[kind]]
    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").temporary_columns(
            "dica-dsaa",
            {"NGGV": pa.array(column, pa.string())},
            None,
            run_id=f"not-one-way-cols-{sorted(NOT_ONE_WAY).index(kind)}",
            profile_version="nl-2026.1",
        )
    assert (refused.value.status, refused.value.code) == (422, "not_one_way"), refused.value
    assert refused.value.pseudonym_type == "NGGV" and "record 2" in str(refused.value)
    assert NOT_ONE_WAY[kind] not in str(refused.value)


def test_a_local_upload_whose_input_is_no_one_way_value_is_refused(
    ttp: TTPSetup, tmp_path: Path, ttp_root: Path
) -> None:
    text = _ndjson(
        _patient(0),
        {"resourceType": "Patient", "id": "p1", "pseudonym_inputs": {"NGGV": "0" * 55 + BSN}},
    )
    manifest = _stage(
        tmp_path / "staged", "2026-CLEAR-INPUT", {"Patient.ndjson": text}, {"Patient.ndjson": 2}
    )
    refused = refused_upload(ttp, tmp_path / "staged", manifest)
    assert (refused.status, refused.code) == (422, "not_one_way"), refused
    assert "Patient.ndjson line 2" in str(refused) and BSN not in str(refused)
    assert not forwarded(ttp_root, manifest).exists()


def test_a_report_with_a_bsn_is_refused_before_forwarding(
    ttp: TTPSetup, tmp_path: Path, ttp_root: Path
) -> None:
    text = _ndjson(_patient(0), _patient(1))
    folder = tmp_path / "staged"
    manifest = _stage(folder, "2026-CLEAR-REPORT", {"Patient.ndjson": text}, {"Patient.ndjson": 2})
    (folder / "report.html").write_text(f"<p>2 patients; first: {BSN}</p>")
    report = describe_files(folder, {"report.html": 0}, {"report.html": "text/html"})
    manifest = replace(manifest, reports=report)
    refused = refused_upload(ttp, folder, manifest)
    assert (refused.status, refused.code) == (422, "clear_identifier"), refused
    assert "report.html" in str(refused) and BSN not in str(refused)
    assert not forwarded(ttp_root, manifest).exists()


def test_real_digests_still_pass_in_both_forms(ttp: TTPSetup) -> None:
    """The checks refuse nothing a true HMAC gives (a thousand of them, both forms)."""
    column = [digest(f"NGGV|real-{i}") for i in range(1000)]
    answer = ttp.client("demo-hospital").temporary_columns(
        "dica-dsaa",
        {"NGGV": pa.array(column, pa.string())},
        None,
        run_id="not-one-way-real",
        profile_version="nl-2026.1",
    )
    assert answer.labels["NGGV"].null_count == 0 and len(answer.labels["NGGV"]) == 1000


#: Manifest fields that disagree with the upload they describe (decision 1022).
MANIFEST_LIES = {
    "another registry holder": {"registry_holder": "lnaz"},
    "web mode": {"ttp_mode": "web"},
    "another normalisation profile": {"normalisation_profile": "nl-2027.1"},
    "types it does not declare": {"pseudonym_types": ("C",)},
}


@pytest.mark.parametrize("lie", sorted(MANIFEST_LIES))
def test_a_local_upload_whose_manifest_says_otherwise_is_refused(
    ttp: TTPSetup, tmp_path: Path, ttp_root: Path, lie: str
) -> None:
    folder = tmp_path / "staged"
    period = f"2026-LIE-{sorted(MANIFEST_LIES).index(lie)}"
    text = _ndjson(_patient(0), _patient(1))
    manifest = _stage(folder, period, {"Patient.ndjson": text}, {"Patient.ndjson": 2})
    manifest = replace(manifest, **MANIFEST_LIES[lie])  # type: ignore[arg-type]
    refused = refused_upload(ttp, folder, manifest)
    assert (refused.status, refused.code) == (422, "invalid_manifest"), refused
    assert not forwarded(ttp_root, manifest).exists()


@pytest.mark.parametrize("kind", sorted(NOT_CIPHERTEXT))
def test_a_clear_mrn_in_a_ciphertexts_place_is_refused_in_records(
    ttp: TTPSetup, hospital_a: Hospital, kind: str
) -> None:
    people = [
        PseudonymInputs("r0", {"NGGV": digest("NGGV|mrn-0")}, hospital_a.mrn_ciphertext("M-0")),
        PseudonymInputs("r1", {"NGGV": digest("NGGV|mrn-1")}, NOT_CIPHERTEXT[kind]),
    ]
    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").temporary_pseudonyms(
            "nkr-borst",
            people,
            run_id=f"not-ciphertext-{sorted(NOT_CIPHERTEXT).index(kind)}",
            profile_version="nl-2026.1",
        )
    assert (refused.value.status, refused.value.code) == (422, "not_mrn_ciphertext"), refused.value
    assert refused.value.pseudonym_type == "MRN" and "record 1" in str(refused.value)
    assert NOT_CIPHERTEXT[kind] not in str(refused.value)
    assert NOT_CIPHERTEXT[kind] not in ttp.audit_log.read_text()


@pytest.mark.parametrize("kind", sorted(NOT_CIPHERTEXT))
def test_a_clear_mrn_in_a_ciphertexts_place_is_refused_in_columns(
    ttp: TTPSetup, hospital_a: Hospital, kind: str
) -> None:
    mrns = [hospital_a.mrn_ciphertext(f"M-{i}") for i in range(3)] + [NOT_CIPHERTEXT[kind]]
    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").temporary_columns(
            "nkr-borst",
            {"NGGV": pa.array([digest(f"NGGV|mrn-col-{i}") for i in range(4)], pa.string())},
            pa.array(mrns, pa.string()),
            run_id=f"not-ciphertext-cols-{sorted(NOT_CIPHERTEXT).index(kind)}",
            profile_version="nl-2026.1",
        )
    assert (refused.value.status, refused.value.code) == (422, "not_mrn_ciphertext"), refused.value
    assert refused.value.pseudonym_type == "MRN" and "record 3" in str(refused.value)
    assert NOT_CIPHERTEXT[kind] not in str(refused.value)


def test_a_local_upload_with_a_clear_mrn_as_its_mrn_input_is_refused(
    ttp: TTPSetup, tmp_path: Path, ttp_root: Path, hospital_a: Hospital
) -> None:
    clear = NOT_CIPHERTEXT["a number padded with zeros"]
    text = _ndjson(
        {"tumor_id": "T0", "pseudonym_inputs": {"MRN": hospital_a.mrn_ciphertext("M-0")}},
        {"tumor_id": "T1", "pseudonym_inputs": {"MRN": clear}},
    )
    manifest = replace(
        _stage(tmp_path / "staged", "2026-CLEAR-MRN", {"tumor.ndjson": text}, {"tumor.ndjson": 2}),
        pseudonym_types=("MRN",),
    )
    refused = refused_upload(ttp, tmp_path / "staged", manifest)
    assert (refused.status, refused.code) == (422, "not_mrn_ciphertext"), refused
    assert "tumor.ndjson line 2" in str(refused) and clear not in str(refused)
    assert not forwarded(ttp_root, manifest).exists()
    assert clear not in ttp.audit_log.read_text()


PROFILE = "nl-2026.1"


def test_a_data_file_listed_as_a_report_is_refused_before_forwarding(
    ttp: TTPSetup, tmp_path: Path, ttp_root: Path
) -> None:
    """A report is forwarded unchanged: one in a data form is read as data (decision 1025)."""
    folder = tmp_path / "staged"
    text = _ndjson(_patient(0), _patient(1))
    manifest = _stage(folder, "2026-DATA-REPORT", {"Patient.ndjson": text}, {"Patient.ndjson": 2})
    cases = {
        "inputs": (_ndjson(_patient(2)), "invalid_report"),
        "a clear MRN": (
            _ndjson({"identifier": [{"system": "https://h.example/mrn", "value": "MRN0012345"}]}),
            "clear_identifier",
        ),
    }
    for n, (report, code) in enumerate(cases.values()):
        (folder / "extra.ndjson").write_text(report)
        described = describe_files(folder, {"extra.ndjson": 1}, {"extra.ndjson": "x"})
        listed = replace(
            manifest,
            idempotency_key=f"{manifest.idempotency_key}-{n}",
            reports=described,
        )
        refused = refused_upload(ttp, folder, listed)
        assert (refused.status, refused.code) == (422, code), refused
        assert "extra.ndjson" in str(refused) and "MRN0012345" not in str(refused)
        assert not forwarded(ttp_root, listed).exists()
    validation = folder / "validation-report.json"
    validation.write_text(json.dumps({"checks": [{"name": "rows", "passed": True, "count": 2}]}))
    fine = replace(
        manifest,
        reports=describe_files(folder, {validation.name: 0}, {validation.name: "application/json"}),
    )
    upload(ttp, folder, fine)
