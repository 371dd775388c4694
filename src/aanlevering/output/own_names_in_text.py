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
  name they are the output guard's phrases;
* a name whose every word is an ordinary word or a word the registration lists
  under ``not_names`` (decision 0910: "wit beslag" of patient Wit, cleared by the
  hospital). Such a record still stops the run when the listed word stands next to
  the record's own title, initial or given name ("Wit, J.", "mw. wit"): that is the
  name, not the word. The records let through are counted (:class:`NotNameRecords`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import DataDictionary, Variable
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.common_words import COMMON_WORDS
from aanlevering.output.guard import IdentifierInDelivery, vocabulary
from aanlevering.output.not_names import HOW_TO_CLEAR, NotNameRecords
from aanlevering.output.own_identifiers import checked_variables, normal_forms, option_words
from aanlevering.output.patient_identity import identity_column
from aanlevering.output.phrases import TITLES, words
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
#: A listed word (``not_names``) next to the record's own title, initial or given name.
NAME_PHRASE = "family name next to a title, initial or given name"
#: The record's own fields a listed word is a name next to (before it; after it, not titles).
LEAD_FIELDS = ("given_names", "initials")
#: How many records a refusal names (file and line).
SHOWN_ROWS = 3
#: Shortest text that can hold a name or number looked for: its words have at least this
#: many letters and digits, and lower-casing a character gives at most one of them.
SHORTEST_TEXT = min(SHORTEST_NAME, SHORTEST_NUMBER)
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
        as_word = "" if self.kind == NAME_PHRASE else " as a word"
        return (
            f"{self.dataset}.{self.variable}: the patient's own {self.kind}{as_word} in "
            f"{self.records} record(s){where}"
        )


def text_variables(dictionary: DataDictionary, name: str) -> list[Variable]:
    """The dataset's text variables: strings and codes, not keys, relations or
    generalised ones (ours). A code's option-set words are left out by the caller."""
    return checked_variables(dictionary, name, TEXT_TYPES)


def _number_words(text: str) -> tuple[str, ...]:
    """:func:`words`, each number without its leading zeros (``0012345`` is ``12345``)."""
    return tuple(w.lstrip("0") or "0" if w.isdigit() else w for w in words(text))


def _looked_for(name: str | None, exempt: frozenset[str], numbers: bool) -> tuple[str, ...] | None:
    """The words of ``name`` looked for in its record's text, or None when it is not looked
    for (too short, or every word ordinary). ``numbers``: a patient number, not a name."""
    tokens = _number_words(name or "") if numbers else words(name or "")
    shortest = SHORTEST_NUMBER if numbers else SHORTEST_NAME
    long_enough = len("".join(tokens)) >= shortest
    ordinary = not numbers and all(token in exempt for token in tokens)
    return tokens if tokens and long_enough and not ordinary else None


def _searched_names(
    names: pa.Array, exempt: frozenset[str], numbers: bool = False
) -> tuple[pa.Array, list[tuple[str, ...] | None]]:
    """(index of each record's name among the distinct names, each distinct name's words
    or None when it is not looked for). ``numbers``: patient numbers, not names."""
    encoded = pc.dictionary_encode(names)
    if numbers:
        return encoded.indices, searched_numbers(encoded.dictionary)
    searched = [_looked_for(name, exempt, numbers) for name in encoded.dictionary.to_pylist()]
    return encoded.indices, searched


def searched_numbers(distinct: pa.Array) -> list[tuple[str, ...] | None]:
    """:func:`_looked_for` of each distinct patient number, plain digits taken in Arrow.

    Why: patient numbers and MRNs are distinct per patient, so at a million patients
    :func:`_looked_for` (a regex split per value) ran 1.2 million times for one dataset
    with free text: most of decision 0881's cost in the fourteenth bench record. A
    value of ASCII digits only is its one word without leading zeros (``0`` when all
    zeros), looked for at :data:`SHORTEST_NUMBER` digits; any other value is split by
    :func:`_looked_for` as before (pinned to it by tests).
    """
    plain = pc.fill_null(pc.ascii_is_decimal(distinct), False)
    stripped = pc.utf8_ltrim(distinct, characters="0")
    stripped = pc.if_else(pc.equal(stripped, ""), pa.scalar("0"), stripped)
    long_enough = pc.fill_null(pc.greater_equal(pc.utf8_length(stripped), SHORTEST_NUMBER), False)
    searched: list[tuple[str, ...] | None] = []
    for value, is_plain, number, looked_for in zip(
        distinct.to_pylist(),
        plain.to_pylist(),
        stripped.to_pylist(),
        long_enough.to_pylist(),
        strict=True,
    ):
        if is_plain:
            searched.append((number,) if looked_for else None)
        else:
            searched.append(_looked_for(value, frozenset(), numbers=True))
    return searched


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
        return cls._made(indices, searched, kind)

    @classmethod
    def _made(cls, indices: pa.Array, searched: list[tuple[str, ...] | None], kind: str) -> _Names:
        firsts = pa.array([n[0] if n else None for n in searched], pa.string())
        return cls(indices, searched, pc.take(firsts, indices), kind)

    def split(self, listed: frozenset[str], exempt: frozenset[str]) -> tuple[_Names, _Names]:
        """(the names still looked for, those every word of which is an ordinary word or a
        word of ``listed``: looked for only to count them and to find them in a phrase)."""
        if not listed or self.kind != FAMILY_NAME:
            return self, replace(self, searched=[None] * len(self.searched), first=_no(self))
        cleared = [
            name is not None and all(w in listed or w in exempt for w in name)
            for name in self.searched
        ]
        kept = [None if c else name for name, c in zip(self.searched, cleared, strict=True)]
        only = [name if c else None for name, c in zip(self.searched, cleared, strict=True)]
        return self._made(self.indices, kept, self.kind), self._made(self.indices, only, self.kind)


def _no(names: _Names) -> pa.Array:
    return pa.nulls(len(names.first), pa.string())


def _records_with_own_names(values: pa.Array, families: Sequence[_Names]) -> dict[str, set[int]]:
    """Per kind of ``families``, the indexes of the records whose ``values`` hold their own
    name (or number) of one of those fields as words.

    Why one function for every field: the split of the texts is most of the check's time
    (about 2 s per free-text variable at a million records), and splitting the same texts
    once per identity field (own name, partner name, patient id, MRN) did it four times.
    The texts are split once and the tokens compared with each field's first word; only
    records with a value and at least one name looked for are split (a code variable's
    values are mostly option-set words, nulled by the caller). The same records as
    :func:`own_names_in_text_reference` (pinned by tests).
    """
    found: dict[str, set[int]] = {family.kind: set() for family in families}
    named: pa.Array | None = None
    for family in families:
        valid = pc.is_valid(family.first)
        named = valid if named is None else pc.or_(named, valid)
    if named is None:
        return found
    both = pc.and_(pc.is_valid(values), named)
    if not pc.any(both).as_py():
        return found
    at = pc.indices_nonzero(both)
    texts = pc.take(values, at)
    split = pc.split_pattern_regex(pc.utf8_lower(texts), _SPLIT)
    flat = pc.list_flatten(split)
    parents = pc.list_parent_indices(split)
    without_zeros: pa.Array | None = None
    for family in families:
        numbers = family.kind == PATIENT_NUMBER
        tokens = flat
        if numbers:  # a number token without its leading zeros, as the numbers are kept
            if without_zeros is None:
                digits = pc.fill_null(pc.utf8_is_digit(flat), False)
                without_zeros = pc.if_else(digits, pc.utf8_ltrim(flat, characters="0"), flat)
            tokens = without_zeros
        own_first = pc.take(pc.take(family.first, at), parents)
        hit = pc.fill_null(pc.equal(tokens, own_first), False)
        for local in pc.unique(pc.filter(parents, hit)).to_pylist():
            record = at[local].as_py()
            name = family.searched[family.indices[record].as_py()]
            text = texts[local].as_py()
            if name is not None and _holds(_number_words(text) if numbers else words(text), name):
                found[family.kind].add(record)
    return found


def _fields(datasets: Mapping[str, ExtractedDataset], name: str) -> list[tuple[str, pa.Array]]:
    """(kind, each record's value) of the identity fields looked for in dataset ``name``."""
    fields = [(f, FAMILY_NAME) for f in FAMILY_FIELDS]
    fields += [(f, PATIENT_NUMBER) for f in NUMBER_FIELDS]
    return [
        (kind, column)
        for field, kind in fields
        if (column := identity_column(datasets, name, field)) is not None
    ]


def _free_values(
    dataset: ExtractedDataset, dictionary: DataDictionary, variable: Variable
) -> pa.Array:
    """The variable's values as text, null where it is a code or label of its option set."""
    values = pc.cast(dataset.clinical.column(variable.name).combine_chunks(), pa.string())
    if words_of_set := option_words(dictionary, variable):  # the holder's own words
        own = pc.is_in(normal_forms(values), value_set=pa.array(sorted(words_of_set)))
        values = pc.if_else(pc.fill_null(own, False), pa.scalar(None, pa.string()), values)
    return values


def _long_enough(values: pa.Array) -> pa.Array:
    """``values``, null where a text is too short to hold any name or number looked for.

    Why: a code variable's one- and two-character codes (``M``, ``1``, ``3a``) are no
    words of its option set in the normal form (shorter than it compares), so they
    reached the split, a million records per variable, to find nothing.
    """
    short = pc.fill_null(pc.less(pc.utf8_length(values), SHORTEST_TEXT), False)
    if not pc.any(short).as_py():
        return values
    return pc.if_else(short, pa.scalar(None, pa.string()), values)


def _found(
    name: str, dataset: ExtractedDataset, variable: str, by_kind: Mapping[str, set[int]]
) -> list[OwnNameInText]:
    """The findings of one variable, per kind with records, as the refusal names them."""
    found = []
    for kind, records in by_kind.items():
        if not records:
            continue
        first = sorted(records)[:SHOWN_ROWS]
        rows = pc.take(dataset.row_refs, pa.array(first, pa.int64())).to_pylist()
        shown = tuple(shown_text(str(row)) for row in rows)
        found.append(OwnNameInText(name, variable, len(records), shown, kind))
    return found


def own_names_in_text(
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
    not_names: Iterable[str] = (),
) -> list[OwnNameInText]:
    """Each text variable with at least one record holding its own patient's family
    name as a word (decision 0881); ``not_names``: the registration's list (0910)."""
    return _searched(datasets, dictionary, frozenset(not_names))[0]


def _searched(
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
    listed: frozenset[str],
) -> tuple[list[OwnNameInText], list[NotNameRecords]]:
    """(what blocks, the records let through only because of ``listed``)."""
    exempt = frozenset(COMMON_WORDS | vocabulary(dictionary))
    found: list[OwnNameInText] = []
    cleared: list[NotNameRecords] = []
    for name, dataset in datasets.items():
        if not dataset.num_rows:
            continue
        variables = [
            v for v in text_variables(dictionary, name) if v.name in dataset.clinical.column_names
        ]
        families: list[tuple[_Names, _Names]] | None = None
        leads = _Leads(datasets, name) if listed else None
        for variable in variables:
            values = _long_enough(_free_values(dataset, dictionary, variable))
            if values.null_count == len(values):
                continue
            if families is None:  # read and split only for a dataset with text (0890)
                families = [
                    _Names.of(column, exempt, kind).split(listed, exempt)
                    for kind, column in _fields(datasets, name)
                ]
            by_kind, by_word = _records_of(values, families, leads, listed - exempt)
            blocked: set[int] = set().union(*by_kind.values())
            found += _found(name, dataset, variable.name, by_kind)
            passed = {word: len(records - blocked) for word, records in by_word.items()}
            if any(passed.values()):
                cleared.append(NotNameRecords(name, variable.name, passed))
    return found, cleared


def _records_of(
    values: pa.Array,
    families: list[tuple[_Names, _Names]],
    leads: _Leads | None,
    listed: frozenset[str],
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """(records that block, by kind; records holding their own name made of listed words,
    by listed word). A listed word next to the record's own title, initial or given name
    blocks as :data:`NAME_PHRASE`."""
    by_kind = _records_with_own_names(values, [family for family, _ in families])
    by_word: dict[str, set[int]] = {}
    if leads is None:
        return by_kind, by_word
    for _, only_listed in families:
        for record in _records_with_own_names(values, [only_listed])[only_listed.kind]:
            own_name = only_listed.searched[only_listed.indices[record].as_py()] or ()
            if leads.in_phrase(record, words(values[record].as_py()), own_name):
                by_kind.setdefault(NAME_PHRASE, set()).add(record)
            for word in set(own_name) & listed:
                by_word.setdefault(word, set()).add(record)
    return by_kind, by_word


class _Leads:
    """Each record's own given names and initials, read only for the few records a listed
    word let through (a phrase of the record's own name is the name, not the word)."""

    def __init__(self, datasets: Mapping[str, ExtractedDataset], name: str) -> None:
        self._columns = {f: identity_column(datasets, name, f) for f in LEAD_FIELDS}

    def _own(self, record: int) -> tuple[frozenset[str], frozenset[str]]:
        """(given names of two letters or more, initials) of the record's patient."""
        given = self._columns["given_names"]
        initials = self._columns["initials"]
        names = []
        if given is not None:
            names = [w for w in words(given[record].as_py() or "") if len(w) >= 2]
        letters = {w[0] for w in names}
        if initials is not None:
            letters |= {c for c in (initials[record].as_py() or "").lower() if c.isalpha()}
        return frozenset(names), frozenset(letters)

    def in_phrase(self, record: int, text: tuple[str, ...], name: tuple[str, ...]) -> bool:
        """Whether ``name`` stands in ``text`` after a title, an own given name or initial,
        or before an own given name or initial ("mw. wit", "J. Wit", "Wit, J.")."""
        given, initials = self._own(record)
        before = TITLES | given | initials
        after = given | initials
        n = len(name)
        for i in range(len(text) - n + 1):
            if text[i : i + n] != name:
                continue
            if (i > 0 and text[i - 1] in before) or (i + n < len(text) and text[i + n] in after):
                return True
        return False


def own_names_in_text_reference(
    datasets: Mapping[str, ExtractedDataset], dictionary: DataDictionary
) -> list[OwnNameInText]:
    """:func:`own_names_in_text` record by record in Python: every value's words against
    every field of its own patient (the straightforward version the tests pin it to)."""
    exempt = frozenset(COMMON_WORDS | vocabulary(dictionary))
    found: list[OwnNameInText] = []
    for name, dataset in datasets.items():
        if not dataset.num_rows:
            continue
        fields = [(kind, column.to_pylist()) for kind, column in _fields(datasets, name)]
        for variable in text_variables(dictionary, name):
            if variable.name not in dataset.clinical.column_names:
                continue
            values: list[str | None] = _free_values(dataset, dictionary, variable).to_pylist()
            if all(value is None for value in values):
                continue
            by_kind: dict[str, set[int]] = {kind: set() for kind, _ in fields}
            for record, value in enumerate(values):
                for kind, names in fields:
                    looked_for = _looked_for(names[record], exempt, kind == PATIENT_NUMBER)
                    if value is None or looked_for is None:
                        continue
                    text = _number_words(value) if kind == PATIENT_NUMBER else words(value)
                    if _holds(text, looked_for):
                        by_kind[kind].add(record)
            found += _found(name, dataset, variable.name, by_kind)
    return found


def refuse_own_names_in_text(
    registration_id: str,
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
    written: Iterable[Path] = (),
    not_names: Iterable[str] = (),
) -> list[NotNameRecords]:
    """Raise :class:`IdentifierInDelivery` (exit 2) when a free text holds its own
    patient's family name; the ``written`` delivery files are removed first.

    Returns, when the run goes on, the records let through only because the
    registration lists the word under ``not_names`` (decision 0910), for the
    hospital's report and the run's log line.
    """
    found, cleared = _searched(datasets, dictionary, frozenset(not_names))
    if not found:
        return cleared
    for path in written:  # they hold a name: they must not linger in staging
        path.unlink(missing_ok=True)
    advice = "a name or number typed into the text: correct it in the EHR"
    if any(text.kind == FAMILY_NAME for text in found):
        advice += (
            "; a clinical or ordinary word that is only by coincidence the patient's family "
            "name (a word alone, not next to a title, initial or given name): "
            + HOW_TO_CLEAR.format(registration=registration_id)
        )
    raise IdentifierInDelivery(
        f"registration {registration_id}: delivery blocked, {len(found)} text "
        f"variable(s) hold their own patient's name or number "
        f"({'; '.join(text.shown for text in found)}): {advice}; or leave the variable "
        "out of the mapping; nothing was staged"
    )
