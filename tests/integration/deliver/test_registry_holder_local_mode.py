"""A local-mode delivery comes through the TTP, a hospital's own is a web-mode one (a real
holder process with a forwarder key).

In local mode the TTP makes the definitive pseudonyms and forwards the
delivery (``On-Behalf-Of`` the hospital). A hospital committing a
``ttp_mode: local`` delivery itself had its "definitive" pseudonyms made by
no TTP, and the holder receipted them; a forwarder committing a web-mode
delivery forwarded what it did not pseudonymise (decision 1064). A
temporary pseudonym in a forwarded local-mode delivery is still refused
(decision 1037). Nothing of a pseudonym is echoed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.cli.registry_holder import write_demo_config
from aanlevering.deliver.manifest import Manifest
from conftest import PATIENT, RESPONSE, stage  # module level: another conftest may be found
from support.holder_requests import csv_delivery, restaged, send
from support.holder_sending import ndjson_texts, problems_of, send_with
from support.registry_holder import HOSPITAL, RegistryHolder
from support.servers import free_port

_FORWARDER = {"Authorization": "Bearer forwarder-secret", "On-Behalf-Of": HOSPITAL}
_TEMPORARY = "T1:NGG:v1:tmpabc"
_NEVER = (
    "a temporary pseudonym in a 'local'-mode delivery: only a web-mode delivery's temporary "
    "pseudonyms are exchanged for definitive ones"
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    """A holder taking deliveries from the hospital and from the TTP's forwarder key (one per
    test: a delivery one test receipts must not answer another's)."""
    home = tmp_path / "registry-holder"
    forwarding = tmp_path / "forwarding.key"
    forwarding.write_text("forwarder-secret\n")
    forwarding.chmod(0o600)
    write_demo_config(home, HOSPITAL, ["ldtr"], forwarder_key_files={"lnaz": forwarding})
    running = RegistryHolder(home, free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _local(folder: Path, version: int = 1) -> Manifest:
    return replace(stage(folder, version=version), ttp_mode="local")


def test_a_hospitals_own_local_mode_delivery_is_refused(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    answer = send(holder, folder, _local(folder))
    assert answer.status_code == 422, answer.text
    assert "a local-mode delivery comes through the TTP" in answer.json()["detail"]
    assert holder.ledger() == []


def test_a_forwarded_web_mode_delivery_is_refused(holder: RegistryHolder, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    answer = send_with(holder, folder, stage(folder), _FORWARDER)
    assert answer.status_code == 422, answer.text
    assert "a forwarder forwards local-mode deliveries only" in answer.json()["detail"]
    assert holder.ledger() == []


def test_a_temporary_identifier_in_a_forwarded_local_delivery_is_refused(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    identifier = {**PATIENT["identifier"][0], "value": _TEMPORARY}  # type: ignore[index]
    texts = ndjson_texts(
        Patient=({**PATIENT, "identifier": [identifier]},), QuestionnaireResponse=(RESPONSE,)
    )
    manifest = restaged(folder, _local(folder), texts)
    problems = problems_of(send_with(holder, folder, manifest, _FORWARDER))
    assert problems == [f"Patient.ndjson line 1: carries an NGG identifier that is {_NEVER}"]
    assert _TEMPORARY not in json.dumps(problems)


def test_a_temporary_csv_pseudonym_in_a_forwarded_local_delivery_is_refused(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    header = "pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd"
    body = f"{header}\n{_TEMPORARY};1;tijdelijk;61\n".encode()
    manifest = csv_delivery(folder, _local(folder), body, 1)
    problems = problems_of(send_with(holder, folder, manifest, _FORWARDER))
    assert problems == [f"trauma.csv row 2 column 'pseudoniem_NGG': {_NEVER}"]


def test_a_forwarded_local_mode_delivery_is_receipted(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    answer = send_with(holder, folder, _local(folder), _FORWARDER)
    assert answer.status_code == 201, answer.text
    assert [entry["provider"] for entry in holder.ledger()] == [HOSPITAL]
