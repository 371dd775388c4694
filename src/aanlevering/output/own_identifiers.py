"""A delivered column that holds each record's own patient's name, address or number: refused.

Why: the output guard (decision 0182) searches the written files for the run's
identifiers as *tokens*, and leaves out the tokens that would block legal
deliveries: names shorter than four letters (Bos, Vos, Wit), names that are
ordinary words (Groot, Post, Bakker; only as a phrase, decision 0411), words of the
dictionary's own option sets and labels, patient numbers shorter than six digits,
streets without their house number, given names. A name column exported under a
header the catalogue guard does not know, mapped by mistake onto a code variable
whose option-set check only warns, delivered exactly those names in clear.

So, like the birth date columns of decision 0340, each delivered string, code,
integer and decimal variable is compared record by record with the record's *own*
patient (:func:`aanlevering.output.patient_identity.identity_column`). The rule
(decision 0851):

* values are compared in a normal form: lower case, letters and digits only, a
  number without its leading zeros (``"van den Berg"`` is ``vandenberg``, ``"1012 NX"``
  is ``1012nx``, ``0012345`` is ``12345``); a normal form of fewer than
  :data:`SHORTEST` characters (a one-letter code, ``"A"``) is never compared;
* a value that is a code or label of the variable's own option set never counts:
  it is the holder's word, whoever else it names (a patient named Open with
  ``techniek`` OPEN);
* a variable is an identity column, and the delivery is refused, when at least
  :data:`BLOCKING_SHARE` of its compared records (a value and the patient's
  identifier of that kind both present) hold their own patient's identifier, and
  at least one does;
* and (decision 0880) a single record blocks when its whole value is one of its
  own patient's identifiers that name that patient alone (:data:`PER_RECORD`):
  the family name (own or partner, with or without prefix), patient number or
  MRN, BSN, phone, e-mail, street with house number, full postcode. Three records
  of 200 holding "Bos" or "Vos" went out under the share rule; no value of a
  clinical variable is, as a whole, its own patient's family name by chance often
  enough to let that go. A number variable's value counts alone only with at least
  :data:`MIN_NUMBER` digits (a diameter of 55 of patient 55 is a measurement).
  Given names, the first given name and a street without its number stay with
  the share rule: they are ordinary words ("Roos", "Markt") and name no one alone.
  A town is not compared (a registration may ask for it).

A value that is a word the registration lists under ``not_names`` (decision 0910:
"wit" of patient Wit, a colour) is not compared as a name at all, neither alone nor
for the share rule; the records it let through are counted
(:class:`~aanlevering.output.not_names.NotNameRecords`) for the hospital's report.

Key, relation and generalised variables are skipped: ours (keyed hashes, birth year,
PC4). Nothing here logs or raises a value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.arrow_counts import count_true
from aanlevering.catalogue.model import DataDictionary, Variable
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.birth_dates import BLOCKING_SHARE
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.not_names import HOW_TO_CLEAR, NotNameRecords
from aanlevering.output.patient_identity import identity_column
from aanlevering.shown_names import shown_text

log = logging.getLogger(__name__)

#: Shortest normal form compared: a one-letter value is a code, an initial, a grade.
SHORTEST = 2
#: Variable types whose delivered value may be an identity column's value.
CHECKED_TYPES = frozenset({"string", "code", "integer", "decimal"})

#: Kind of identifier -> the forms of it a record's patient has, each a tuple of identity
#: fields joined with a space (``("own_prefix", "own_name")`` is "van den" + "Berg").
KINDS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "a name": (
        ("own_name",),
        ("own_prefix", "own_name"),
        ("partner_name",),
        ("partner_prefix", "partner_name"),
        ("given_names",),
    ),
    "an address": (
        ("street",),
        ("street", "house_number"),
        ("street", "house_number", "house_number_addition"),
        ("postcode",),
    ),
    "a patient number": (("patient_id",), ("mrn",)),
    "a BSN": (("bsn",),),
    "a phone number": (("phone",),),
    "an e-mail address": (("email",),),
}
#: Forms that name the patient alone: a single record holding one blocks (decision 0880).
PER_RECORD: frozenset[tuple[str, ...]] = frozenset(
    {
        ("own_name",),
        ("own_prefix", "own_name"),
        ("partner_name",),
        ("partner_prefix", "partner_name"),
        ("street", "house_number"),
        ("street", "house_number", "house_number_addition"),
        ("postcode",),
        ("patient_id",),
        ("mrn",),
        ("bsn",),
        ("phone",),
        ("email",),
    }
)
#: Shortest number a number variable's value must be to count alone (0601's patient number).
MIN_NUMBER = 6
#: Variable types whose values are numbers.
NUMBER_TYPES = frozenset({"integer", "decimal"})
#: How many records a refusal names (file and line) for the engineer to find them.
SHOWN_ROWS = 3

#: The kind a listed word (``not_names``, decision 0910) is no longer compared as.
NAME = "a name"
#: Kinds whose values repeat across patients (a few thousand names and streets for a
#: million patients): normalised per distinct value. Numbers are mostly distinct.
REPEATING = frozenset({"a name", "an address"})


@dataclass(frozen=True)
class OwnIdentifierColumn:
    """How many records of one variable hold their own patient's identifier of one kind."""

    dataset: str
    variable: str
    kind: str
    matches: int
    compared: int
    #: Of ``matches``, the records whose value names the patient alone (0880).
    alone: int = 0
    #: Where the first of those records are (file and line), for the message.
    rows: tuple[str, ...] = field(default=(), compare=False)

    @property
    def blocks(self) -> bool:
        """Whether the delivery is refused: an identity column, or a record naming its
        patient alone (decision 0880); else a coincidence (a given name, a street)."""
        return self.alone > 0 or (
            self.matches > 0 and self.matches >= BLOCKING_SHARE * self.compared
        )


