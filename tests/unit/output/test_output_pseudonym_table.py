"""A delivery written from the pseudonym columns is byte for byte the per-person one.

The pipeline hands the output a :class:`PseudonymTable`; Patients are then
joined in Arrow (``fhir/patient_columns.py``) instead of built one by one.
Same input, same bytes, same errors: written here both ways, for people with
missing types, two key versions, values that need JSON escaping, and for
every FHIR and CSV format.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.errors import PseudonymisationError
from aanlevering.fhir.generalised import NO_FORMS, GeneralisedForms
from aanlevering.fhir.patient import PatientBuilder
from aanlevering.fhir.patient_columns import form_texts, patient_texts
from aanlevering.output.content import DeliveryInput, OutputFormat
from aanlevering.output.fhir_stream import form_numbers
from aanlevering.output.writer import write_delivery
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym, PseudonymTable
from aanlevering.pseudonym_types import PseudonymType

FORMATS: tuple[OutputFormat, ...] = ("fhir-ndjson", "fhir-bundle", "csv")


def _varied(content: DeliveryInput, seed: int) -> dict[str, PatientPseudonyms]:
    """The delivery's people with random gaps, key versions 3 or 4 and unusual values."""
    rng = random.Random(seed)
    varied = {}
    for number, (patient, person) in enumerate(sorted(content.pseudonyms.items())):
        kept = []
        for pseudonym in person.pseudonyms:
            if rng.random() < 0.2:
                continue
            value = pseudonym.value
            if number % 3 == 0:
                value = f'{value}"é\\{number}'  # valid identifier text, escaped in JSON
            kept.append(replace(pseudonym, value=value, key_version=rng.choice((3, 4))))
        varied[patient] = PatientPseudonyms(patient, tuple(kept))
    return varied


def _complete(people: dict[str, PatientPseudonyms]) -> dict[str, PatientPseudonyms]:
    """Everyone gets every type someone has (values made up from the patient number)."""
    templates = {p.type: p for person in people.values() for p in person.pseudonyms}
    return {
        patient: PatientPseudonyms(
            patient,
            tuple(
                person.get(t) or replace(template, value=f"{template.value}x{patient}")
                for t, template in templates.items()
            ),
        )
        for patient, person in people.items()
    }


def _written(folder: Path, content: DeliveryInput, fmt: OutputFormat) -> dict[str, bytes]:
    write_delivery(folder, content, fmt)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("registration", ["dica-dsaa", "nkr-borst", "ldtr"])
def test_same_bytes_from_columns_and_from_people(
    delivery: Callable[..., DeliveryInput], tmp_path: Path, fmt: OutputFormat, registration: str
) -> None:
    content = delivery(registration, records_per_person=3)
    for seed in range(5):
        # seed 3: as built (all types but one person's first, one key version);
        # seed 4: every person every type, one key version (pieces shared by the batch)
        people = _varied(content, seed) if seed < 3 else dict(content.pseudonyms)
        if seed == 4:
            people = _complete(people)
        by_person = replace(content, pseudonyms=people)
        by_column = replace(content, pseudonyms=PseudonymTable.from_patients(people.values()))
        old = _written(tmp_path / f"old-{seed}", by_person, fmt)
        new = _written(tmp_path / f"new-{seed}", by_column, fmt)
        assert old.keys() == new.keys()
        for name in old:
            if name == "manifest.json":
                continue
            assert new[name] == old[name], f"{fmt} {name} differs (seed {seed})"


def _error(folder: Path, content: DeliveryInput, people: Mapping[str, PatientPseudonyms]) -> str:
    with pytest.raises(PseudonymisationError) as raised:
        write_delivery(folder, replace(content, pseudonyms=people), "fhir-ndjson")
    return str(raised.value)


