"""Properties of profile nl-2026.1 over generated fictional people.

* The same person, written down differently by two hospitals (case,
  diacritics, spacing, where the voorvoegsels go, postcode spelling, date
  format, sex code set, addition in or next to the number), normalises to the
  same canonical inputs, so the same source digests.
* Different people (another birth date, sex or name letters) do not collide.
* Whatever garbage a column holds, normalisation does not crash, batch and
  single-record paths agree, and every failure reason is a fixed sentence
  from the catalogue (so it cannot carry a value).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aanlevering.pseudonym.identifiers import PERSON_FIELDS, PersonIdentifiers
from aanlevering.pseudonym.normalise import get_profile
from aanlevering.pseudonym.normalise.bsn import passes_elfproef
from aanlevering.pseudonym.normalise.failures import ALL_REASONS
from aanlevering.pseudonym.source_step import SourceKey, hash_canonical
from aanlevering.pseudonym_types import PseudonymType

PROFILE = get_profile("nl-2026.1")
ALL_TYPES = list(PseudonymType)
KEY = SourceKey("property-test", 1, bytes(range(32)))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LETTERS = "abcdefghijklmnopqrstuvwxyz" + "éèëêáàäâíìïîóòöôúùüûçñåøæœßł"
PREFIXES = [
    "",
    "van",
    "van der",
    "van den",
    "de",
    "den",
    "ter",
    "te",
    "in 't",
    "op de",
    "d'",
    "l'",
    "von",
    "van 't",
    "de la",
]
SEX_SPELLINGS = {
    "M": ["M", "m", "man", "male", "Male", "1", 1],
    "F": ["V", "F", "vrouw", "female", "2", 2],
    "U": ["O", "U", "UN", "UNK", "unknown", "onbekend", "other", "X", "0", "9"],
}
ADDITIONS = ["", "A", "b", "bis", "2", "HS", "a2", "3hg"]


@dataclass(frozen=True)
class Person:
    """A fictional person as the registers hold them (the truth both hospitals write down)."""

    prefix: str
    name: str  # geslachtsnaam, may be double-barrelled with "-"
    given: str
    birth: date
    sex: str  # M / F / U
    postcode_digits: int
    postcode_letters: str
    house_number: int
    addition: str
    bsn: str
    mrn: str


def _valid_bsn(digits: str) -> str | None:
    for check in "0123456789":
        if passes_elfproef(digits + check) and digits + check != "000000000":
            return digits + check
    return None


name_part = st.text(alphabet=LETTERS, min_size=1, max_size=10)
names = st.lists(name_part, min_size=1, max_size=2).map("-".join)
postcode_letters = (
    st.tuples(st.sampled_from("ABCDEFGHJKLMNPRSTVWXZ"), st.sampled_from("ABCDEFGHJKLMNPRSTVWXZ"))
    .map("".join)
    .filter(lambda pair: pair not in {"SA", "SD", "SS"})
)
bsns = (
    st.text(alphabet="0123456789", min_size=8, max_size=8)
    .map(_valid_bsn)
    .filter(lambda b: b is not None and not b.startswith("00"))
)
people = st.builds(
    Person,
    prefix=st.sampled_from(PREFIXES),
    name=names,
    given=st.text(alphabet=LETTERS, min_size=1, max_size=8),
    birth=st.dates(date(1900, 1, 1), date(2025, 12, 31)),
    sex=st.sampled_from(["M", "F", "U"]),
    postcode_digits=st.integers(1000, 9999),
    postcode_letters=postcode_letters,
    house_number=st.integers(1, 99999),
    addition=st.sampled_from(ADDITIONS),
    bsn=bsns,  # type: ignore[arg-type]
    mrn=st.text(alphabet="0123456789ABCDEFGHKLMNPXYZ-", min_size=1, max_size=12),
)


def _strip_diacritics(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _case(text: str, how: int) -> str:
    return [text, text.upper(), text.lower(), text.title()][how]


@st.composite
def renderings(draw: st.DrawFn, person: Person) -> PersonIdentifiers:
    """How one hospital's EHR happens to export ``person``."""
    name = _case(person.name, draw(st.integers(0, 3)))
    if draw(st.booleans()):
        name = _strip_diacritics(name)
    prefix = person.prefix
    if prefix and draw(st.booleans()):
        prefix = prefix[0].upper() + prefix[1:]
    own_prefix: str | None
    layout = draw(st.sampled_from(["split", "in-front", "inverted"])) if prefix else "split"
    if layout == "split":
        own_prefix, own_name = prefix or None, name
    elif layout == "in-front":
        glue = "" if prefix.endswith("'") else " "
        own_prefix, own_name = None, f"{prefix}{glue}{name}"
    else:
        own_prefix, own_name = None, f"{name}, {prefix}"
    pad = draw(st.sampled_from(["", " ", "  "]))
    own_name = f"{pad}{own_name}{pad}"

    given = _case(person.given, draw(st.integers(0, 3)))
    if draw(st.booleans()):
        given_names, initials = f"{given} Pieter", None
    else:
        dot = draw(st.sampled_from([".", "", ". "]))
        given_names, initials = None, f"{given[0]}{dot}P{dot}"

    b = person.birth
    birth_date: object = draw(
        st.sampled_from(
            [
                b.isoformat(),
                f"{b.day:02d}-{b.month:02d}-{b.year}",
                f"{b.day}-{b.month}-{b.year}",
                f"{b.day:02d}/{b.month:02d}/{b.year}",
                f"{b.day:02d}.{b.month:02d}.{b.year}",
                b.strftime("%Y%m%d"),
                int(b.strftime("%Y%m%d")),
                b,
                datetime(b.year, b.month, b.day),
                f"{b.isoformat()}T00:00:00",
            ]
        )
    )
    sex = draw(st.sampled_from(SEX_SPELLINGS[person.sex]))

    letters = draw(st.sampled_from([str.upper, str.lower]))(person.postcode_letters)
    separator = draw(st.sampled_from(["", " ", "-"]))
    postcode = f"{person.postcode_digits}{separator}{letters}"
    if draw(st.booleans()):
        postcode = f" {postcode} "

    house_number: object
    addition = draw(st.sampled_from([str.upper, str.lower]))(person.addition)
    form = draw(st.integers(0, 3))
    if form == 0:
        house_number, house_number_addition = person.house_number, addition or None
    elif form == 1:
        house_number, house_number_addition = f"00{person.house_number}", f" {addition} "
    elif form == 2 and addition:
        house_number, house_number_addition = f"{person.house_number}-{addition}", None
    else:
        house_number, house_number_addition = str(person.house_number), addition

    bsn: object = person.bsn
    bsn_form = draw(st.integers(0, 3))
    if bsn_form == 1:
        bsn = int(person.bsn)
    elif bsn_form == 2:
        bsn = f"{person.bsn[:4]}.{person.bsn[4:6]}.{person.bsn[6:]}"
    elif bsn_form == 3 and person.bsn.startswith("0"):
        bsn = person.bsn[1:]

    mrn = draw(st.sampled_from([person.mrn, person.mrn.lower(), f" {person.mrn} "]))
    use_patient_id = draw(st.booleans())
    return PersonIdentifiers(
        patient_id=mrn if use_patient_id else None,
        mrn=None if use_patient_id else mrn,
        bsn=bsn,  # type: ignore[arg-type]
        own_prefix=own_prefix,
        own_name=own_name,
        given_names=given_names,
        initials=initials,
        birth_date=birth_date,  # type: ignore[arg-type]
        sex=sex,
        postcode=postcode,
        house_number=house_number,  # type: ignore[arg-type]
        house_number_addition=house_number_addition,
    )


