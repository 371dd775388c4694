"""Turn the column input of a batch into plain Python lists, one per field.

Batches come as pyarrow tables or arrays (an extract's identity table) or as
Python lists; normalisation works on lists because every value needs Python
string handling anyway. pyarrow is duck-typed (``to_pylist``) so importing
this module does not import pyarrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.identifiers import PERSON_FIELDS


def _as_list(column: Any) -> list[object]:
    if hasattr(column, "to_pylist"):
        return cast(list[object], column.to_pylist())
    return list(column)


def column_lists(columns: Any) -> tuple[dict[str, list[object]], int]:
    """Lists by field name for every :data:`PERSON_FIELDS` name, and the row count.

    Absent fields become lists of ``None``. A pyarrow table may carry other
    columns (they are ignored); an explicit mapping with a key that is not a
    field is a :class:`ConfigError`, since it is most likely a mapping typo.
    Columns of unequal length raise :class:`ConfigError` too.
    """
    if hasattr(columns, "column_names") and hasattr(columns, "column"):
        names = [n for n in columns.column_names if n in PERSON_FIELDS]
        lists = {n: _as_list(columns.column(n)) for n in names}
        num_rows = int(columns.num_rows)
    elif isinstance(columns, Mapping):
        unknown = sorted(set(columns) - set(PERSON_FIELDS))
        if unknown:
            raise ConfigError(
                f"unknown identity column(s) {', '.join(map(str, unknown))}; "
                f"expected field names of PersonIdentifiers: {', '.join(PERSON_FIELDS)}"
            )
        lists = {n: _as_list(c) for n, c in columns.items()}
        lengths = {len(v) for v in lists.values()}
        if len(lengths) > 1:
            raise ConfigError(f"identity columns differ in length: {sorted(lengths)}")
        num_rows = lengths.pop() if lengths else 0
    else:
        raise ConfigError("identity columns must be a pyarrow Table or a mapping of columns")
    empty: list[object] = [None] * num_rows
    return {name: lists.get(name, empty) for name in PERSON_FIELDS}, num_rows