def normal_forms(texts: pa.Array) -> pa.Array:
    """Each text in the normal form compared (null where it is shorter than :data:`SHORTEST`).

    Only texts holding something other than letters and digits go through the regular
    expression (a million patient numbers are letters and digits already).
    """
    lowered = pc.utf8_lower(texts)
    plain = pc.fill_null(pc.utf8_is_alnum(lowered), True)
    if not pc.all(plain).as_py():
        other = pc.invert(plain)
        cleaned = pc.replace_substring_regex(pc.filter(lowered, other), r"[^\p{L}\p{N}]+", "")
        lowered = pc.replace_with_mask(lowered, other, cleaned)
    digits = pc.fill_null(pc.utf8_is_digit(lowered), False)
    form = pc.if_else(digits, pc.utf8_ltrim(lowered, characters="0"), lowered)
    long_enough = pc.fill_null(pc.greater_equal(pc.utf8_length(form), SHORTEST), False)
    return pc.if_else(long_enough, form, pa.scalar(None, pa.string()))


def repeated_normal_forms(texts: pa.Array) -> pa.Array:
    """:func:`normal_forms`, each distinct text once (a tenth of the time for names)."""
    encoded = pc.dictionary_encode(texts)
    return pc.take(normal_forms(encoded.dictionary), encoded.indices)


def _joined(parts: Sequence[pa.Array]) -> pa.Array:
    """The parts joined with a space, null where the last part is (a prefix may be missing)."""
    if len(parts) == 1:
        return parts[0]
    empty = [pc.fill_null(part, "") for part in parts[:-1]]
    joined = pc.binary_join_element_wise(*empty, parts[-1], " ")
    return pc.if_else(pc.is_valid(parts[-1]), joined, pa.scalar(None, pa.string()))


def _first_word(texts: pa.Array) -> pa.Array:
    return pc.list_element(pc.utf8_split_whitespace(pc.utf8_trim_whitespace(texts)), 0)


class _Patients:
    """The normal forms of each record's own patient's identifiers, per kind, for one dataset.

    Each kind's forms are made once per dataset (not per variable); a variable none
    of whose values is any patient's identifier (codes, measurements: nearly all) is
    passed without comparing record by record.
    """

    def __init__(self, datasets: Mapping[str, ExtractedDataset], name: str) -> None:
        self._datasets = datasets
        self._name = name
        self._fields: dict[str, pa.Array | None] = {}
        self._forms: dict[str, list[tuple[pa.Array, bool]]] = {}

    def _field(self, field: str) -> pa.Array | None:
        if field not in self._fields:
            self._fields[field] = identity_column(self._datasets, self._name, field)
        return self._fields[field]

    def _texts(self, kind: str) -> list[tuple[pa.Array, bool]]:
        """The patient's identifiers of ``kind`` as texts, one array per form, each with
        whether it names the patient alone (:data:`PER_RECORD`)."""
        found = []
        for fields in KINDS[kind]:
            parts = [self._field(field) for field in fields]
            if parts[-1] is None:
                continue
            joined = _joined([part for part in parts if part is not None])
            found.append((joined, fields in PER_RECORD))
        if kind == "a name" and (given := self._field("given_names")) is not None:
            found.append((_first_word(given), False))  # a call name: "Jan" of "Jan Pieter"
        return found

    def forms(self, kind: str) -> list[pa.Array]:
        """The normal forms of the patient's identifiers of ``kind``, one array per form."""
        return [form for form, _ in self.forms_alone(kind)]

    def forms_alone(self, kind: str) -> list[tuple[pa.Array, bool]]:
        """:meth:`forms`, each with whether it names the patient alone (decision 0880)."""
        if kind not in self._forms:
            forms = repeated_normal_forms if kind in REPEATING else normal_forms
            self._forms[kind] = [(forms(texts), alone) for texts, alone in self._texts(kind)]
        return self._forms[kind]

    def any_of(self, kind: str, held: pa.Array) -> bool:
        """Whether any patient has an identifier of ``kind`` among the forms ``held``.

        ``held`` (a variable's distinct forms) is what is hashed: usually a few codes
        or measurements, where the patients' forms are a million.
        """
        return any(pc.any(pc.is_in(form, value_set=held)).as_py() for form in self.forms(kind))


