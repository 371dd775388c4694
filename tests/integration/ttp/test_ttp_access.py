"""Authentication and authorisation of the reference TTP, and MRN reversal by the provider only."""

from __future__ import annotations

import pytest
import requests

from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs, RecordPseudonyms
from support.ttp import SOURCE_KEY, Hospital, TTPSetup, digest


def temporaries(ttp: TTPSetup, run_id: str, hospital: Hospital | None = None):
    record = PseudonymInputs(
        "p",
        {"NGGV": digest(f"access-{run_id}")},
        hospital.mrn_ciphertext(f"MRN-{run_id}") if hospital else None,
    )
    return ttp.client("demo-hospital").temporary_pseudonyms(
        "dica-dsaa", [record], run_id=run_id, profile_version="nl-2026.1"
    )


def test_wrong_or_missing_api_key_is_401(ttp: TTPSetup) -> None:
    wrong = TTPClient(
        ttp.url, "not-a-key", backoff=0.01, source_key_checks={"dica-dsaa": SOURCE_KEY}
    )
    with pytest.raises(TTPRefused) as refused:
        wrong.temporary_pseudonyms(
            "dica-dsaa",
            [PseudonymInputs("p", {"NGGV": digest("p")})],
            run_id="auth",
            profile_version="nl-2026.1",
        )
    assert (refused.value.status, refused.value.code) == (401, "unauthenticated")

    anonymous = requests.post(ttp.url + "/pseudonyms/temporary", json={}, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


def test_registry_holder_cannot_request_temporary_pseudonyms(ttp: TTPSetup) -> None:
    with pytest.raises(TTPRefused) as refused:
        ttp.client("dica").temporary_pseudonyms(
            "dica-dsaa",
            [PseudonymInputs("p", {"NGGV": digest("p")})],
            run_id="role-1",
            profile_version="nl-2026.1",
        )
    assert (refused.value.status, refused.value.code) == (403, "role_not_allowed")
    assert "dica" in refused.value.server_message


def test_hospital_cannot_exchange(ttp: TTPSetup) -> None:
    temps = temporaries(ttp, "role-2")
    records = [RecordPseudonyms("p", dict(temps.pseudonyms["p"]))]
    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").exchange("dica-dsaa", records, run_id="role-2-x")
    assert (refused.value.status, refused.value.code) == (403, "role_not_allowed")


def test_registry_holder_of_another_registration_cannot_exchange(ttp: TTPSetup) -> None:
    temps = temporaries(ttp, "holder")
    records = [RecordPseudonyms("p", dict(temps.pseudonyms["p"]))]
    with pytest.raises(TTPRefused) as refused:
        ttp.client("lnaz").exchange("dica-dsaa", records, run_id="holder-x")
    assert (refused.value.status, refused.value.code) == (403, "not_registry_holder")
    assert "dica-dsaa" in str(refused.value) and "lnaz" in str(refused.value)


def test_unknown_registration_is_404(ttp: TTPSetup) -> None:
    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").temporary_pseudonyms(
            "no-such-registry",
            [PseudonymInputs("p", {"NGG": digest("p")})],
            run_id="unknown",
            profile_version="nl-2026.1",
            source_key_check=SOURCE_KEY,
        )
    assert (refused.value.status, refused.value.code) == (404, "unknown_registration")


def test_only_admin_reads_the_audit_log(ttp: TTPSetup) -> None:
    as_hospital = requests.get(ttp.url + "/audit", headers=ttp.headers("demo-hospital"), timeout=5)
    assert as_hospital.status_code == 403
    as_admin = requests.get(
        ttp.url + "/audit", params={"limit": 5}, headers=ttp.headers("ttp-admin"), timeout=5
    )
    assert as_admin.status_code == 200
    entries = as_admin.json()["entries"]
    assert 1 <= len(entries) <= 5
    assert entries[-1]["endpoint"] == "/audit"  # the refused hospital read, audited
    assert entries[-1]["organisation"] == "demo-hospital"


def test_mrn_is_reversible_only_by_the_providing_hospital(
    ttp: TTPSetup, hospital_a: Hospital
) -> None:
    temps = temporaries(ttp, "mrn-1", hospital_a)
    mrn_pseudonym = temps.pseudonyms["p"]["MRN"]
    assert "MRN-mrn-1" not in mrn_pseudonym

    ciphertexts = ttp.client("demo-hospital").reverse_mrn("dica-dsaa", [mrn_pseudonym])
    assert hospital_a.decrypt(ciphertexts[0]) == "MRN-mrn-1"

    with pytest.raises(TTPRefused) as other_hospital:
        ttp.client("demo-hospital-b").reverse_mrn("dica-dsaa", [mrn_pseudonym])
    assert (other_hospital.value.status, other_hospital.value.code) == (403, "mrn_not_yours")

    with pytest.raises(TTPRefused) as registry_holder:
        ttp.client("dica").reverse_mrn("dica-dsaa", [mrn_pseudonym])
    assert registry_holder.value.status == 403

    # Wrapped for one registration, it does not open under another.
    with pytest.raises(TTPRefused) as elsewhere:
        ttp.client("demo-hospital").reverse_mrn("nkr-borst", [mrn_pseudonym])
    assert elsewhere.value.status == 403


def test_mrn_pseudonym_is_not_exchangeable(ttp: TTPSetup, hospital_a: Hospital) -> None:
    temps = temporaries(ttp, "mrn-2", hospital_a)
    with pytest.raises(TTPRefused) as refused:
        ttp.client("dica").exchange(
            "dica-dsaa",
            [RecordPseudonyms("p", {"MRN": temps.pseudonyms["p"]["MRN"]})],
            run_id="mrn-2-x",
        )
    assert (refused.value.status, refused.value.code) == (422, "invalid_pseudonym")
