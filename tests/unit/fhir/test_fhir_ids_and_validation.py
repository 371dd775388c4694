"""Resource ids and R4B validation: reproducible, non-identifying, errors without values."""

from __future__ import annotations

import uuid

import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir.ids import ResourceIds, derive_salt
from aanlevering.fhir.validate import SamplePolicy, validate_resource

SECRET = b"hospital secret, 32 bytes long!!"


def test_ids_are_uuid4_reproducible_per_delivery_and_differ_between_deliveries() -> None:
    salt = derive_salt(SECRET, "ldtr.2026-03.v1")
    ids = ResourceIds(salt)
    first = ids.make("Patient", "MRN0012345")
    parsed = uuid.UUID(first)
    assert str(parsed) == first
    assert parsed.version == 4
    assert (
        ResourceIds(derive_salt(SECRET, "ldtr.2026-03.v1")).make("Patient", "MRN0012345") == first
    )
    assert (
        ResourceIds(derive_salt(SECRET, "ldtr.2026-04.v1")).make("Patient", "MRN0012345") != first
    )
    assert ids.make("Encounter", "MRN0012345") != first
    assert "SECRET" not in repr(ids) and "salt hidden" in repr(ids)


def test_short_secrets_and_salts_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        derive_salt(b"short", "k")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        ResourceIds(b"short")


def test_sample_policy_validates_the_head_and_every_nth() -> None:
    policy = SamplePolicy(head=3, every=10)
    chosen = [i for i in range(35) if policy.selects(i)]
    assert chosen == [0, 1, 2, 10, 20, 30]
    assert policy.positions(8, 15) == [2, 12]
    assert SamplePolicy(mode="all").positions(5, 4) == [0, 1, 2, 3]


def test_validation_errors_name_the_element_but_not_the_value() -> None:
    bad = {
        "resourceType": "Patient",
        "id": "x",
        "birthDate": "14-03-1950",
        "identifier": [{"system": "https://example.org", "value": ""}],
    }
    with pytest.raises(OutputError) as raised:
        validate_resource(bad, "Patient.ndjson line 3")
    message = str(raised.value)
    assert message.startswith("Patient.ndjson line 3: invalid FHIR R4B Patient")
    assert "birthDate" in message
    assert "14-03-1950" not in message


def test_validation_of_json_text_and_unknown_types() -> None:
    validate_resource('{"resourceType":"Patient","id":"a"}', "text")
    with pytest.raises(OutputError, match="not an R4B resource type"):
        validate_resource({"resourceType": "Nonsense"}, "x")
    with pytest.raises(OutputError, match="no resourceType"):
        validate_resource('{"id":"a"}', "x")


def test_positions_of_a_batch_are_the_positions_selected_one_by_one() -> None:
    """The writers ask per batch (``positions``) or per resource (``selects``): same choice."""
    for policy in (SamplePolicy(), SamplePolicy(head=3, every=10), SamplePolicy(mode="all")):
        for start in (0, 1, 2, 3, 9, 10, 99, 100, 101, 999, 1000, 1001, 2500):
            for count in (0, 1, 2, 7, 1000):
                one_by_one = [k for k in range(count) if policy.selects(start + k)]
                assert policy.positions(start, count) == one_by_one, (policy, start, count)
