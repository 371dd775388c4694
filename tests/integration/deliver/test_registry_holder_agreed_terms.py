"""A holder with the terms takes a delivery addressed and normalised as agreed.

A manifest naming another registry holder or another normalisation profile
than the registration's was receipted by a holder that knows the
registration's terms: a delivery the registration never agreed to. Refused
naming the field (decision 1039). The holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import stage  # module level: a later import may find another conftest
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("registry_holder", "iknl", "registry_holder 'iknl' is not registration 'ldtr''s ('lnaz')"),
        (
            "normalisation_profile",
            "nl-2025.1",
            "normalisation_profile 'nl-2025.1' is not registration 'ldtr''s ('nl-2026.1')",
        ),
    ],
)
def test_a_delivery_other_than_agreed_is_refused(
    knowing_holder: RegistryHolder, tmp_path: Path, field: str, value: str, said: str
) -> None:
    manifest = stage(tmp_path / "d", provider=knowing_holder.hospital)
    answer = _send(knowing_holder, tmp_path / "d", replace(manifest, **{field: value}))
    assert answer.status_code == 422, answer.text
    assert json.loads(answer.text)["detail"]["problems"] == [said]
    assert knowing_holder.ledger() == []


def test_the_delivery_as_agreed_is_receipted(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=knowing_holder.hospital)
    assert _send(knowing_holder, tmp_path / "d", manifest).status_code == 201
