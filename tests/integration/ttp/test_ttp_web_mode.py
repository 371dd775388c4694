"""Web mode against the real reference TTP: temporary pseudonyms, exchange, linkage, refusals."""

from __future__ import annotations

import json

import pytest
import requests

from aanlevering.errors import TTPError
from aanlevering.pseudonym.crypto import parse_label
from aanlevering.pseudonym.ttp.errors import TTPRefused, TTPUnavailable
from aanlevering.pseudonym.ttp.models import PseudonymInputs, RecordPseudonyms
from support.ttp import SOURCE_KEY_JSON, Hospital, TTPSetup, digest


def person(ref: str, seed: str, hospital: Hospital | None = None) -> PseudonymInputs:
    return PseudonymInputs(
        ref=ref,
        digests={"NGGV": digest(f"NGGV|{seed}"), "RGG": digest(f"RGG|{seed}")},
        mrn_ciphertext=hospital.mrn_ciphertext(f"MRN-{seed}") if hospital else None,
    )


def exchange_all(ttp: TTPSetup, registration: str, holder: str, temporaries, run_id: str):
    records = [
        RecordPseudonyms(ref, {t: v for t, v in labels.items() if t != "MRN"})
        for ref, labels in temporaries.pseudonyms.items()
    ]
    return ttp.client(holder).exchange(registration, records, run_id=run_id)


def test_temporary_pseudonyms_are_labelled_and_exchange_to_definitive(
    ttp: TTPSetup, hospital_a: Hospital
) -> None:
    people = [person(f"r{i}", f"web-{i}", hospital_a) for i in range(5)]

    temporaries = ttp.client("demo-hospital").temporary_pseudonyms(
        "dica-dsaa", people, run_id="web-1", profile_version="nl-2026.1"
    )

    assert set(temporaries.pseudonyms) == {p.ref for p in people}
    assert temporaries.key_versions == {1}
    assert [b.request_id for b in temporaries.batches] == ["web-1:dica-dsaa:temporary:00000"]
    assert temporaries.batches[0].batch_id.startswith("ttp-")
    labels = temporaries.pseudonyms["r0"]
    assert labels["NGGV"].startswith("T1:NGGV:v1:")
    assert labels["RGG"].startswith("T1:RGG:v1:")
    assert labels["MRN"].startswith("MRN:v1:")
    assert labels["NGGV"] != temporaries.pseudonyms["r1"]["NGGV"]

    definitive = exchange_all(ttp, "dica-dsaa", "dica", temporaries, "web-1-exchange")

    assert set(definitive.pseudonyms) == {p.ref for p in people}
    for ref, labels in definitive.pseudonyms.items():
        assert set(labels) == {"NGGV", "RGG"}
        for ptype, label in labels.items():
            parsed = parse_label(label)
            assert (parsed.kind, parsed.type.value, parsed.version) == ("definitive", ptype, 1)
            assert len(parsed.payload) == 32  # HMAC-SHA256
            assert label != temporaries.pseudonyms[ref][ptype]


def test_same_person_at_two_hospitals_gets_the_same_definitive_pseudonym(
    ttp: TTPSetup, hospital_a: Hospital, hospital_b: Hospital
) -> None:
    at_a = ttp.client("demo-hospital").temporary_pseudonyms(
        "dica-dsaa",
        [person("a-1", "shared", hospital_a), person("a-2", "only-a")],
        run_id="link-a",
        profile_version="nl-2026.1",
    )
    at_b = ttp.client("demo-hospital-b").temporary_pseudonyms(
        "dica-dsaa",
        [person("b-1", "shared", hospital_b), person("b-2", "only-b")],
        run_id="link-b",
        profile_version="nl-2026.1",
    )
    # MRN pseudonyms stay hospital-specific even for the same person.
    assert at_a.pseudonyms["a-1"]["MRN"] != at_b.pseudonyms["b-1"]["MRN"]

    from_a = exchange_all(ttp, "dica-dsaa", "dica", at_a, "link-a-x").pseudonyms
    from_b = exchange_all(ttp, "dica-dsaa", "dica", at_b, "link-b-x").pseudonyms

    assert from_a["a-1"] == from_b["b-1"]
    assert from_a["a-2"]["NGGV"] != from_b["b-2"]["NGGV"]


def test_registrations_get_unrelated_pseudonyms_and_cannot_open_each_others(
    ttp: TTPSetup,
) -> None:
    same = PseudonymInputs("p", {"NGGV": digest("NGGV|cross-registration")})
    hospital = ttp.client("demo-hospital")
    for_dica = hospital.temporary_pseudonyms(
        "dica-dsaa", [same], run_id="sep-1", profile_version="nl-2026.1"
    )
    for_iknl = hospital.temporary_pseudonyms(
        "nkr-borst", [same], run_id="sep-2", profile_version="nl-2026.1"
    )

    dica = exchange_all(ttp, "dica-dsaa", "dica", for_dica, "sep-1-x").pseudonyms["p"]["NGGV"]
    iknl = exchange_all(ttp, "nkr-borst", "iknl", for_iknl, "sep-2-x").pseudonyms["p"]["NGGV"]
    assert parse_label(dica).payload != parse_label(iknl).payload

    # IKNL presenting DICA's temporary pseudonym under its own registration learns nothing.
    with pytest.raises(TTPRefused) as refused:
        exchange_all(ttp, "nkr-borst", "iknl", for_dica, "sep-3-x")
    assert refused.value.status == 422
    assert refused.value.code == "invalid_pseudonym"
    assert "nkr-borst" in str(refused.value)


