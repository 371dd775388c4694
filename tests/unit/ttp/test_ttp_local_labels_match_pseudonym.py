"""Local mode: what the registry holder receives says definitive, with the TTP's key version.

In local mode the hospital's staged Patient (and CSV row) carries the source
step's digest, labelled with the *source* key's version and status
"temporary" (``use: temp``), because that is all the hospital knows. The TTP
replaces the digest by a definitive pseudonym of its own key version. Before
decision 0386 it left the labels as they were, so a definitive pseudonym was
delivered as a temporary one, with a key version the TTP did not use.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.counterparts.ttp.config import TTPConfig, load_config
from aanlevering.counterparts.ttp.dataset import pseudonymise_file
from aanlevering.counterparts.ttp.demo_config import DemoRegistration, write_demo_config
from aanlevering.counterparts.ttp.keys import KeyRing, VersionKeys
from aanlevering.deliver.channels.ttp_local import mark_pseudonym_inputs
from aanlevering.fhir.context import DeliveryContext
from aanlevering.fhir.conventions import KEY_VERSION_EXTENSION, STATUS_EXTENSION
from aanlevering.fhir.patient import PatientBuilder
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType

REPO = Path(__file__).resolve().parents[3]
REGISTRATION = "nkr-borst"  # local mode in the example catalogue
SOURCE_KEY_VERSION = 3  # the hospital's source key: not the TTP's key version


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[TTPConfig, VersionKeys]:
    setup = write_demo_config(
        tmp_path_factory.mktemp("ttp"),
        registrations=[DemoRegistration(REGISTRATION, "holder", ("NGGV", "C", "MRN"))],
    )
    config = load_config(setup.config)
    return config, KeyRing(config).active(REGISTRATION)


def _staged_patient(tmp_path: Path) -> Path:
    """The Patient as the hospital stages it in local mode (source-step digests, marked)."""
    context = DeliveryContext.for_registration(
        load_catalogue(REPO / "schemas" / "catalogue").get(REGISTRATION), b"s" * 32
    )
    pseudonyms = PatientPseudonyms(
        "p1",
        tuple(
            Pseudonym(
                t,
                hashlib.sha256(t.value.encode()).hexdigest(),
                SOURCE_KEY_VERSION,
                True,
                "nl-2026.1",
            )
            for t in (PseudonymType.NGGV, PseudonymType.C)
        ),
    )
    path = tmp_path / "patients.ndjson"
    path.write_text(PatientBuilder(context).text(pseudonyms) + "\n", encoding="utf-8")
    mark_pseudonym_inputs(tmp_path, [path.name])
    return path


def _extension(identifier: dict[str, Any], url: str) -> Any:
    (found,) = [e for e in identifier["extension"] if e["url"] == url]
    return next(v for k, v in found.items() if k.startswith("value"))


def test_delivered_patient_labels_say_definitive_and_the_ttp_key_version(
    tmp_path: Path, keys: tuple[TTPConfig, VersionKeys]
) -> None:
    config, ring = keys
    staged = _staged_patient(tmp_path)
    out = pseudonymise_file(
        config.registrations[REGISTRATION], ring, "hospital", staged.name, staged.read_bytes()
    )
    (patient,) = [json.loads(line) for line in out.data.decode().splitlines()]
    identifiers = patient["identifier"]
    assert len(identifiers) == 2
    for identifier in identifiers:
        code = identifier["type"]["coding"][0]["code"]
        assert identifier["value"].startswith(f"{code}:v{ring.version}:")
        assert identifier["system"].endswith(f"/pseudonym/{REGISTRATION}/{code}")
        assert "use" not in identifier
        assert _extension(identifier, STATUS_EXTENSION) == "definitive"
        assert _extension(identifier, KEY_VERSION_EXTENSION) == ring.version