def test_same_errors_for_an_unapproved_type_and_an_invalid_value(
    delivery: Callable[..., DeliveryInput], tmp_path: Path
) -> None:
    content = delivery("dica-dsaa")
    first = sorted(content.pseudonyms)[0]
    person = content.pseudonyms[first]
    template = person.pseudonyms[0]
    cases = {
        "unapproved": replace(template, type=PseudonymType.B),
        "whitespace": replace(template, value="has space"),
        "too long": replace(template, value="x" * 1025),
    }
    for name, bad in cases.items():
        others = tuple(p for p in person.pseudonyms if p.type != bad.type)
        people = dict(content.pseudonyms)
        people[first] = PatientPseudonyms(first, (*others, bad))
        old = _error(tmp_path / f"old-{name}", content, people)
        new = _error(
            tmp_path / f"new-{name}", content, PseudonymTable.from_patients(people.values())
        )
        assert new == old, name
        assert "has space" not in new


def test_a_person_without_any_pseudonym_gets_a_patient_without_identifiers(
    delivery: Callable[..., DeliveryInput], tmp_path: Path
) -> None:
    content = delivery("dica-dsaa")
    people = {p: PatientPseudonyms(p, ()) for p in content.pseudonyms}
    first = sorted(people)[0]
    people[first] = PatientPseudonyms(
        first, (Pseudonym(PseudonymType.MRN, "MRN:v1:abc", 1, False, "nl-2026.1"),)
    )
    old = _written(tmp_path / "old", replace(content, pseudonyms=people), "fhir-ndjson")
    table = PseudonymTable.from_patients(people.values())
    new = _written(tmp_path / "new", replace(content, pseudonyms=table), "fhir-ndjson")
    assert new["Patient.ndjson"] == old["Patient.ndjson"]
    assert new["Patient.ndjson"].count(b'"identifier"') == 1


_AWKWARD = ['"', "\\", "é", "\u2028", "\x01", "a b", "1950", "1012", "male", "x" * 40, ""]


def _awkward_forms(rng: random.Random, count: int) -> list[GeneralisedForms]:
    def one() -> str | None:
        return None if rng.random() < 0.3 else "".join(rng.choices(_AWKWARD, k=rng.randint(1, 3)))

    return [GeneralisedForms(birth_year=one(), pc4=one(), gender=one()) for _ in range(count)]


@pytest.mark.parametrize("seed", range(4))
def test_patient_texts_from_form_numbers_are_those_of_the_builder(
    delivery: Callable[..., DeliveryInput], seed: int
) -> None:
    """Form texts taken by number and ids quoted in Arrow: :meth:`PatientBuilder.text`'s bytes.

    For awkward forms (quotes, backslashes, control and non-ASCII characters,
    missing parts), shared or not, people without forms, and delivered ids that
    need escaping (the per-value fallback) or not (UUIDs, quoted in Arrow).
    """
    rng = random.Random(seed)
    content = delivery("dica-dsaa")
    templates = list(content.pseudonyms.values())
    people = {
        f"p{n}": PatientPseudonyms(
            f"p{n}",
            tuple(
                replace(p, value=f"{p.value}{n}") for p in templates[n % len(templates)].pseudonyms
            ),
        )
        for n in range(300)
    }
    table = PseudonymTable.from_patients(people.values())
    builder = PatientBuilder(content.context)
    patients = list(people)
    shared = _awkward_forms(rng, 5)
    forms: dict[str, GeneralisedForms] = {}
    for patient in patients:
        pick = rng.random()
        if pick < 0.5:
            forms[patient] = rng.choice(shared)  # one object for equal forms, as the index
        elif pick < 0.8:
            forms[patient] = _awkward_forms(rng, 1)[0]
    order = rng.sample(patients, len(patients))
    sources = pa.array(order, pa.string())
    numbers, distinct = form_numbers(forms, sources)
    if seed % 2:
        delivered = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in order]
    else:
        delivered = [
            rng.choice(["id", 'i"d', "i\\d", "ïd", "i d"]) + str(n) for n in range(len(order))
        ]
    texts = patient_texts(
        builder,
        table,
        table.rows_of(sources),
        pa.array(delivered, pa.string()),
        form_texts(distinct).take(numbers),
        end="\n",
    ).to_pylist()
    expected = [
        builder.text(people[p], forms.get(p, NO_FORMS), d) + "\n"
        for p, d in zip(order, delivered, strict=True)
    ]
    assert texts == expected
    assert [distinct[n] for n in numbers.to_pylist()] == [forms.get(p, NO_FORMS) for p in order]
    assert len(distinct) == 1 + len({id(f) for f in forms.values()})
