"""RecordEncoder joins each record's text once: the same bytes as the step-by-step joins.

The reference below is the encoder as it was before (item columns joined,
then all items, the leading comma cut, the item list wrapped, the empty case
chosen, the record joined: six copies of the text). The one-join encoder
must give exactly its bytes for any pattern of missing values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aanlevering.extract.model import ARROW_TYPES
from aanlevering.fhir.context import DeliveryContext
from aanlevering.output.fhir_records import RecordEncoder
from aanlevering.output.values import fhir_text

SUBJECT = "Patient/11111111-1111-4111-8111-111111111111"
REGISTRATIONS = ("dica-dsaa", "ldtr", "nkr-borst")


def _reference(
    encoder: RecordEncoder, clinical: pa.Table, ids: Sequence[str], subjects: Sequence[str]
) -> list[str]:
    """The step-by-step encoder (before the one join), for text only."""
    rows = clinical.num_rows
    item_columns = []
    for variable, prefix, suffix in encoder._item_parts:
        text = fhir_text(clinical.column(variable.name), variable, encoder.context.timezone)
        item_columns.append(pc.binary_join_element_wise(prefix, text, suffix, ""))
    if item_columns:
        joined = pc.binary_join_element_wise(
            *item_columns, "", null_handling="replace", null_replacement=""
        )
        items = pc.utf8_slice_codeunits(joined, 1)
    else:
        items = pa.nulls(rows, pa.string())
    empty = pc.fill_null(pc.equal(items, ""), True)
    with_items = pc.binary_join_element_wise(encoder._items_open, items, encoder._items_close, "")
    tails = pc.if_else(empty, pa.scalar(encoder._no_items), with_items)
    lines = pc.binary_join_element_wise(
        encoder._open,
        pa.array(ids, pa.string()),
        encoder._after_id,
        pa.array(subjects, pa.string()),
        tails,
        "\n",
        "",
    )
    texts: list[str] = lines.to_pylist()
    return texts


def _sample_value(kind: str, row: int) -> object:
    import datetime as dt

    return {
        "string": f'waarde "{row}" é',
        "code": "1",
        "integer": row * 7 - 3,
        "decimal": row / 4,
        "boolean": row % 2 == 0,
        "date": dt.date(2026, 1, 1 + row % 28),
        "datetime": dt.datetime(2026, 3, 1, row % 24, 5),
    }[kind]


def _table(encoder: RecordEncoder, present: list[list[bool]]) -> pa.Table:
    """One column per variable; ``present[row][k]`` says whether variable k has a value."""
    variables = encoder.dataset.variables
    return pa.table(
        {
            v.name: pa.array(
                [
                    _sample_value(v.type, row) if present[row][k] else None
                    for row in range(len(present))
                ],
                ARROW_TYPES[v.type],
            )
            for k, v in enumerate(variables)
        }
    )


def _check(context: DeliveryContext, dataset: str, present: list[list[bool]]) -> None:
    encoder = RecordEncoder(context, context.dictionary.dataset(dataset))
    table = _table(encoder, present)
    ids = [f"id-{row}" for row in range(len(present))]
    subjects = [SUBJECT] * len(present)
    refs = [f"r{row}" for row in range(len(present))]
    got = encoder.encode(table, ids, subjects, refs, "\n").to_pylist()
    assert got == _reference(encoder, table, ids, subjects)
    arrow_got = encoder.encode(
        table, pa.array(ids, pa.string()), pa.array(subjects, pa.string()), refs, "\n"
    )
    assert arrow_got.to_pylist() == got


@pytest.mark.parametrize("registration", REGISTRATIONS)
@pytest.mark.parametrize(
    "pattern", ["all", "none", "first missing", "only last", "alternating", "one row each"]
)
def test_same_text_as_the_step_by_step_joins(
    context_for: Callable[[str], DeliveryContext], registration: str, pattern: str
) -> None:
    context = context_for(registration)
    for dataset in context.dictionary.datasets:
        width = len(dataset.variables)
        rows = max(width, 3)
        present = {
            "all": [[True] * width for _ in range(rows)],
            "none": [[False] * width for _ in range(rows)],
            "first missing": [[k > 0 for k in range(width)] for _ in range(rows)],
            "only last": [[k == width - 1 for k in range(width)] for _ in range(rows)],
            "alternating": [[(row + k) % 2 == 0 for k in range(width)] for row in range(rows)],
            "one row each": [[k == row for k in range(width)] for row in range(rows)],
        }[pattern]
        _check(context, dataset.name, present)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_same_text_for_random_missing_values(
    context_for: Callable[[str], DeliveryContext], data: st.DataObject
) -> None:
    context = context_for(data.draw(st.sampled_from(REGISTRATIONS)))
    dataset = data.draw(st.sampled_from(context.dictionary.datasets))
    width = len(dataset.variables)
    present = data.draw(
        st.lists(st.lists(st.booleans(), min_size=width, max_size=width), max_size=12)
    )
    _check(context, dataset.name, present)