@st.composite
def person_written_twice(draw: st.DrawFn) -> tuple[PersonIdentifiers, PersonIdentifiers]:
    person = draw(people)
    return draw(renderings(person)), draw(renderings(person))


@SETTINGS
@given(person_written_twice())
def test_same_person_from_two_hospitals_normalises_identically(
    pair: tuple[PersonIdentifiers, PersonIdentifiers],
) -> None:
    first, second = (PROFILE.normalise(p, ALL_TYPES) for p in pair)
    assert first.failures == ()
    assert second.failures == ()
    assert first.canonical == second.canonical
    digests = {
        hash_canonical(KEY, PROFILE.version, t, v)
        for t, v in first.canonical.items()
        if t is not PseudonymType.MRN
    }
    assert digests == {
        hash_canonical(KEY, PROFILE.version, t, v)
        for t, v in second.canonical.items()
        if t is not PseudonymType.MRN
    }


BIRTH_TYPES = [
    t for t in PseudonymType if t not in (PseudonymType.B, PseudonymType.A, PseudonymType.MRN)
]


@SETTINGS
@given(people, st.dates(date(1900, 1, 1), date(2025, 12, 31)), st.data())
def test_different_birth_date_or_sex_never_collides(
    person: Person, other_birth: date, data: st.DataObject
) -> None:
    other_sex = data.draw(st.sampled_from([s for s in "MFU" if s != person.sex]))
    base = PROFILE.normalise(data.draw(renderings(person)), BIRTH_TYPES).canonical
    if other_birth != person.birth:
        moved = PROFILE.normalise(
            data.draw(renderings(replace(person, birth=other_birth))), BIRTH_TYPES
        ).canonical
        assert all(base[t] != moved[t] for t in BIRTH_TYPES)
    flipped = PROFILE.normalise(
        data.draw(renderings(replace(person, sex=other_sex))), BIRTH_TYPES
    ).canonical
    assert all(base[t] != flipped[t] for t in BIRTH_TYPES)
    assert all(
        hash_canonical(KEY, PROFILE.version, t, base[t])
        != hash_canonical(KEY, PROFILE.version, t, flipped[t])
        for t in BIRTH_TYPES
    )


