"""The identifying facts a source holds about one person, split the Dutch way.

This is the input of normalisation: what an EHR export or FHIR Patient says
about a person, field by field as exported, before any cleaning. The fields
match ``IDENTITY_FIELDS`` of the catalogue, so a row of an extract's identity
table maps onto this type by name.

Birth-name pseudonyms use the *own* name (geslachtsnaam, ``own_name``),
never the name in use and never the partner's name; the partner fields are
here only so a source can hand over what it has without losing the split.

The values are identifiers: the ``repr`` names which fields are present and
never their values, so a record that ends up in a log line or a traceback
does not leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date

#: Names of the fields, in declaration order (also the column names the
#: columnar normalisation accepts).
PERSON_FIELDS: tuple[str, ...] = (
    "patient_id",
    "bsn",
    "mrn",
    "own_prefix",
    "own_name",
    "partner_prefix",
    "partner_name",
    "given_names",
    "initials",
    "birth_date",
    "sex",
    "postcode",
    "house_number",
    "house_number_addition",
)


@dataclass(frozen=True, slots=True, repr=False)
class PersonIdentifiers:
    """What the source holds about a person; every field optional, raw as exported.

    ``own_prefix`` / ``own_name``: voorvoegsels and geslachtsnaam of the birth
    name ("van der" / "Berg"); a source that does not split may put the whole
    birth name, or the inverted form "Berg, van der", in ``own_name``.
    ``given_names``: official first names (not the call name); ``initials``:
    voorletters such as "J.P.". ``birth_date``: a ``date`` or the string as
    exported. ``sex``: the EHR's code as exported. ``patient_id``: the
    source's patient number when it is not exported as ``mrn``.
    """

    patient_id: str | None = None
    bsn: str | int | None = None
    mrn: str | int | None = None
    own_prefix: str | None = None
    own_name: str | None = None
    partner_prefix: str | None = None
    partner_name: str | None = None
    given_names: str | None = None
    initials: str | None = None
    birth_date: date | str | int | None = None
    sex: str | int | None = None
    postcode: str | int | None = None
    house_number: str | int | None = None
    house_number_addition: str | None = None

    def __repr__(self) -> str:
        present = [f.name for f in fields(self) if getattr(self, f.name) not in (None, "")]
        return f"PersonIdentifiers(<present: {', '.join(present) or 'none'}>)"

    __str__ = __repr__

    @classmethod
    def from_mapping(cls, row: Mapping[str, object]) -> PersonIdentifiers:
        """Build from a row keyed by field name (e.g. one row of an identity table).

        Keys that are not identity fields are ignored so a caller can pass a
        wider row; values are taken as they are (normalisation checks them).
        """
        return cls(**{name: row[name] for name in PERSON_FIELDS if name in row})  # type: ignore[arg-type]