def test_a_request_with_any_disallowed_type_is_refused_whole(ttp: TTPSetup) -> None:
    before = ttp.audit_log.read_text().count("\n")
    records = [person(f"ok-{i}", f"ok-{i}") for i in range(3)]
    records.append(PseudonymInputs("bsn", {"NGGV": digest("x"), "B": digest("bsn")}))

    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").temporary_pseudonyms(
            "dica-dsaa",
            records,
            run_id="refuse-b",
            profile_version="nl-2026.1",
            bsn_justification="testing the TTP's own refusal",
        )

    error = refused.value
    assert (error.status, error.code, error.pseudonym_type) == (403, "type_not_allowed", "B")
    assert "dica-dsaa" in str(error) and "B" in str(error)
    entries = [json.loads(line) for line in ttp.audit_log.read_text().splitlines()[before:]]
    assert [e["outcome"] for e in entries] == ["refused:type_not_allowed"]  # no retry of a 4xx


def test_client_refuses_b_before_any_call_without_justification(ttp: TTPSetup) -> None:
    before = ttp.audit_log.read_text()
    with pytest.raises(TTPError, match="justification") as refused:
        ttp.client("demo-hospital").temporary_pseudonyms(
            "bsn-pilot",
            [PseudonymInputs("p", {"B": digest("bsn"), "GG": digest("gg")})],
            run_id="b-local",
            profile_version="nl-2026.1",
        )
    assert not isinstance(refused.value, TTPRefused | TTPUnavailable)
    assert ttp.audit_log.read_text() == before

    # With the approval's justification, a registration that may receive B gets it.
    allowed = ttp.client("demo-hospital").temporary_pseudonyms(
        "bsn-pilot",
        [PseudonymInputs("p", {"B": digest("bsn"), "GG": digest("gg")})],
        run_id="b-justified",
        profile_version="nl-2026.1",
        bsn_justification="approval 2026-17 allows B for this pilot",
    )
    assert allowed.pseudonyms["p"]["B"].startswith("T1:B:v1:")


def test_batches_of_thousands_come_back_complete_in_several_calls(ttp: TTPSetup) -> None:
    people = [
        PseudonymInputs(f"row-{i}", {"NGGV": digest(f"bulk-{i}"), "RGG": digest(f"rgg-{i}")})
        for i in range(12_000)
    ]
    result = ttp.client("demo-hospital", batch_size=5000).temporary_pseudonyms(
        "dica-dsaa", people, run_id="bulk", profile_version="nl-2026.1"
    )

    assert len(result.pseudonyms) == 12_000
    assert [b.records for b in result.batches] == [5000, 5000, 2000]
    assert [b.request_id for b in result.batches] == [
        f"bulk:dica-dsaa:temporary:{i:05d}" for i in range(3)
    ]
    assert result.type_counts == {"NGGV": 12_000, "RGG": 12_000}
    assert len({labels["NGGV"] for labels in result.pseudonyms.values()}) == 12_000


def test_malformed_digest_is_refused_naming_record_and_type_not_value(ttp: TTPSetup) -> None:
    bad = "ABCDEF" + "0" * 58  # uppercase: not the contract's lowercase hex
    response = requests.post(
        ttp.url + "/pseudonyms/temporary",
        json={
            "registration": "dica-dsaa",
            "request_id": "malformed-1",
            "profile_version": "nl-2026.1",
            "source_key": SOURCE_KEY_JSON,
            "records": [
                {"ref": "a", "digests": {"NGGV": digest("fine")}},
                {"ref": "b", "digests": {"RGG": bad}},
            ],
        },
        headers=ttp.headers("demo-hospital"),
        timeout=10,
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert (detail["code"], detail["index"], detail["pseudonym_type"]) == (
        "invalid_digest",
        1,
        "RGG",
    )
    assert "record 1" in detail["message"]
    assert bad not in response.text


def test_unknown_profile_is_refused(ttp: TTPSetup) -> None:
    with pytest.raises(TTPRefused) as refused:
        ttp.client("demo-hospital").temporary_pseudonyms(
            "dica-dsaa",
            [PseudonymInputs("p", {"NGGV": digest("p")})],
            run_id="profile",
            profile_version="nl-2099.9",
        )
    assert refused.value.code == "profile_not_accepted"
    assert "nl-2026.1" in str(refused.value)


def test_health_needs_no_key(ttp: TTPSetup) -> None:
    health = ttp.client("demo-hospital").health()
    assert (health.status, health.service) == ("ok", "aanlevering-reference-ttp")
