"""Many hospitals at one reference TTP: each only for its own registrations, all on one source key.

A hospital gets pseudonyms only for the registrations it is configured
for; every request names the source key's version and check value, and a
hospital whose key differs from the one the TTP knows is refused with an
error naming the key, whether the TTP learnt the value from the first
hospital (kept over a restart) or from its configuration.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document
from aanlevering.pseudonym.key_check import SourceKeyCheck, source_key_check
from aanlevering.pseudonym.source_step import SourceKey
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from support.ttp import SOURCE_KEYS, TTPSetup, digest, make_setup

OTHER_KEY = SourceKeyCheck(1, "fedcba9876543210")
TYPE = {"ldtr": "NGG", "nkr-borst": "NGGV", "dica-dsaa": "NGGV"}


@pytest.fixture
def restricted(tmp_path: Path) -> Iterator[TTPSetup]:
    """A TTP where demo-hospital-b delivers only to ldtr, and dica-dsaa's key is configured."""
    setup = make_setup(tmp_path / "ttp", "http://127.0.0.1:9")
    document = read_config_document(setup.config)
    for organisation in document["organisations"]:
        if organisation["id"] == "demo-hospital-b":
            organisation["registrations"] = ["ldtr"]
    for registration in document["registrations"]:
        if registration["id"] == "dica-dsaa":
            registration["source_key_checks"] = {"1": SOURCE_KEYS["dica-dsaa"].check_value}
    write_config_document(setup.config, document)
    setup.start()
    try:
        yield setup
    finally:
        setup.stop()


def _ask(setup: TTPSetup, hospital: str, registration: str, **options: object) -> object:
    return setup.client(hospital).temporary_pseudonyms(
        registration,
        [PseudonymInputs("p", {TYPE[registration]: digest(f"{hospital}-{registration}")})],
        run_id=f"{hospital}-{registration}-{uuid.uuid4().hex[:8]}",
        profile_version="nl-2026.1",
        **options,  # type: ignore[arg-type]
    )


def test_a_hospital_gets_pseudonyms_only_for_its_registrations(restricted: TTPSetup) -> None:
    _ask(restricted, "demo-hospital-b", "ldtr")
    with pytest.raises(TTPRefused) as refused:
        _ask(restricted, "demo-hospital-b", "nkr-borst")
    assert (refused.value.status, refused.value.code) == (403, "registration_not_allowed")
    assert "demo-hospital-b" in str(refused.value) and "nkr-borst" in str(refused.value)


def test_a_hospital_with_another_source_key_is_refused_naming_the_key(
    restricted: TTPSetup,
) -> None:
    # ldtr: learnt from the first hospital that uses it.
    _ask(restricted, "demo-hospital", "ldtr")
    with pytest.raises(TTPRefused) as refused:
        _ask(restricted, "demo-hospital-b", "ldtr", source_key_check=OTHER_KEY)
    assert (refused.value.status, refused.value.code) == (409, "source_key_mismatch")
    message = str(refused.value)
    assert "source key 'ldtr' version 1" in message and OTHER_KEY.check_value in message
    assert "demo-hospital" in message  # whose value the TTP learnt
    # Still known after a restart (kept next to the config).
    restricted.stop()
    restricted.start()
    with pytest.raises(TTPRefused, match="source key 'ldtr' version 1"):
        _ask(restricted, "demo-hospital-b", "ldtr", source_key_check=OTHER_KEY)
    _ask(restricted, "demo-hospital-b", "ldtr")
    # dica-dsaa: configured, so even the first hospital must match it.
    with pytest.raises(TTPRefused, match="from the TTP's configuration"):
        _ask(restricted, "demo-hospital", "dica-dsaa", source_key_check=OTHER_KEY)
    _ask(restricted, "demo-hospital", "dica-dsaa")


def test_a_new_key_version_is_learnt_on_its_own(restricted: TTPSetup) -> None:
    """Rotation: version 2 of the source key gets its own check value."""
    _ask(restricted, "demo-hospital", "ldtr")
    rotated = SourceKeyCheck(2, "00112233445566aa")
    _ask(restricted, "demo-hospital", "ldtr", source_key_check=rotated)
    _ask(restricted, "demo-hospital-b", "ldtr", source_key_check=rotated)
    with pytest.raises(TTPRefused, match="version 2"):
        _ask(
            restricted, "demo-hospital-b", "ldtr", source_key_check=OTHER_KEY.__class__(2, "0" * 16)
        )


def test_a_source_key_older_than_the_configured_one_is_refused(tmp_path: Path) -> None:
    """No rollback to a superseded source key (decision 1029), in both modes' check."""
    newer = source_key_check(SourceKey("dica-dsaa", 2, bytes(range(64, 128))))
    setup = make_setup(tmp_path / "ttp", "http://127.0.0.1:9")
    document = read_config_document(setup.config)
    for registration in document["registrations"]:
        if registration["id"] == "dica-dsaa":
            registration["source_key_checks"] = {
                "1": SOURCE_KEYS["dica-dsaa"].check_value,
                "2": newer.check_value,
            }
    write_config_document(setup.config, document)
    setup.start()
    try:
        with pytest.raises(TTPRefused) as refused:
            _ask(setup, "demo-hospital", "dica-dsaa")  # version 1, its check value right
        assert (refused.value.status, refused.value.code) == (409, "source_key_superseded")
        assert "source key 'dica-dsaa' version 1" in str(refused.value)
        assert "version 2" in str(refused.value)
        _ask(setup, "demo-hospital", "dica-dsaa", source_key_check=newer)
        _ask(setup, "demo-hospital", "ldtr")  # other registrations: unchanged
    finally:
        setup.stop()
