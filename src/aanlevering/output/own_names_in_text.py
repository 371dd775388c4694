"""A free-text value holding its own patient's family name as a word: refused (decision 0881).

Why: the output guard (decision 0182) finds a distinctive family name anywhere, but
leaves out names shorter than four letters (Bos, Vos, Wit) and names that are
ordinary words (Jong, Groot), finding those only as a phrase: after the prefix, a
title, a given name or an initial (decision 0411). A remark "pat. bos belde, goed
herstel" of patient Bos went out in clear. Within the *same record* the family name
is no chance word: the text is about that patient.

The rule: in each text variable (a string, or a code whose value is not a code or
label of its option set: "Bos, J." under ``techniek``; not a key, relation or
generalised one), a record whose value holds its own patient's own or partner
family name as whole words, in order, stops the run (exit 2), naming
dataset, variable, count and where, never a value. It runs right after the output
guard (the files written, and removed before raising), so a text the guard finds
(a distinctive name, "mw. Bos") is named by the guard's message. Left out, for false positives:

* a name whose every word is an ordinary word (:data:`COMMON_WORDS`: Groot, Post,
  Jong) or a word of the dictionary (a code, a label): "groot aneurysma" of patient
  de Groot is the clinical word; such a name blocks as a phrase (the output guard);
* a name of fewer than :data:`SHORTEST_NAME` letters (Li, Ng: "li" is "links");
* given names: ordinary words (Roos, Hoop) that name no one alone; with the family
  name they are the output guard's phrases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import DataDictionary, Variable
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.common_words import COMMON_WORDS
from aanlevering.output.guard import IdentifierInDelivery, vocabulary
from aanlevering.output.own_identifiers import checked_variables, normal_forms, option_words
from aanlevering.output.patient_identity import identity_column
from aanlevering.output.phrases import words
from aanlevering.shown_names import shown_text

#: Family names looked for in the record's free text (with its prefix the guard's phrase).
FAMILY_FIELDS = ("own_name", "partner_name")
#: The variable types whose values are text a person typed or chose.
TEXT_TYPES = frozenset({"string", "code"})
#: Shortest family name (letters and digits) looked for as a word.
SHORTEST_NAME = 3
#: Patient numbers looked for in the record's text (the guard searches six digits or more).
NUMBER_FIELDS = ("patient_id", "mrn")
#: Shortest patient number (without leading zeros) looked for: a shorter one is a count.
SHORTEST_NUMBER = 5
FAMILY_NAME = "family name"
PATIENT_NUMBER = "patient number"
#: How many records a refusal names (file and line).
SHOWN_ROWS = 3
_SPLIT = r"[^\p{L}\p{N}]+"


@dataclass(frozen=True)
class OwnNameInText:
    """Records of one text variable holding their own patient's family name."""

    dataset: str
    variable: str
    records: int
    rows: tuple[str, ...] = ()
    kind: str = FAMILY_NAME

    @property
    def shown(self) -> str:
        """As the refusal names it: counts and where, never a value."""
        where = f", at {', '.join(self.rows)}" if self.rows else ""
        return (
            f"{self.dataset}.{self.variable}: the patient's own {self.kind} as a word in "
            f"{self.records} record(s){where}"
        )


def text_variables(dictionary: DataDictionary, name: str) -> list[Variable]:
    """The dataset's text variables: strings and codes, not keys, relations or
    generalised ones (ours). A code's option-set words are left out by the caller."""
    return checked_variables(dictionary, name, TEXT_TYPES)


def _number_words(text: str) -> tuple[str, ...]:
    """:func:`words`, each number without its leading zeros (``0012345`` is ``12345``)."""
    return tuple(w.lstrip("0") or "0" if w.isdigit() else w for w in words(text))


def _searched_names(
    names: pa.Array, exempt: frozenset[str], numbers: bool = False
) -> tuple[pa.Array, list[tuple[str, ...] | None]]:
    """(index of each record's name among the distinct names, each distinct name's words
    or None when it is not looked for). ``numbers``: patient numbers, not names."""
    encoded = pc.dictionary_encode(names)
    searched: list[tuple[str, ...] | None] = []
    for name in encoded.dictionary.to_pylist():
        tokens = _number_words(name or "") if numbers else words(name or "")
        shortest = SHORTEST_NUMBER if numbers else SHORTEST_NAME
        long_enough = len("".join(tokens)) >= shortest
        ordinary = not numbers and all(token in exempt for token in tokens)
        searched.append(tokens if tokens and long_enough and not ordinary else None)
    return encoded.indices, searched


def _holds(text: tuple[str, ...], name: tuple[str, ...]) -> bool:
    n = len(name)
    return any(text[i : i + n] == name for i in range(len(text) - n + 1))


