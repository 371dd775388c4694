"""The delivered Patient: one pseudonym identifier per type, and nothing that identifies."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.patient import Patient

from aanlevering.errors import PseudonymisationError
from aanlevering.fhir.context import DeliveryContext
from aanlevering.fhir.conventions import (
    KEY_VERSION_EXTENSION,
    PROFILE_EXTENSION,
    PSEUDONYM_TYPE_SYSTEM,
    STATUS_EXTENSION,
)
from aanlevering.fhir.generalised import (
    NO_FORMS,
    GeneralisedForms,
    forms_of_source_patient,
    generalised_variables,
)
from aanlevering.fhir.patient import PatientBuilder, patient_id
from aanlevering.fhir.publish import pseudonym_type_code_system
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType
from support.fhir_patient import pseudonymised_patient

DIRECT_IDENTIFIER_ELEMENTS = ("name", "telecom", "photo", "contact", "text", "extension")


def _extension(identifier: dict[str, Any], url: str) -> Any:
    values = [e for e in identifier["extension"] if e["url"] == url]
    assert len(values) == 1, url
    return next(v for k, v in values[0].items() if k.startswith("value"))


def test_one_identifier_per_approved_type_in_registration_order(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    context = context_for("dica-dsaa")  # approved: NGGV, RGG, MRN
    reordered = (PseudonymType.MRN, PseudonymType.NGGV, PseudonymType.RGG)
    patient = pseudonymised_patient(make_pseudonyms("MRN0012345", reordered), context)

    identifiers = patient["identifier"]
    codes = [i["type"]["coding"][0]["code"] for i in identifiers]
    assert codes == ["NGGV", "RGG", "MRN"]
    assert [i["system"] for i in identifiers] == [
        "https://aanlevering.example/fhir/NamingSystem/pseudonym/dica-dsaa/NGGV",
        "https://aanlevering.example/fhir/NamingSystem/pseudonym/dica-dsaa/RGG",
        "https://aanlevering.example/fhir/NamingSystem/pseudonym/dica-dsaa/MRN",
    ]
    assert identifiers[0]["value"] == "psNGGVx000001q7Zk"
    Patient.model_validate(patient)


def test_type_coding_comes_from_the_published_code_system(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    published = {c["code"] for c in pseudonym_type_code_system()["concept"]}
    context = context_for("ldtr")
    patient = pseudonymised_patient(make_pseudonyms("x1", context.pseudonym_types), context)
    for identifier in patient["identifier"]:
        (coding,) = identifier["type"]["coding"]
        assert coding["system"] == PSEUDONYM_TYPE_SYSTEM
        assert coding["code"] in published


def test_key_version_profile_and_status_are_labels_on_each_identifier(
    context_for: Callable[[str], DeliveryContext],
) -> None:
    context = context_for("ldtr")
    pseudonyms = PatientPseudonyms(
        "x2",
        (
            Pseudonym(PseudonymType.NGG, "tmpNGG01", 7, True, "nl-2026.1"),
            Pseudonym(PseudonymType.MRN, "defMRN01", 2, False, "nl-2026.1"),
        ),
    )
    ngg, mrn = pseudonymised_patient(pseudonyms, context)["identifier"]
    assert _extension(ngg, KEY_VERSION_EXTENSION) == 7
    assert _extension(mrn, KEY_VERSION_EXTENSION) == 2
    assert _extension(ngg, PROFILE_EXTENSION) == "nl-2026.1"
    assert _extension(ngg, STATUS_EXTENSION) == "temporary"
    assert _extension(mrn, STATUS_EXTENSION) == "definitive"
    assert ngg["use"] == "temp"
    assert "use" not in mrn


def test_patient_is_labelled_pseudonymised(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    context = context_for("ldtr")
    patient = pseudonymised_patient(make_pseudonyms("x3", (PseudonymType.NGG,)), context)
    assert patient["meta"]["security"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "PSEUDED"}
    ]


def test_a_type_that_could_not_be_computed_is_simply_absent(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    context = context_for("ldtr")  # NGG, C, MRN; no birth name -> no NGG
    patient = pseudonymised_patient(
        make_pseudonyms("x4", (PseudonymType.C, PseudonymType.MRN)), context
    )
    assert [i["type"]["coding"][0]["code"] for i in patient["identifier"]] == ["C", "MRN"]


def test_patient_id_is_keyed_stable_per_salt_and_never_the_source_id(
    catalogue: Any,
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    context = context_for("ldtr")
    pseudonyms = make_pseudonyms("MRN0012345", (PseudonymType.NGG,))
    first = pseudonymised_patient(pseudonyms, context)["id"]
    again = pseudonymised_patient(pseudonyms, context_for("ldtr"))["id"]
    other_salt = DeliveryContext.for_registration(
        catalogue.get("ldtr"), b"another salt of 32 bytes length"
    )
    assert first == again
    assert first != pseudonymised_patient(pseudonyms, other_salt)["id"]
    assert "0012345" not in first
    assert first != patient_id(make_pseudonyms("MRN0012346", (PseudonymType.NGG,)), context)


def test_rich_source_patient_loses_every_direct_identifier(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
    source: dict[str, Any],
) -> None:
    context = context_for("nkr-borst")  # dictionary asks for birth year only
    rich = source["patients"][0]
    kinds = generalised_variables(context.dictionary).kinds
    forms = forms_of_source_patient(rich, kinds)
    patient = pseudonymised_patient(
        make_pseudonyms(rich["id"], context.pseudonym_types), context, forms
    )

    for element in DIRECT_IDENTIFIER_ELEMENTS:
        assert element not in patient
    assert patient["birthDate"] == "1950"
    assert "address" not in patient  # no PC4 variable in nkr-borst
    assert "gender" not in patient  # no variable generalised from sex
    text = json.dumps(patient)
    for value in ("123456782", "MRN0012345", "Vries", "Johanna", "1950-03-14", "Kalverstraat",
                  "1012", "+31612345678", "pat-MRN0012345", "bsn"):  # fmt: skip
        assert value not in text
    assert all(
        i["system"].startswith("https://aanlevering.example/") for i in patient["identifier"]
    )
    Patient.model_validate(patient)


def test_generalised_forms_only_where_the_dictionary_declares_them(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
    source: dict[str, Any],
) -> None:
    rich = source["patients"][0]
    ldtr = context_for("ldtr")  # geboortejaar and pc4_woonplaats
    forms = forms_of_source_patient(rich, generalised_variables(ldtr.dictionary).kinds)
    patient = pseudonymised_patient(make_pseudonyms("p", ldtr.pseudonym_types), ldtr, forms)
    assert patient["birthDate"] == "1950"
    assert patient["address"] == [{"postalCode": "1012"}]
    Patient.model_validate(patient)

    bare = dataclasses.replace(
        ldtr.dictionary,
        datasets=tuple(
            dataclasses.replace(
                d, variables=tuple(v for v in d.variables if not v.generalised_from)
            )
            for d in ldtr.dictionary.datasets
        ),
    )
    assert generalised_variables(bare).kinds == frozenset()
    assert forms_of_source_patient(rich, generalised_variables(bare).kinds) == NO_FORMS
    plain = pseudonymised_patient(make_pseudonyms("p", ldtr.pseudonym_types), ldtr)
    assert {"birthDate", "address", "gender"}.isdisjoint(plain)


def test_generalised_forms_from_a_clinical_record_and_sex(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    ldtr = context_for("ldtr")
    variables = generalised_variables(ldtr.dictionary)
    forms = variables.forms("trauma", {"geboortejaar": 1962, "pc4_woonplaats": "3511"})
    assert forms == GeneralisedForms(birth_year="1962", pc4="3511")
    assert variables.forms("trauma", {"geboortejaar": 12345, "pc4_woonplaats": "0123"}) == NO_FORMS
    with_sex = GeneralisedForms(gender="female").merged(forms)
    patient = pseudonymised_patient(make_pseudonyms("p", (PseudonymType.C,)), ldtr, with_sex)
    assert (patient["gender"], patient["birthDate"], patient["address"]) == (
        "female",
        "1962",
        [{"postalCode": "3511"}],
    )


def test_unapproved_type_stops_the_delivery(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    context = context_for("dica-dsaa")
    with pytest.raises(PseudonymisationError, match="type B is not approved"):
        pseudonymised_patient(make_pseudonyms("x", (PseudonymType.NGGV, PseudonymType.B)), context)


def test_two_pseudonyms_of_one_type_are_refused(
    context_for: Callable[[str], DeliveryContext],
) -> None:
    twice = PatientPseudonyms(
        "x",
        (
            Pseudonym(PseudonymType.MRN, "a1", 1, False, "nl-2026.1"),
            Pseudonym(PseudonymType.MRN, "a2", 1, False, "nl-2026.1"),
        ),
    )
    with pytest.raises(PseudonymisationError, match="two pseudonyms of type MRN"):
        pseudonymised_patient(twice, context_for("ldtr"))


@pytest.mark.parametrize(
    ("value", "version", "profile", "problem"),
    [
        ("", 1, "nl-2026.1", "value must be"),
        ("has space 123456782", 1, "nl-2026.1", "value must be"),
        ("two\nlines", 1, "nl-2026.1", "value must be"),
        ("ok", -1, "nl-2026.1", "key version"),
        ("ok", 2**31, "nl-2026.1", "key version"),
        ("ok", 1, " ", "profile"),
    ],
)
def test_a_pseudonym_that_is_no_valid_identifier_is_refused_without_echo(
    context_for: Callable[[str], DeliveryContext],
    value: str,
    version: int,
    profile: str,
    problem: str,
) -> None:
    bad = PatientPseudonyms("x", (Pseudonym(PseudonymType.MRN, value, version, False, profile),))
    with pytest.raises(PseudonymisationError, match=problem) as raised:
        PatientBuilder(context_for("ldtr")).text(bad)
    assert "123456782" not in str(raised.value)


def test_builder_tracks_key_versions_and_profiles_for_the_manifest(
    context_for: Callable[[str], DeliveryContext],
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    context = context_for("ldtr")
    builder = PatientBuilder(context)
    builder.text(make_pseudonyms("a", context.pseudonym_types, key_version=3))
    builder.text(make_pseudonyms("b", (PseudonymType.NGG,), key_version=4))
    versions, profiles = builder.labels()
    assert versions == {"NGG": (3, 4), "C": (3,), "MRN": (3,)}
    assert profiles == ("nl-2026.1",)


def test_repr_of_pseudonyms_hides_the_patient_id(
    make_pseudonyms: Callable[..., PatientPseudonyms],
) -> None:
    text = repr(make_pseudonyms("MRN0012345", (PseudonymType.NGG,)))
    assert "MRN0012345" not in text
    assert "NGG" in text