def _value_forms(column: pa.Array, allowed: frozenset[str]) -> pa.Array:
    """Normal forms of a delivered column, null for option-set words; distinct values once."""
    distinct = pc.unique(column)
    if pa.types.is_floating(distinct.type):
        integral = pc.fill_null(pc.equal(pc.floor(distinct), distinct), False)
        whole = pc.if_else(integral, distinct, pa.scalar(None, distinct.type))
        as_int = pc.cast(whole, pa.int64())
        texts = pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(distinct, pa.string()))
    else:
        texts = pc.cast(distinct, pa.string())
    forms = normal_forms(texts)
    if allowed:
        forms = pc.if_else(
            pc.is_in(forms, value_set=pa.array(sorted(allowed), pa.string())),
            pa.scalar(None, pa.string()),
            forms,
        )
    return pc.take(forms, pc.index_in(column, value_set=distinct))


def option_words(dictionary: DataDictionary, variable: Variable) -> frozenset[str]:
    """Normal forms of the codes and labels of the variable's option set."""
    found = dictionary.option_sets.get(variable.option_set) if variable.option_set else None
    if found is None:
        return frozenset()
    words = [o.code for o in found.options] + [o.label for o in found.options]
    return frozenset(v for v in normal_forms(pa.array(words, pa.string())).to_pylist() if v)


def checked_variables(
    dictionary: DataDictionary, name: str, types: frozenset[str] = CHECKED_TYPES
) -> list[Variable]:
    """The dataset's variables of ``types`` that carry a hospital's value: not keys,
    relations or generalised ones (those are ours)."""
    try:
        described = dictionary.dataset(name)
    except KeyError:
        return []
    keyed = set(described.key) | {relation.variable for relation in described.relations}
    return [
        variable
        for variable in described.variables
        if variable.type in types
        and variable.name not in keyed
        and variable.generalised_from is None
    ]


def own_identifier_columns(
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
    not_names: Iterable[str] = (),
) -> list[OwnIdentifierColumn]:
    """Each (variable, kind) with at least one record holding its own patient's identifier;
    ``not_names``: words the registration lists as not names (decision 0910)."""
    return _columns(datasets, dictionary, frozenset(not_names))[0]


def _columns(
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
    listed: frozenset[str],
) -> tuple[list[OwnIdentifierColumn], list[NotNameRecords]]:
    """(each variable and kind found, the records let through only because of ``listed``)."""
    found: list[OwnIdentifierColumn] = []
    cleared: list[NotNameRecords] = []
    words = pa.array(sorted(listed), pa.string())
    for name, dataset in datasets.items():
        if not dataset.num_rows:
            continue
        patients = _Patients(datasets, name)
        for variable in checked_variables(dictionary, name):
            if variable.name not in dataset.clinical.column_names:
                continue
            column = dataset.clinical.column(variable.name).combine_chunks()
            values = _value_forms(column, option_words(dictionary, variable))
            if values.null_count == len(values):
                continue
            held = pc.unique(pc.drop_null(values))
            countable = _countable_alone(values, variable)
            for kind in KINDS:
                if not patients.any_of(kind, held):  # nearly every variable: no pass per record
                    continue
                compared = values
                if kind == NAME and listed:
                    compared, passed = _without_listed(values, words, patients, countable)
                    if passed:
                        cleared.append(NotNameRecords(name, variable.name, passed))
                column_found = _compared(compared, patients.forms_alone(kind), countable)
                if column_found is None:
                    continue
                matches, count, alone = column_found
                rows = pc.filter(dataset.row_refs, alone).slice(0, SHOWN_ROWS).to_pylist()
                found.append(
                    OwnIdentifierColumn(
                        name,
                        variable.name,
                        kind,
                        matches,
                        count,
                        count_true(alone),
                        tuple(shown_text(str(row)) for row in rows),
                    )
                )
    return found, cleared


