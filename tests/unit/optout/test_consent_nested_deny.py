"""A Consent that permits in general and denies quality registries in a nested provision.

FHIR R4 nests exceptions in ``provision.provision``: "permit, except deny for
registries" is an objection. Skipping it as ``not-an-objection`` (as a plain
permit is) delivered the patient without a word; it is a problem of its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_sources import consent, write_ndjson

from aanlevering.optout.sources import OptOutSourceInvalid
from aanlevering.optout.sources.consent import read_consent_ndjson


def test_a_deny_nested_under_a_permit_is_a_problem_not_a_skip(tmp_path: Path, hash_mrn) -> None:
    nested = consent(
        provision={
            "type": "permit",
            "period": {"start": "2027-01-15"},
            "provision": [{"type": "deny", "period": {"start": "2027-01-15"}}],
        }
    )
    plain_permit = consent(provision={"type": "permit", "period": {"start": "2027-01-15"}})
    path = write_ndjson(tmp_path / "c.ndjson", [plain_permit, nested])

    with pytest.raises(OptOutSourceInvalid, match=r"line 2, provision\.provision: ") as error:
        read_consent_ndjson(path, hash_mrn)
    assert "line 1" not in str(error.value)  # a plain permit is still skipped
