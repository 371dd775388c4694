"""Give the people of an output test's delivery the identity values a test needs.

Why: the output guard's tests plant names in notes and need the run's own
identity columns to hold the matching names, given names and initials; the
output tests' deliveries hold two records a person, so the values cycle by
person, not by record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pyarrow as pa

from aanlevering.output.content import DeliveryInput


def with_identity_columns(
    content: DeliveryInput, dataset: str, values: Mapping[str, list[str | None]]
) -> DeliveryInput:
    """``content`` with each named identity column of ``dataset`` cycling through its values.

    Person ``n`` (records ``2n`` and ``2n + 1``) gets ``values[column][n % len]``.
    """
    extracted = content.datasets[dataset]
    identity = extracted.identity
    for name, cycle in values.items():
        column = [cycle[row // 2 % len(cycle)] for row in range(identity.num_rows)]
        position = identity.column_names.index(name)
        identity = identity.set_column(position, name, pa.array(column, pa.string()))
    datasets = {**content.datasets, dataset: replace(extracted, identity=identity)}
    return replace(content, datasets=datasets)