@SETTINGS
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
    st.integers(0, 3),
    st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
)
def test_different_name_letters_never_collide(name: str, position: int, letter: str) -> None:
    position = min(position, len(name) - 1)
    other = name[:position] + letter + name[position + 1 :]
    if other == name:
        return
    types = [PseudonymType.NGG, PseudonymType.SNGG, PseudonymType.NGGV, PseudonymType.SNGGV]
    person = PersonIdentifiers(own_name=name, initials="A", birth_date="1980-01-31", sex="M")
    a = PROFILE.normalise(person, types)
    b = PROFILE.normalise(replace(person, own_name=other), types)
    assert a.failures == b.failures == ()
    assert all(a.canonical[t] != b.canonical[t] for t in types)


garbage = st.one_of(
    st.none(),
    st.text(max_size=14),
    st.integers(-10, 10**10),
    st.dates(date(1800, 1, 1), date(2100, 1, 1)),
    st.sampled_from(["1980-01-31", "1012 NX", "M", "12a", "111222333", "van den Berg", "J."]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({name: garbage for name in PERSON_FIELDS}), max_size=6))
def test_garbage_never_crashes_and_batch_equals_single(rows: list[dict[str, Any]]) -> None:
    columns = {name: [row[name] for row in rows] for name in PERSON_FIELDS}
    batch = PROFILE.normalise_columns(columns, ALL_TYPES)
    assert batch.num_rows == len(rows)
    for failure in batch.failures:
        assert failure.reason in ALL_REASONS
        assert failure.field in PERSON_FIELDS
    for index, row in enumerate(rows):
        single = PROFILE.normalise(PersonIdentifiers(**row), ALL_TYPES)
        assert {t: batch.values[t][index] for t in ALL_TYPES} == {
            t: single.canonical.get(t) for t in ALL_TYPES
        }
        assert [(f.type, f.field, f.reason) for f in batch.failures if f.row == index] == [
            (f.type, f.field, f.reason) for f in single.failures
        ]
        for type_ in ALL_TYPES:
            made = type_ in single.canonical
            failed = any(f.type == type_ for f in single.failures)
            assert made != failed, "each requested type is either made or explained"


@settings(max_examples=40, deadline=None)
@given(st.lists(people, min_size=1, max_size=8), st.data())
def test_pyarrow_columns_equal_python_lists(batch: list[Person], data: st.DataObject) -> None:
    rendered = [data.draw(renderings(p)) for p in batch]
    as_strings = {
        name: [None if getattr(r, name) is None else str(getattr(r, name)) for r in rendered]
        for name in PERSON_FIELDS
    }
    as_dates = {**as_strings, "birth_date": [p.birth for p in batch]}
    from_lists = PROFILE.normalise_columns(as_dates, ALL_TYPES)
    table = pa.table(
        {n: pa.array(v, pa.string()) for n, v in as_strings.items()}
        | {"birth_date": pa.array([p.birth for p in batch], pa.date32())}
    )
    from_arrow = PROFILE.normalise_columns(table, ALL_TYPES)
    assert dict(from_arrow.values) == dict(from_lists.values)
    assert from_arrow.failures == from_lists.failures == ()