def _without_listed(
    values: pa.Array, words: pa.Array, patients: _Patients, countable: pa.Array
) -> tuple[pa.Array, dict[str, int]]:
    """(``values`` with the listed words nulled, records per listed word that would have
    named their patient alone: let through only because of the list)."""
    listed = pc.fill_null(pc.is_in(values, value_set=words), False)
    if not pc.any(listed).as_py():
        return values, {}
    nothing = pa.scalar(None, pa.string())
    only = _compared(pc.if_else(listed, values, nothing), patients.forms_alone(NAME), countable)
    passed: dict[str, int] = {}
    if only is not None:
        for item in pc.value_counts(pc.filter(values, only[2])).to_pylist():
            passed[str(item["values"])] = int(item["counts"])
    return pc.if_else(listed, nothing, values), passed


def _countable_alone(values: pa.Array, variable: Variable) -> pa.Array:
    """Which records' values may count alone: any, but a number variable's only with at
    least :data:`MIN_NUMBER` digits (decision 0880)."""
    if variable.type not in NUMBER_TYPES:
        return pc.is_valid(values)
    return pc.fill_null(pc.greater_equal(pc.utf8_length(values), MIN_NUMBER), False)


def _compared(
    values: pa.Array, forms: list[tuple[pa.Array, bool]], countable: pa.Array
) -> tuple[int, int, pa.Array] | None:
    """(records matching, records compared, mask of records naming the patient alone) of
    one kind, or None when no record holds its own patient's identifier of it."""
    same = pa.array(np.zeros(len(values), dtype=bool))
    alone = same
    known = same
    for form, names_alone in forms:
        equal = pc.fill_null(pc.equal(values, form), False)
        same = pc.or_(same, equal)
        if names_alone:
            alone = pc.or_(alone, equal)
        known = pc.or_(known, pc.is_valid(form))
    matches = count_true(same)
    if not matches:
        return None
    compared = count_true(pc.and_(pc.is_valid(values), known))
    return matches, compared, pc.and_(alone, countable)


def refuse_own_identifier_columns(
    registration_id: str,
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
    not_names: Iterable[str] = (),
) -> list[NotNameRecords]:
    """Raise :class:`IdentifierInDelivery` (exit 2) when a variable is an identity column.

    Called before the delivery files are written, so a refused delivery leaves nothing
    behind. The message names dataset, variable, kind and counts, never a value.
    Returns, when the run goes on, the records let through only because the
    registration lists their value under ``not_names`` (decision 0910).
    """
    columns, cleared = _columns(datasets, dictionary, frozenset(not_names))
    for column in columns:
        if not column.blocks:
            log.info(
                "%s.%s: %d of %d record(s) hold their own patient's identifier (%s) "
                "(fewer than an identity column would, none naming the patient alone; "
                "delivered)",
                column.dataset,
                column.variable,
                column.matches,
                column.compared,
                column.kind,
            )
    blocking = [c for c in columns if c.blocks]
    if not blocking:
        return cleared
    advice = ""
    if any(c.kind == NAME and c.alone for c in blocking):
        advice = (
            "; a whole value that is a clinical or ordinary word and only by coincidence "
            "the patient's family name: " + HOW_TO_CLEAR.format(registration=registration_id)
        )
    raise IdentifierInDelivery(
        f"registration {registration_id}: delivery blocked, {len(blocking)} variable(s) hold "
        f"their own patient's identifier ({'; '.join(_shown(c) for c in blocking)}): an "
        "identity column (name, address, patient number) mapped to a clinical variable, or "
        "the patient's name or number typed into these records? Identity is never "
        f"delivered; correct the mapping, or the value in the EHR{advice}; nothing was staged"
    )


def _shown(column: OwnIdentifierColumn) -> str:
    """One blocking variable as the message names it: counts and where, never a value."""
    where = f", at {', '.join(column.rows)}" if column.rows else ""
    return (
        f"{column.dataset}.{column.variable}: {column.kind} in {column.matches} of "
        f"{column.compared} record(s){where}"
    )
