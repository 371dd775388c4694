"""Deliveries to write in the output tests: extract-shaped datasets with identity kept apart.

Everyone here is made up. The first two people are also the FHIR source
Patients of ``tests/unit/fhir/data/source-resources.json``; ``IDENTIFYING``
lists every identifier the privacy test searches the delivered bytes for.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.catalogue.model import IDENTITY_FIELDS, Variable
from aanlevering.extract.model import ARROW_TYPES, ExtractedDataset
from aanlevering.fhir.context import DeliveryContext
from aanlevering.fhir.ids import derive_salt
from aanlevering.output.content import DeliveryInput, SourceResource
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "tests" / "unit" / "fhir" / "data" / "source-resources.json"
SECRET = b"output tests: hospital secret 32"

PEOPLE: tuple[dict[str, str | None], ...] = (
    {"mrn": "MRN0012345", "bsn": "123456782", "own_prefix": "de", "own_name": "Vries",
     "partner_prefix": None, "partner_name": "Bakker", "initials": "J.", "given_names": "Johanna",
     "birth_date": "14-03-1950", "sex": "V", "postcode": "1012 NX", "house_number": "92",
     "house_number_addition": "A"},
    {"mrn": "MRN0067890", "bsn": "111222333", "own_prefix": "van den", "own_name": "Berg",
     "partner_prefix": None, "partner_name": None, "initials": "H.", "given_names": "Hendrik",
     "birth_date": "02-11-1962", "sex": "M", "postcode": "3511AB", "house_number": "5",
     "house_number_addition": None},
    {"mrn": "MRN0055555", "bsn": "999990019", "own_prefix": None, "own_name": "Oosterhuis",
     "partner_prefix": "van", "partner_name": "Dijk", "initials": "M.A.",
     "given_names": "Maria Anna", "birth_date": "30-06-1944", "sex": "V", "postcode": "9711 LM",
     "house_number": "17", "house_number_addition": "bis"},
    {"mrn": "MRN0077777", "bsn": "999990020", "own_prefix": None, "own_name": "Çelik",
     "partner_prefix": None, "partner_name": None, "initials": "E.", "given_names": "Emre",
     "birth_date": "21-12-1988", "sex": "M", "postcode": "5611 AZ", "house_number": "140",
     "house_number_addition": None},
)  # fmt: skip

#: What must never appear in a delivered byte (full birth dates in both spellings).
IDENTIFYING: tuple[str, ...] = tuple(
    sorted(
        {
            value
            for person in PEOPLE
            for field, value in person.items()
            if value and field in {"mrn", "bsn", "own_name", "partner_name", "given_names"}
        }
        | {p["birth_date"] or "" for p in PEOPLE}
        | {"-".join(reversed((p["birth_date"] or "").split("-"))) for p in PEOPLE}
        | {p["postcode"] or "" for p in PEOPLE}
        | {(p["postcode"] or "").replace(" ", "") for p in PEOPLE}
        | {"de Vries-Bakker", "Kalverstraat", "Dorpsstraat", "+31612345678",
           "j.devries@example.nl", "VISIT-778899", "pat-MRN0012345", "pat-MRN0067890"}
    )
)  # fmt: skip


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


@pytest.fixture(scope="session")
def context_for(catalogue: Catalogue) -> Callable[[str], DeliveryContext]:
    def build(registration_id: str) -> DeliveryContext:
        return DeliveryContext.for_registration(catalogue.get(registration_id), SECRET)

    return build


def _value(variable: Variable, config: RegistrationConfig, person: dict[str, Any], row: int) -> Any:
    if variable.generalised_from == "birth_date:year":
        return int(str(person["birth_date"])[-4:])
    if variable.generalised_from == "postcode:pc4":
        return str(person["postcode"])[:4]
    if variable.name == "geslacht":
        return person["sex"]
    if variable.type == "code":
        assert variable.option_set is not None
        options = config.dictionary.option_sets[variable.option_set].options
        return options[row % len(options)].code
    if variable.name.endswith("_id"):
        return f"{variable.name[:-3].upper()}-2026-{row:04d}"
    return {
        "string": f"waarde {row}",
        "integer": int(variable.min or 0) + row % 5,
        "decimal": 20.25 + row,
        "date": dt.date(2026, 2, 1) + dt.timedelta(days=row),
        "datetime": dt.datetime(2026, 2, 1, 8, 15) + dt.timedelta(hours=row),
        "boolean": row % 2 == 0,
    }[variable.type]


def _pseudonyms(
    patient_id: str, types: tuple[PseudonymType, ...], number: int
) -> PatientPseudonyms:
    # The second person has no computable first type (e.g. no birth name for NGG).
    present = types[1:] if number == 1 else types
    return PatientPseudonyms(
        patient_id,
        tuple(
            Pseudonym(
                type=t,
                value=f"ps{t.value}Z{number:04d}k9Q",
                key_version=3,
                temporary=t is not PseudonymType.MRN,
                profile="nl-2026.1",
            )
            for t in present
        ),
    )


def build_delivery(
    config: RegistrationConfig,
    *,
    fhir_source: bool = False,
    records_per_person: int = 2,
    salt_key: str = "delivery-1",
) -> DeliveryInput:
    """A delivery of every dataset: ``records_per_person`` records for each of PEOPLE."""
    ids = [f"pat-{p['mrn']}" if fhir_source else str(p["mrn"]) for p in PEOPLE]
    datasets = {}
    for dataset in config.dictionary.datasets:
        rows = [(i, person) for i, person in enumerate(PEOPLE) for _ in range(records_per_person)]
        clinical = pa.table(
            {
                v.name: pa.array(
                    [_value(v, config, person, n) for n, (_, person) in enumerate(rows)],
                    ARROW_TYPES[v.type],
                )
                for v in dataset.variables
            }
        )
        identity = pa.table(
            {
                field: pa.array(
                    [ids[i] if field == "patient_id" else person.get(field) for i, person in rows],
                    pa.string(),
                )
                for field in IDENTITY_FIELDS
            }
        )
        refs = pa.array([f"{dataset.name}_2026.csv:{n + 2}" for n in range(len(rows))])
        datasets[dataset.name] = ExtractedDataset(dataset.name, clinical, identity, refs)
    pseudonyms = {
        patient: _pseudonyms(patient, config.pseudonymisation.types, n)
        for n, patient in enumerate(ids)
    }
    context = DeliveryContext.for_registration(config, derive_salt(SECRET, salt_key))
    if not fhir_source:
        return DeliveryInput(context, datasets, pseudonyms)
    source = json.loads(SOURCE.read_text(encoding="utf-8"))
    patients = {p["id"]: SourceResource(p) for p in source["patients"]}
    resources = [
        SourceResource(r, source["full_urls"].get(f"{r['resourceType']}/{r['id']}"))
        for r in source["resources"]
    ]
    return DeliveryInput(context, datasets, pseudonyms, patients, resources)


@pytest.fixture(scope="session")
def delivery(catalogue: Catalogue) -> Callable[..., DeliveryInput]:
    def build(registration_id: str, **options: Any) -> DeliveryInput:
        return build_delivery(catalogue.get(registration_id), **options)

    return build


@pytest.fixture(scope="session")
def identifying() -> tuple[str, ...]:
    return IDENTIFYING
