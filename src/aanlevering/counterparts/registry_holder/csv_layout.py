"""What a delivered CSV's name and header are, as the product documents them (decision 1006).

Why: a holder that knows a registration's terms (``catalogue_dir``) refuses a
CSV whose name is no dataset of the dictionary or whose header is not the
dataset's columns (decision 0435). Without the terms the reference holder
took any ``<name>.csv`` with any header, so a CSV without the pseudonym
columns, whose records no registry can link to a patient, was receipted. A
real holder without the dictionary still has the manifest and the documented
layout (:mod:`aanlevering.output.csv`): one ``<dataset>.csv`` per dataset
the manifest counts, its header the pseudonym columns of the manifest's
types in order (``pseudoniem_T``, ``pseudoniem_T_sleutelversie``,
``pseudoniem_T_status``), then one named column per variable, each once.
Those are checked here. No header cell is ever echoed: line 1 of a file
that is not what it should be may hold anything (decision 0370); columns
are named by their place.
"""

from __future__ import annotations

import re

from aanlevering.deliver.manifest import Manifest

#: ``<dataset>.csv`` with a dataset name as the data dictionary's schema has it (``identifier``).
_DATASET_FILE = re.compile(r"[a-z][a-z0-9_-]*\.csv")

#: The suffixes of the columns each pseudonym type writes, in order (output.csv).
_PSEUDONYM_SUFFIXES = ("", "_sleutelversie", "_status")


def name_problem(name: str, manifest: Manifest) -> str | None:
    """Why a CSV data file's name is no dataset's file the manifest delivers (None: it is).

    A dataset the manifest's ``record_counts`` does not name is refused even
    without rows: the product counts every dataset it writes, 0 included.
    """
    if not _DATASET_FILE.fullmatch(name):
        return (
            f"{name}: a CSV data file named otherwise than <dataset>.csv (a dataset's name is "
            "lower-case letters, digits, '_' and '-', starting with a letter)"
        )
    return uncounted_problem(name, manifest)


def uncounted_problem(name: str, manifest: Manifest) -> str | None:
    """Why ``<dataset>.csv`` is a file the manifest does not count (None: it counts it).

    Why: the product counts every dataset it writes, 0 included; a file of a
    dataset the manifest does not name is no file of this delivery, with rows
    or without (decisions 1006, 1030).
    """
    if name.removesuffix(".csv") not in manifest.record_counts:
        return (
            f"{name}: a dataset the manifest's record_counts does not name "
            "(a delivery counts the records of every dataset it holds)"
        )
    return None


def pseudonym_columns(types: tuple[str, ...]) -> list[str]:
    """The columns the pseudonym ``types`` lead a delivered CSV's header with, in order."""
    return [f"pseudoniem_{type_}{suffix}" for type_ in types for suffix in _PSEUDONYM_SUFFIXES]


def header_problem(name: str, header: list[str], manifest: Manifest) -> str | None:
    """Why ``header`` is no delivered CSV's header by the manifest alone (None: it may be).

    Checked only without the registration's terms: with them the header must
    be exactly the dataset's columns (decision 0435), which says more.
    """
    if not header:
        return f"{name}: no header line (a delivered CSV starts with its columns' names)"
    seen: dict[str, int] = {}
    for place, column in enumerate(header, start=1):
        if not column:
            return f"{name}: the header is no list of column names (column {place} has no name)"
        if column in seen:
            return (
                f"{name}: the header is no list of column names "
                f"(column {place} repeats column {seen[column]}'s name)"
            )
        seen[column] = place
    leading = pseudonym_columns(manifest.pseudonym_types)
    if header[: len(leading)] == leading:
        return _other_pseudonym_problem(name, header, len(leading))
    *others, last = leading or ["none"]
    said = f"{', '.join(others)} and {last}, in that order" if others else last
    return (
        f"{name}: the header does not start with the pseudonym columns of the manifest's "
        f"pseudonym types ({said}); a delivered CSV holds them first"
    )


#: A pseudonym column of any type, as :mod:`aanlevering.output.csv` names them.
_ANY_PSEUDONYM_COLUMN = re.compile(r"pseudoniem_[A-Za-z]{1,8}(?:_sleutelversie|_status)?")


def _other_pseudonym_problem(name: str, header: list[str], leading: int) -> str | None:
    """A pseudonym column past the manifest's types' own: a type the manifest does not list.

    Why: the leading columns were all that was checked, so a CSV carrying the
    pseudonyms of another type (one the registration may not have approved)
    after them was receipted; the manifest says which types travel (decision
    1033). The column is named by its place, never by its name.
    """
    for place, column in enumerate(header[leading:], start=leading + 1):
        if _ANY_PSEUDONYM_COLUMN.fullmatch(column):
            return (
                f"{name}: column {place} is a pseudonym column of a type the manifest's "
                "pseudonym_types does not list (a delivery carries the pseudonyms of its "
                "listed types only)"
            )
    return None
