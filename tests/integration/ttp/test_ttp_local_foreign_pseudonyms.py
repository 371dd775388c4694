"""In local mode the TTP forwards only pseudonyms it made for this upload (decision 1050).

Against the real TTP process: real temporary and MRN pseudonyms are fetched
in web mode, for another registration or another hospital, and written into
a local upload where a pseudonym belongs (an identifier under the
registration's pseudonym system, a ``pseudonyms`` member, a pseudonym column).
Their form passes; the TTP opens them, and refuses the upload before anything
is forwarded, naming the place and never the pseudonym.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.deliver.manifest import Manifest
from aanlevering.fhir.conventions import pseudonym_system
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from support.ttp import Hospital, TTPSetup, digest
from support.ttp_uploads import PROFILE, forwarded, nkr_manifest, refused_upload, upload

INPUT = "urn:aanlevering:pseudonym-input:"


def _temporary(ttp: TTPSetup, registration: str, run_id: str) -> str:
    """A real temporary NGGV pseudonym of ``registration``, as web mode hands it out."""
    answer = ttp.client("demo-hospital").temporary_pseudonyms(
        registration,
        [PseudonymInputs("x", {"NGGV": digest(f"NGGV|{run_id}")})],
        run_id=run_id,
        profile_version=PROFILE,
    )
    return answer.pseudonyms["x"]["NGGV"]


def _mrn(ttp: TTPSetup, hospital: Hospital, organisation: str, run_id: str) -> str:
    """A real MRN pseudonym of nkr-borst, made for ``organisation``."""
    answer = ttp.client(organisation).temporary_pseudonyms(
        "nkr-borst",
        [PseudonymInputs("x", {"NGGV": digest(f"NGGV|{run_id}")}, hospital.mrn_ciphertext("M-7"))],
        run_id=run_id,
        profile_version=PROFILE,
    )
    return answer.pseudonyms["x"]["MRN"]


def _files(place: str, code: str, label: str) -> dict[str, str]:
    """One upload with ``label`` written in ``place``, next to a record with a real input."""
    first = {"tumor_id": "T0", "pseudonym_inputs": {"NGGV": digest("NGGV|foreign-0")}}
    if place == "identifier":
        system = pseudonym_system("nkr-borst", code)
        second = {"resourceType": "Patient", "identifier": [{"system": system, "value": label}]}
    elif place == "pseudonyms member":
        second = {"tumor_id": "T1", "pseudonyms": {code: label}}
    else:
        return {
            "tumor.ndjson": json.dumps(first) + "\n",
            "tumor.csv": f"tumor_id;pseudonym.{code}\r\nT0;\r\nT1;{label}\r\n",
        }
    return {"tumor.ndjson": json.dumps(first) + "\n" + json.dumps(second) + "\n"}


def _stage(folder: Path, period: str, files: dict[str, str]) -> Manifest:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    counts = {name: text.count("\n") - name.endswith(".csv") for name, text in files.items()}
    return nkr_manifest(folder, period, counts, types=("NGGV", "MRN"), tumours=2)


PLACES = ("identifier", "pseudonyms member", "pseudonym column")
WHERE = {
    "identifier": "tumor.ndjson line 2",
    "pseudonyms member": "tumor.ndjson line 2",
    "pseudonym column": "tumor.csv line 3",
}


#: What is written in a pseudonym's place, and what the refusal says of it.
KINDS = {
    "another registration's temporary": "did not make for this registration",
    "this registration's temporary": "definitive pseudonyms only",
    "another hospital's MRN": "did not make for this hospital",
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_pseudonym_the_ttp_did_not_make_for_the_upload_is_refused(
    ttp: TTPSetup,
    hospital_b: Hospital,
    tmp_path: Path,
    ttp_root: Path,
    place: str,
    kind: str,
) -> None:
    said = KINDS[kind]
    run = f"foreign-{PLACES.index(place)}-{sorted(KINDS).index(kind)}"
    if kind == "another registration's temporary":
        code, label = "NGGV", _temporary(ttp, "dica-dsaa", run)
    elif kind == "this registration's temporary":
        code, label = "NGGV", _temporary(ttp, "nkr-borst", run)
    else:
        code, label = "MRN", _mrn(ttp, hospital_b, "demo-hospital-b", run)
    assert label.startswith(("T1:NGGV:v1:", "MRN:v1:"))  # the form alone passes
    manifest = _stage(tmp_path / "staged", f"2026-{run}", _files(place, code, label))

    refused = refused_upload(ttp, tmp_path / "staged", manifest)

    assert (refused.status, refused.code) == (422, "clear_identifier"), refused
    assert WHERE[place] in str(refused) and said in str(refused), refused
    assert label not in str(refused)
    assert label.rsplit(":", 1)[1] not in ttp.audit_log.read_text()
    assert not forwarded(ttp_root, manifest).exists()


def test_the_hospitals_own_mrn_pseudonym_is_still_forwarded(
    ttp: TTPSetup, hospital_a: Hospital, tmp_path: Path, ttp_root: Path
) -> None:
    label = _mrn(ttp, hospital_a, "demo-hospital", "own-mrn")
    manifest = _stage(
        tmp_path / "staged", "2026-own-mrn", _files("pseudonyms member", "MRN", label)
    )
    upload(ttp, tmp_path / "staged", manifest)
    sent = (forwarded(ttp_root, manifest) / "tumor.ndjson").read_text()
    assert label in sent
