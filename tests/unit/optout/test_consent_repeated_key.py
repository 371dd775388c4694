"""A Consent line with a key twice is a problem of its line, not read with the last copy (0801).

``"provision": {deny}, "provision": {permit}`` was read as a permit: the
patient's objection skipped as "not an objection", and the patient delivered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_sources import consent

from aanlevering.optout.sources import OptOutSourceInvalid
from aanlevering.optout.sources.consent import read_consent_ndjson


def test_a_deny_followed_by_a_second_provision_is_refused_naming_line_and_key(
    tmp_path: Path, hash_mrn
) -> None:
    deny = json.dumps(consent(provision={"type": "deny", "period": {"start": "2027-01-15"}}))
    assert deny.endswith("}")
    twice = deny[:-1] + ', "provision": {"type": "permit"}}'
    path = tmp_path / "c.ndjson"
    path.write_text(deny + "\n" + twice + "\n", encoding="utf-8")
    with pytest.raises(OptOutSourceInvalid) as error:
        read_consent_ndjson(path, hash_mrn)
    assert 'line 2: the key "provision" appears twice in one object' in str(error.value)
    assert "line 1" not in str(error.value)
