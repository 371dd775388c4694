"""A resource is delivered once: a second at its address is refused (a real holder process).

The holder counted every QuestionnaireResponse line as a record; the same
response twice (one ``Type/id``) made the counts add up to two records, and
the delivery was receipted, while a FHIR store loading it keeps one. The
hospital's books said two records delivered, the registry held one
(decision 1035). The refusal names file, line and type, never the id.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from conftest import PATIENT, RESPONSE, stage  # module level: a later import may find another
from support.holder_requests import ndjson_lines, restaged
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder


def test_a_response_delivered_twice_is_refused_though_the_counts_add_up(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    texts = {
        "Patient.ndjson": ndjson_lines(PATIENT),
        "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE, RESPONSE),
    }
    manifest = restaged(folder, stage(folder, provider=hospital_holder.hospital), texts)
    manifest = replace(manifest, record_counts={"trauma": 2})
    answer = _send(hospital_holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    assert json.loads(answer.text)["detail"]["problems"] == [
        "QuestionnaireResponse.ndjson line 2: a QuestionnaireResponse at the address "
        "(Type/id or fullUrl) of an earlier resource of the delivery: each resource is "
        "delivered once (a store keeps one of them, the counts counted both)",
        # Counted once, as a store holds it: the manifest's two are one too many.
        "record_counts says 2 record(s) of dataset 'trauma', the files hold 1",
    ]
    assert RESPONSE["id"] not in answer.text
    assert hospital_holder.ledger() == []


def test_two_responses_of_their_own_ids_are_receipted(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    texts = {
        "Patient.ndjson": ndjson_lines(PATIENT),
        "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE, {**RESPONSE, "id": "q-2"}),
    }
    manifest = restaged(folder, stage(folder, provider=hospital_holder.hospital), texts)
    answer = _send(hospital_holder, folder, replace(manifest, record_counts={"trauma": 2}))
    assert answer.status_code == 201, answer.text
