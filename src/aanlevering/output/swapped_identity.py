"""An identity name column holding the codes of a delivered variable: two columns swapped.

Why: decision 0851 compares each delivered value with the record's own patient's
name. An export that wrote the family names under ``TECHNIEK`` and the techniques
under ``GESLACHTSNAAM`` defeats it: the identity table then holds the codes, the
delivered ``techniek`` the names, and no record's value equals its "name". With
``techniek``'s option-set check a warning, the names reached the output guard, which
found only those equal to some patient's partner name. Names are never codes: when at
least half (0340's share) of a dataset's records have a name (own, partner, given)
that is a code or label of one of the dataset's option-set variables, the run stops
(decision 0853), naming dataset, identity field, variable and counts, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.arrow_counts import count_true
from aanlevering.catalogue.model import DataDictionary
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.birth_dates import BLOCKING_SHARE
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.own_identifiers import option_words, repeated_normal_forms

#: Identity fields that hold a person's name (never a code).
NAME_FIELDS = ("own_name", "partner_name", "given_names")


@dataclass(frozen=True)
class SwappedColumn:
    """An identity name field that holds a variable's codes in ``matches`` of ``named``."""

    dataset: str
    field: str
    variable: str
    matches: int
    named: int


def swapped_columns(
    datasets: Mapping[str, ExtractedDataset], dictionary: DataDictionary
) -> list[SwappedColumn]:
    """Each (name field, option-set variable) where at least half of the names are codes."""
    found: list[SwappedColumn] = []
    for name, dataset in datasets.items():
        try:
            described = dictionary.dataset(name)
        except KeyError:
            continue
        for field in NAME_FIELDS:
            if field not in dataset.identity.column_names or not dataset.num_rows:
                continue
            texts = pc.cast(dataset.identity.column(field).combine_chunks(), pa.string())
            forms = repeated_normal_forms(texts)
            named = len(forms) - forms.null_count
            if not named:
                continue
            for variable in described.variables:
                words = option_words(dictionary, variable)
                if not words:
                    continue
                hits = pc.is_in(forms, value_set=pa.array(sorted(words), pa.string()))
                matches = count_true(hits)
                if matches and matches >= BLOCKING_SHARE * named:
                    found.append(SwappedColumn(name, field, variable.name, matches, named))
    return found


def refuse_swapped_columns(
    registration_id: str,
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
) -> None:
    """Raise :class:`IdentifierInDelivery` (exit 2) when a name field holds a variable's codes.

    Called before the delivery files are written; the message names dataset, field,
    variable and counts, never a value.
    """
    found = swapped_columns(datasets, dictionary)
    if not found:
        return
    where = "; ".join(
        f"{s.dataset}: identity {s.field} holds codes of {s.variable} in {s.matches} of "
        f"{s.named} record(s)"
        for s in found
    )
    raise IdentifierInDelivery(
        f"registration {registration_id}: delivery blocked, a name column holds the codes of "
        f"a delivered variable ({where}): are two columns of the export swapped, the names "
        "going out under the variable? Correct the export or the mapping; nothing was staged"
    )
