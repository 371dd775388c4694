"""The audit log holds no identifiers, digests or pseudonyms; the published OpenAPI is current."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from aanlevering.counterparts.ttp.openapi import default_path, openapi_text
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs, RecordPseudonyms
from support.servers import PYTHON
from support.ttp import Hospital, TTPSetup, digest

HEX64 = re.compile(r"[0-9a-f]{64}")


def test_audit_log_records_who_did_what_without_any_pseudonym_material(
    ttp: TTPSetup, hospital_a: Hospital
) -> None:
    refs = [f"audit-ref-{i}" for i in range(3)]
    digests = [digest(f"audit-secret-{i}") for i in range(3)]
    mrns = [hospital_a.mrn_ciphertext(f"MRN-audit-{i}") for i in range(3)]
    people = [
        PseudonymInputs(ref, {"NGGV": d, "RGG": digest(f"rgg-{d}")}, m)
        for ref, d, m in zip(refs, digests, mrns, strict=True)
    ]
    temporaries = ttp.client("demo-hospital").temporary_pseudonyms(
        "dica-dsaa", people, run_id="audit", profile_version="nl-2026.1"
    )
    definitive = ttp.client("dica").exchange(
        "dica-dsaa",
        [
            RecordPseudonyms(ref, {t: v for t, v in labels.items() if t != "MRN"})
            for ref, labels in temporaries.pseudonyms.items()
        ],
        run_id="audit-x",
    )
    ttp.client("demo-hospital").reverse_mrn(
        "dica-dsaa", [temporaries.pseudonyms[ref]["MRN"] for ref in refs]
    )
    with pytest.raises(TTPRefused):
        ttp.client("demo-hospital-b").reverse_mrn(
            "dica-dsaa", [temporaries.pseudonyms[refs[0]]["MRN"]]
        )

    log_text = ttp.audit_log.read_text()
    server_log = (ttp.folder / "server.log").read_text()
    secrets = [*refs, *digests, *mrns]
    secrets += [label for labels in temporaries.pseudonyms.values() for label in labels.values()]
    secrets += [label for labels in definitive.pseudonyms.values() for label in labels.values()]
    for value in secrets:
        payload = value.rsplit(":", 1)[-1]
        assert payload not in log_text
        assert payload not in server_log
    entries = [json.loads(line) for line in log_text.splitlines()]
    # The chain's own hashes are 64 hex too; nothing else may be.
    unchained = json.dumps(
        [{k: v for k, v in e.items() if k not in {"hash", "prev"}} for e in entries]
    )
    assert not HEX64.search(unchained)
    assert ttp.api_keys["demo-hospital"] not in log_text

    served = next(e for e in entries if e.get("request_id") == "audit:dica-dsaa:temporary:00000")
    assert served["organisation"] == "demo-hospital" and served["role"] == "hospital"
    assert served["endpoint"] == "/pseudonyms/temporary" and served["outcome"] == "ok"
    assert served["records"] == 3 and served["types"] == {"NGGV": 3, "RGG": 3, "MRN": 3}
    assert served["key_versions"] == [1] and served["registration"] == "dica-dsaa"
    assert served["batch_id"] == temporaries.batches[0].batch_id
    assert "time" in served
    refused = [e for e in entries if e["outcome"] == "refused:mrn_not_yours"]
    assert refused and refused[-1]["organisation"] == "demo-hospital-b"
    assert set().union(*(e.keys() for e in entries)) <= {
        "time", "organisation", "role", "endpoint", "outcome", "status", "registration",
        "request_id", "batch_id", "records", "types", "key_versions", "detail",
        "peer", "credential", "prev", "hash",
    }  # fmt: skip
    assert served["peer"] == "127.0.0.1" and served["credential"] == "api-key"


def test_committed_openapi_matches_the_app() -> None:
    committed = default_path()
    assert committed.exists(), "run: aanlevering ttp openapi"
    assert committed.read_text(encoding="utf-8") == openapi_text(), (
        "schemas/openapi/ttp.openapi.json is stale; run: aanlevering ttp openapi"
    )
    document = json.loads(committed.read_text(encoding="utf-8"))
    assert {
        "/health",
        "/pseudonyms/temporary",
        "/pseudonyms/temporary/columns",
        "/pseudonyms/exchange",
        "/mrn/reverse",
        "/local/deliveries",
        "/audit",
    } == set(document["paths"])
    assert "/admin/faults" not in document["paths"]  # testing-only route stays unpublished
    request = document["paths"]["/pseudonyms/temporary"]["post"]["requestBody"]
    assert request["content"]["application/json"]["schema"]["$ref"].endswith(
        "TemporaryPseudonymRequest"
    )
    assert "PseudonymInputRecord" in document["components"]["schemas"]


def test_openapi_check_command(tmp_path: Path) -> None:
    stale = tmp_path / "ttp.openapi.json"
    stale.write_text("{}\n")
    check = subprocess.run(
        [PYTHON, "-m", "aanlevering.cli.main", "ttp", "openapi", "--out", str(stale), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 1 and "out of date" in check.stderr
    write = subprocess.run(
        [PYTHON, "-m", "aanlevering.cli.main", "ttp", "openapi", "--out", str(stale)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert write.returncode == 0
    assert stale.read_text() == openapi_text()
