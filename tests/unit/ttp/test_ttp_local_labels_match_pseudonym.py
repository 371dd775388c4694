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
from aanlevering.counterparts.ttp.refusal import Refusal
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


def test_delivered_csv_labels_say_definitive_and_the_ttp_key_version(
    tmp_path: Path, keys: tuple[TTPConfig, VersionKeys]
) -> None:
    """The CSV form of the same rule: the label cells follow the TTP's value (decision 0387)."""
    config, ring = keys
    digest = hashlib.sha256(b"NGGV").hexdigest()
    staged = tmp_path / "operaties.csv"
    staged.write_text(
        "pseudoniem_NGGV;pseudoniem_NGGV_sleutelversie;pseudoniem_NGGV_status;asa\r\n"
        f"{digest};{SOURCE_KEY_VERSION};tijdelijk;2\r\n"
        ";;;3\r\n",
        encoding="utf-8",
    )
    mark_pseudonym_inputs(tmp_path, [staged.name])
    out = pseudonymise_file(
        config.registrations[REGISTRATION], ring, "hospital", staged.name, staged.read_bytes()
    )
    header, with_pseudonym, without = (line.split(";") for line in out.data.decode().splitlines())
    assert header == [
        "pseudonym.NGGV",
        "pseudonym.NGGV.key_version",
        "pseudonym.NGGV.status",
        "asa",
    ]
    assert with_pseudonym[0].startswith(f"NGGV:v{ring.version}:")
    assert with_pseudonym[1:] == [str(ring.version), "definitive", "2"]
    assert without == ["", "", "", "3"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("pseudonym_input.NGGV;pseudonym_input.NGGV.colour", "not an input column or one of"),
        ("pseudonym_input.NGGV.status;asa", "label columns for NGGV without its input column"),
    ],
)
def test_csv_label_columns_the_ttp_does_not_know_refuse_the_file(
    tmp_path: Path, keys: tuple[TTPConfig, VersionKeys], header: str, expected: str
) -> None:
    """A label the TTP would pass through unchanged would keep the hospital's word."""
    config, ring = keys
    data = f"{header}\n{hashlib.sha256(b'x').hexdigest()};2\n".encode()
    with pytest.raises(Refusal) as refused:
        pseudonymise_file(config.registrations[REGISTRATION], ring, "hospital", "o.csv", data)
    assert expected in refused.value.message
    assert refused.value.code == "invalid_file"