@dataclass(frozen=True)
class _Names:
    """One family-name field of a dataset's records, split once (names repeat)."""

    #: Per record, the index of its name among ``searched``.
    indices: pa.Array
    #: Each distinct name's words, or None when it is not looked for.
    searched: list[tuple[str, ...] | None]
    #: Per record, the first word of its name (null: not looked for).
    first: pa.Array
    #: What the names are (:data:`FAMILY_NAME`, :data:`PATIENT_NUMBER`: no leading zeros).
    kind: str = FAMILY_NAME

    @classmethod
    def of(cls, names: pa.Array, exempt: frozenset[str], kind: str = FAMILY_NAME) -> _Names:
        indices, searched = _searched_names(names, exempt, numbers=kind == PATIENT_NUMBER)
        firsts = pa.array([n[0] if n else None for n in searched], pa.string())
        return cls(indices, searched, pc.take(firsts, indices), kind)


def _records_with_own_name(values: pa.Array, names: _Names) -> set[int]:
    """Indexes of the records whose ``values`` hold their own ``names`` as words.

    Only records with both a value and a name looked for are split (a code variable's
    values are mostly option-set words, nulled by the caller).
    """
    both = pc.and_(pc.is_valid(values), pc.is_valid(names.first))
    if not pc.any(both).as_py():
        return set()
    at = pc.indices_nonzero(both)
    texts = pc.take(values, at)
    split = pc.split_pattern_regex(pc.utf8_lower(texts), _SPLIT)
    flat = pc.list_flatten(split)
    parents = pc.list_parent_indices(split)
    numbers = names.kind == PATIENT_NUMBER
    if numbers:  # a number token without its leading zeros, as the numbers are kept
        digits = pc.fill_null(pc.utf8_is_digit(flat), False)
        flat = pc.if_else(digits, pc.utf8_ltrim(flat, characters="0"), flat)
    own_first = pc.take(pc.take(names.first, at), parents)
    hit = pc.fill_null(pc.equal(flat, own_first), False)
    found = set()
    for local in pc.unique(pc.filter(parents, hit)).to_pylist():
        record = at[local].as_py()
        name = names.searched[names.indices[record].as_py()]
        text = texts[local].as_py()
        if name is not None and _holds(_number_words(text) if numbers else words(text), name):
            found.add(record)
    return found


def own_names_in_text(
    datasets: Mapping[str, ExtractedDataset], dictionary: DataDictionary
) -> list[OwnNameInText]:
    """Each text variable with at least one record holding its own patient's family
    name as a word (decision 0881)."""
    exempt = frozenset(COMMON_WORDS | vocabulary(dictionary))
    found: list[OwnNameInText] = []
    for name, dataset in datasets.items():
        if not dataset.num_rows:
            continue
        variables = [
            v for v in text_variables(dictionary, name) if v.name in dataset.clinical.column_names
        ]
        fields = [(f, FAMILY_NAME) for f in FAMILY_FIELDS]
        fields += [(f, PATIENT_NUMBER) for f in NUMBER_FIELDS]
        families = [
            _Names.of(column, exempt, kind)
            for field, kind in fields
            if variables and (column := identity_column(datasets, name, field)) is not None
        ]
        for variable in variables:
            values = pc.cast(dataset.clinical.column(variable.name).combine_chunks(), pa.string())
            if words_of_set := option_words(dictionary, variable):  # the holder's own words
                own = pc.is_in(normal_forms(values), value_set=pa.array(sorted(words_of_set)))
                values = pc.if_else(pc.fill_null(own, False), pa.scalar(None, pa.string()), values)
            if values.null_count == len(values):
                continue
            by_kind: dict[str, set[int]] = {}
            for family in families:
                by_kind.setdefault(family.kind, set())
                by_kind[family.kind] |= _records_with_own_name(values, family)
            for kind, records in by_kind.items():
                if not records:
                    continue
                first = sorted(records)[:SHOWN_ROWS]
                rows = pc.take(dataset.row_refs, pa.array(first, pa.int64())).to_pylist()
                shown = tuple(shown_text(str(row)) for row in rows)
                found.append(OwnNameInText(name, variable.name, len(records), shown, kind))
    return found


def refuse_own_names_in_text(
    registration_id: str,
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
    written: Iterable[Path] = (),
) -> None:
    """Raise :class:`IdentifierInDelivery` (exit 2) when a free text holds its own
    patient's family name; the ``written`` delivery files are removed first."""
    found = own_names_in_text(datasets, dictionary)
    if not found:
        return
    for path in written:  # they hold a name: they must not linger in staging
        path.unlink(missing_ok=True)
    raise IdentifierInDelivery(
        f"registration {registration_id}: delivery blocked, {len(found)} text "
        f"variable(s) hold their own patient's name or number "
        f"({'; '.join(text.shown for text in found)}): remove it from the text in "
        "the EHR (or leave the variable out of the mapping); nothing was staged"
    )
