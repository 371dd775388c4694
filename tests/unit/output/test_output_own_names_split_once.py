"""The own-name check in free text splits each variable's texts once (decision 0890).

:func:`own_names_in_text` (decision 0881) is a privacy check: a faster version that
misses a record is a leak. It is pinned to :func:`own_names_in_text_reference`, every
value's words against every field of its own patient in Python, on varied records
(names with prefixes and diacritics, partner names, patient numbers and MRNs with and
without leading zeros, nulls, option-set words, another patient's name), both the
records found and those not; and the work it saves is pinned too: the texts of a
variable split once for all four identity fields, and no identity field read for a
dataset whose text variables hold option-set words only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from test_output_own_identifier_columns import CATALOGUE, _with_remark

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import DataDictionary
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output import own_names_in_text as module
from aanlevering.output.own_names_in_text import (
    FAMILY_NAME,
    PATIENT_NUMBER,
    OwnNameInText,
    _looked_for,
    own_names_in_text,
    own_names_in_text_reference,
    searched_numbers,
)

PREFIXES = [None, None, "de", "van der", "van den", "ter"]
#: Short, ordinary, long, with diacritics, several words, with a hyphen or an apostrophe.
NAMES = [
    "Bos", "Vos", "Wit", "Groot", "Post", "Jansen", "Çelik", "Öztürk", "Müller", "El Amrani",
    "Bakker-de Vries", "O'Brien", "Li", "Lever", "Evar", "Nguyen", "Ng", "Bakker", "Dijkstra",
]  # fmt: skip
WORDS = [
    "goed", "herstel", "belde", "pat.", "fam.", "controle", "groot", "aneurysma", "post-operatief",
    "EVAR", "open chirurgisch", "bosje", "links", "Z-", "2026", "mw.", "echtgenoot", ",", ";",
]  # fmt: skip


def _number(rng: random.Random) -> str:
    digits = str(rng.choice([4711, 12345, 123456, 987654, 2026, 55555, 7]))
    return rng.choice(["", "0", "00", "000"]) + digits


def _person(rng: random.Random) -> dict[str, str | None]:
    return {
        "patient_id": _number(rng),
        "mrn": rng.choice([None, _number(rng), "MRN" + _number(rng), "Z-" + _number(rng)]),
        "own_prefix": rng.choice(PREFIXES),
        "own_name": rng.choice([None, *NAMES]),
        "partner_prefix": rng.choice(PREFIXES),
        "partner_name": rng.choice([None, None, *NAMES]),
    }


def _piece(rng: random.Random, own: dict[str, str | None], other: dict[str, str | None]) -> str:
    """A piece of a remark: a word, the own patient's or another patient's name or number,
    written in another case, with its prefix, or with leading zeros added or dropped."""
    person = own if rng.random() < 0.7 else other
    choice = rng.randrange(6)
    if choice == 0:
        return rng.choice(WORDS)
    if choice in (1, 2):
        field = rng.choice(["own_name", "partner_name"])
        prefix = person[field.replace("name", "prefix")] if rng.random() < 0.3 else None
        name = person[field] or rng.choice(NAMES)
        text = f"{prefix} {name}" if prefix else name
        return rng.choice([text, text.upper(), text.lower(), f"({text})"])
    number = person[rng.choice(["patient_id", "mrn"])] or _number(rng)
    return rng.choice([number, number.lstrip("0"), "0" + number, f"pt{number}", f"{number}-x"])


def _remark(rng: random.Random, own: dict[str, str | None], other: dict[str, str | None]) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.2:
        return rng.choice(["EVAR", "open chirurgisch", "OPEN", ""])  # option-set words
    if roll < 0.3:  # short codes and texts: none holds a name or number looked for
        return rng.choice(["M", "1", "3a", "li", "İ", "İİ", "0001", "wit", "bos", "12345"])
    return " ".join(_piece(rng, own, other) for _ in range(rng.randint(1, 5)))


def _datasets(seed: int, rows: int = 300) -> dict[str, ExtractedDataset]:
    """operatie with names and numbers and a free-text and a code variable; complicatie
    with the patient number only (its names come from operatie: decision 0851)."""
    rng = random.Random(seed)
    people = [_person(rng) for _ in range(rows // 3)]
    own = [rng.choice(people) for _ in range(rows)]
    others = [rng.choice(people) for _ in range(rows)]
    fields = tuple(people[0])
    operaties = ExtractedDataset(
        name="operatie",
        clinical=pa.table(
            {
                "operatie_id": [f"ok-{i}" for i in range(rows)],
                "opmerking": pa.array(
                    [_remark(rng, p, o) for p, o in zip(own, others, strict=True)], pa.string()
                ),
                "techniek": pa.array(
                    [
                        _remark(rng, p, o) if rng.random() < 0.2 else "EVAR"
                        for p, o in zip(own, others, strict=True)
                    ],
                    pa.string(),
                ),
            }
        ),
        identity=pa.table({f: pa.array([p[f] for p in own], pa.string()) for f in fields}),
        row_refs=pa.array([f"operaties.csv:{i + 2}" for i in range(rows)]),
    )
    children = [rng.choice(own) for _ in range(rows // 2)]
    complicaties = ExtractedDataset(
        name="complicatie",
        clinical=pa.table(
            {
                "complicatie_id": [f"c-{i}" for i in range(len(children))],
                "soort_complicatie": pa.array(
                    [_remark(rng, p, rng.choice(people)) for p in children], pa.string()
                ),
            }
        ),
        identity=pa.table({"patient_id": pa.array([p["patient_id"] for p in children])}),
        row_refs=pa.array([f"complicaties.csv:{i + 2}" for i in range(len(children))]),
    )
    return {"operatie": operaties, "complicatie": complicaties}


@pytest.fixture(scope="module")
def remarked() -> DataDictionary:
    return _with_remark(load_catalogue(CATALOGUE).get("dica-dsaa").dictionary)


@pytest.mark.parametrize("seed", range(12))
def test_the_same_records_as_the_reference_on_varied_records(
    remarked: DataDictionary, seed: int
) -> None:
    datasets = _datasets(seed)
    found = own_names_in_text(datasets, remarked)
    assert found == own_names_in_text_reference(datasets, remarked)
    # Both sides: names and numbers found in some records, and not in others.
    kinds = {(f.variable, f.kind) for f in found}
    assert {("opmerking", FAMILY_NAME), ("opmerking", PATIENT_NUMBER)} <= kinds
    assert all(0 < f.records < datasets[f.dataset].num_rows for f in found)


def test_the_reference_finds_what_the_rule_says(remarked: DataDictionary) -> None:
    """The reference itself, on hand-made records: own and partner names (with the prefix,
    in capitals), numbers with or without their leading zeros; not another patient's name,
    a name inside a word, an ordinary-word name or a two-letter one, a longer number."""
    people = [
        {"patient_id": "0012345", "mrn": "00987654", "own_prefix": "de", "own_name": "Bos",
         "partner_prefix": None, "partner_name": "Çelik"},
        {"patient_id": "0054321", "mrn": None, "own_prefix": None, "own_name": "Groot",
         "partner_prefix": None, "partner_name": "Li"},
    ]  # fmt: skip
    remarks = [
        ("pat. DE BOS belde", 0, FAMILY_NAME),
        ("echtgenote çelik gebeld", 0, FAMILY_NAME),
        ("pt 12345 gebeld", 0, PATIENT_NUMBER),
        ("mrn 0987654", 0, PATIENT_NUMBER),
        ("Bos belde", 1, None),  # another patient's name
        ("bosje bloemen", 0, None),
        ("groot aneurysma", 1, None),
        ("li been", 1, None),
        ("lab 123450", 0, None),
        (None, 0, None),
    ]
    rows = [people[at] for _, at, _ in remarks]
    dataset = ExtractedDataset(
        name="operatie",
        clinical=pa.table(
            {
                "operatie_id": [f"ok-{i}" for i in range(len(rows))],
                "opmerking": pa.array([text for text, _, _ in remarks], pa.string()),
            }
        ),
        identity=pa.table({f: pa.array([p[f] for p in rows], pa.string()) for f in people[0]}),
        row_refs=pa.array([f"x.csv:{i + 2}" for i in range(len(rows))]),
    )
    expected = [
        OwnNameInText("operatie", "opmerking", 2, ("x.csv:2", "x.csv:3"), FAMILY_NAME),
        OwnNameInText("operatie", "opmerking", 2, ("x.csv:4", "x.csv:5"), PATIENT_NUMBER),
    ]
    datasets = {"operatie": dataset}
    assert own_names_in_text_reference(datasets, remarked) == expected
    assert own_names_in_text(datasets, remarked) == expected


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Count the calls of ``owner.name`` (the real function still runs)."""
    calls: list[int] = []
    real: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_variable_is_split_once_for_all_four_fields(
    remarked: DataDictionary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Own name, partner name, patient number and MRN: one split of the texts, not four."""
    datasets = _datasets(3)
    operaties = datasets["operatie"]
    only_remarks = replace(
        operaties, clinical=operaties.clinical.select(["operatie_id", "opmerking"])
    )
    for field in ("own_name", "partner_name", "patient_id", "mrn"):
        assert operaties.identity.column(field).null_count < operaties.num_rows
    splits = _counting(monkeypatch, pc, "split_pattern_regex")
    found = own_names_in_text({"operatie": only_remarks}, remarked)
    assert {f.kind for f in found} == {FAMILY_NAME, PATIENT_NUMBER}
    assert len(splits) == 1


def test_no_identity_field_is_read_when_the_texts_are_codes(
    remarked: DataDictionary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registration whose text variables are codes (DSAA's: the bench's million records),
    option-set words or one- and two-character codes, does not split a million patient
    numbers, nor its code columns, for nothing; one free text reads them."""
    datasets = _datasets(5)
    operaties = datasets["operatie"]
    quarter = operaties.num_rows // 4
    codes = {
        "operatie_id": operaties.clinical.column(0),
        "techniek": pa.array(["EVAR", "open chirurgisch", None, "OPEN"] * quarter),
        # Codes of one or two characters are no option-set words in the normal form.
        "geslacht": pa.array(["M", "V", None, "M"] * quarter),
        "asa_klasse": pa.array(["1", "2", "3", "5"] * quarter),
    }
    clean = replace(operaties, clinical=pa.table(codes))
    reads = _counting(monkeypatch, module, "identity_column")
    splits = _counting(monkeypatch, pc, "split_pattern_regex")
    assert own_names_in_text({"operatie": clean}, remarked) == []
    assert reads == [] and splits == []
    assert own_names_in_text({"operatie": operaties}, remarked) != []
    assert len(reads) == 4


def test_patient_numbers_of_plain_digits_taken_in_arrow_are_looked_for_as_one_by_one() -> None:
    """0881's patient numbers (decision 0890's follow-up): the columnar form of plain digits
    against :func:`_looked_for` per value, on leading zeros, all zeros, short numbers,
    letters, separators, non-ASCII digits, empty text and nulls."""
    rng = random.Random(2026)
    values: list[str | None] = [
        "0012345",
        "12345",
        "1234",
        "00001234",
        "000000",
        "0",
        "",
        "00000012345678",
        "A12345",
        "12345a",
        "12-345",
        "0012 345",
        "\uff11\uff12\uff13\uff14\uff15",
        "\u0660\u0661\u0662\u0663\u0664\u0665\u0666",
        "12345 ",
        None,
        "mrn 0099999",
        "00100000",
    ]
    values += [
        "".join(rng.choice("0000123456789") for _ in range(rng.randint(1, 10))) for _ in range(2000)
    ]
    distinct = pc.dictionary_encode(pa.array(values, pa.string())).dictionary
    expected = [_looked_for(value, frozenset(), numbers=True) for value in distinct.to_pylist()]
    assert searched_numbers(distinct) == expected
    assert any(e is None for e in expected) and any(e is not None for e in expected)
