"""Row references in the registry holder's report: a file name naming a patient is withheld.

A row reference is ``<file name>:<line>`` (decision 0066), and the file name
is the hospital's: an export split per patient (``dsaa_operaties_<patient
number>.csv``, matched by the catalogue's glob; a FHIR Bundle per patient
named after the patient) would carry a patient number, BSN or name into the
report that leaves the hospital. So, for ``validation-report.json``/``.html``
only, a referenced file whose name contains an identifier of this run's
patients (patient number, BSN, name, birth date or postcode as the identity
table holds it, compared without separators and case) is referred to as
``input file <n> (name withheld)``, ``n`` being its place among the dataset's
input files in name order. Each word of a name counts on its own too: a file
named after the birth name alone ("berg.csv") of a patient whose name column
says "van den Berg" is withheld (decision 1070). The hospital's report and
data docs keep the name.
A name withheld needlessly (a short identifier that happens to occur in it)
costs only convenience; one not withheld would leak (decision 0375).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.model import ExtractedDataset
from aanlevering.shown_names import may_name_a_patient
from aanlevering.validate.results import DatasetResult

#: Identity fields whose values must not appear in a file name of the report.
FIELDS = (
    "patient_id",
    "bsn",
    "mrn",
    "own_name",
    "partner_name",
    "given_names",
    "birth_date",
    "postcode",
)
#: Name fields: each of their words is looked for too, not only the whole value.
NAME_FIELDS = ("own_name", "partner_name", "given_names")
#: Shortest identifier looked for: four characters with a letter (a name), five digits.
MIN_WITH_LETTER = 4
MIN_DIGITS = 5

_REF = re.compile(r"(?P<name>.+?)(?P<at>:(?:\d+|entry\[\d+\]))?")
_NOT_ALNUM = r"[^\p{L}\p{N}]+"


def _compact(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _split(ref: str) -> tuple[str, str]:
    match = _REF.fullmatch(ref)
    if match is None:  # an empty reference
        return ref, ""
    return match["name"], match["at"] or ""


def _pieces(name: str, lengths: Iterable[int]) -> set[str]:
    """Every piece of ``name`` (compacted) as long as some identifier and long enough to be one."""
    compact = _compact(name)
    return {
        piece
        for length in lengths
        for start in range(len(compact) - length + 1)
        if _long_enough(piece := compact[start : start + length])
    }


def _long_enough(piece: str) -> bool:
    has_letter = any(not c.isdigit() for c in piece)
    return len(piece) >= (MIN_WITH_LETTER if has_letter else MIN_DIGITS)


def _identifiers(datasets: Sequence[ExtractedDataset]) -> list[pa.Array]:
    """The run's identity values, lower case without separators, per dataset and field.

    With the forms a file name may hold them in too (decision 0686): a number
    without its leading zeros (``0069386181`` as ``69386181``, as a tool that
    reads it as a number writes it), a birth date both year first and day first,
    and each word of a name (decision 1070).
    """
    arrays = []
    for dataset in datasets:
        for field in FIELDS:
            if field in dataset.identity.column_names:
                column = pc.drop_null(pc.cast(dataset.identity.column(field), pa.string()))
                lowered = pc.utf8_lower(column)
                compact = pc.unique(pc.replace_substring_regex(lowered, _NOT_ALNUM, ""))
                arrays.append(compact)
                arrays.append(_without_leading_zeros(compact))
                if field == "birth_date":
                    arrays.append(_date_orders(pc.unique(column)))
                if field in NAME_FIELDS:
                    arrays.append(_words(lowered))
    return arrays


def _words(names: pa.Array) -> pa.Array:
    """Each word of the names long enough to be looked for (decision 1070).

    A file named after one part of a name ("berg.csv") is as identifying as one
    named after the whole: the name column may hold voorvoegsels in front ("van
    den Berg"), inverted ("Berg, van den"), a double name ("Smit-Jansen") or
    several first names.
    """
    words = pc.list_flatten(pc.split_pattern_regex(names, _NOT_ALNUM))
    long_enough = pc.greater_equal(pc.utf8_length(words), MIN_WITH_LETTER)
    return pc.unique(pc.filter(words, pc.fill_null(long_enough, False)))


def _without_leading_zeros(values: pa.Array) -> pa.Array:
    """The all-digit values that start with a zero, without their zeros (if long enough)."""
    zeros = pc.match_substring_regex(values, f"^0+[0-9]{{{MIN_DIGITS},}}$")
    return pc.utf8_ltrim(pc.filter(values, pc.fill_null(zeros, False)), characters="0")


_YEAR_FIRST = re.compile(r"\s*(\d{4})\D?(\d{1,2})\D?(\d{1,2})")
_DAY_FIRST = re.compile(r"\s*(\d{1,2})\D(\d{1,2})\D(\d{4})")


def _date_orders(births: pa.Array) -> pa.Array:
    """Each birth date as eight digits year first and day first (few distinct values)."""
    forms: set[str] = set()
    for text in births.to_pylist():
        if match := _YEAR_FIRST.match(text):
            year, month, day = match.groups()
        elif match := _DAY_FIRST.match(text):
            day, month, year = match.groups()
        else:
            continue
        month, day = month.zfill(2), day.zfill(2)
        forms.update({f"{year}{month}{day}", f"{day}{month}{year}"})
    return pa.array(sorted(forms), pa.string())


def identifying_names(names: Iterable[str], datasets: Sequence[ExtractedDataset]) -> set[str]:
    """The file names among ``names`` that contain an identifier of a patient of ``datasets``."""
    names = set(names)
    if not names:
        return set()
    identifiers = _identifiers(datasets)
    lengths = {n for a in identifiers for n in pc.unique(pc.utf8_length(a)).to_pylist() if n}
    pieces: dict[str, set[str]] = {}
    for name in names:
        for piece in _pieces(name, lengths):
            pieces.setdefault(piece, set()).add(name)
    if not pieces:
        return set()
    wanted = pa.array(sorted(pieces), pa.string())
    found: set[str] = set()
    for values in identifiers:
        for piece in pc.filter(values, pc.is_in(values, value_set=wanted)).to_pylist():
            found |= pieces[piece]
    return found


def withhold_identifying_names(
    results: Sequence[DatasetResult], datasets: Sequence[ExtractedDataset]
) -> tuple[DatasetResult, ...]:
    """``results`` with each reference to a file whose name identifies a patient withheld."""
    names = {
        _split(ref)[0]
        for result in results
        for check in result.checks
        for ref in check.failing_row_refs
    }
    # The shape rule every message follows (0730), and the run's own identities (0375, 0686).
    withheld = identifying_names(names, datasets) | {n for n in names if may_name_a_patient(n)}
    if not withheld:
        return tuple(results)
    files = {dataset.name: dataset.source_files for dataset in datasets}

    def label(dataset: str, ref: str) -> str:
        name, at = _split(ref)
        if name not in withheld:
            return ref
        ordered = sorted(files.get(dataset, ()))
        place = f" {ordered.index(name) + 1}" if name in ordered else ""
        return f"input file{place} (name withheld){at}"

    return tuple(
        replace(
            result,
            checks=tuple(
                replace(check, failing_row_refs=tuple(label(result.name, r) for r in refs))
                if (refs := check.failing_row_refs)
                else check
                for check in result.checks
            ),
        )
        for result in results
    )
