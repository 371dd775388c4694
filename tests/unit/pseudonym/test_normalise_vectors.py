"""Golden vectors of profile nl-2026.1: the rules written down as data, per pseudonym type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.pseudonym.identifiers import PERSON_FIELDS, PersonIdentifiers
from aanlevering.pseudonym.normalise import get_profile
from aanlevering.pseudonym_types import PseudonymType

VECTORS = json.loads((Path(__file__).parent / "vectors" / "canonical.json").read_text("utf-8"))
CASES: list[dict[str, Any]] = VECTORS["cases"]


def _types(case: dict[str, Any]) -> list[str]:
    return [*case["expected"], *case.get("failures", {})]


def test_every_pseudonym_type_has_a_golden_vector() -> None:
    covered = {t for case in CASES for t in case["expected"]}
    assert covered == {t.value for t in PseudonymType}


def test_every_type_has_a_failing_vector_or_is_infallible_by_field() -> None:
    failing = {t for case in CASES for t in case.get("failures", {})}
    # each field concern has at least one failing vector somewhere
    fields = {f for case in CASES for fs in case.get("failures", {}).values() for f in fs}
    assert {"bsn", "birth_date", "postcode", "sex", "own_name", "house_number"} <= fields
    assert failing


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_single_person_matches_vector(case: dict[str, Any]) -> None:
    profile = get_profile(VECTORS["profile"])
    result = profile.normalise(PersonIdentifiers.from_mapping(case["person"]), _types(case))

    assert result.profile_version == VECTORS["profile"]
    assert {str(t): v for t, v in result.canonical.items()} == case["expected"]
    failed: dict[str, list[str]] = {}
    for failure in result.failures:
        failed.setdefault(str(failure.type), []).append(failure.field)
    assert failed == case.get("failures", {})


def test_batch_of_all_vectors_matches_row_by_row() -> None:
    """The columnar path (pyarrow table of strings, as the extract delivers) gives the same."""
    profile = get_profile(VECTORS["profile"])
    types = [t.value for t in PseudonymType]
    table = pa.table(
        {
            name: pa.array(
                [None if c["person"].get(name) is None else str(c["person"][name]) for c in CASES],
                pa.string(),
            )
            for name in PERSON_FIELDS
        }
    )
    batch = profile.normalise_columns(table, types)

    assert batch.num_rows == len(CASES)
    for row, case in enumerate(CASES):
        single = profile.normalise(PersonIdentifiers.from_mapping(case["person"]), types)
        for type_ in PseudonymType:
            assert batch.values[type_][row] == single.canonical.get(type_), (case["id"], type_)
        batch_failures = [(f.type, f.field, f.reason) for f in batch.failures if f.row == row]
        assert batch_failures == [(f.type, f.field, f.reason) for f in single.failures]
