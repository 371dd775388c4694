"""Outside demo mode the reference TTP is offered no patient (decision 0710).

docker-compose.yml defaults ``AANLEVERING_TTP_URL`` to the bundled reference TTP. A
production install that never set it sent its patients' digests there and
delivered the reference TTP's pseudonyms to the registry holder. The reference TTP
runs for real here; the hospital's client runs without ``AANLEVERING_DEMO_MODE``.
"""

from __future__ import annotations

import json

import pytest
import requests

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from support.ttp import TTPSetup, digest


def _audited_paths(ttp: TTPSetup) -> list[str]:
    if not ttp.audit_log.exists():
        return []
    lines = ttp.audit_log.read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line).get("endpoint") or json.loads(line)) for line in lines if line]


def test_outside_demo_mode_the_reference_ttp_is_refused_before_a_digest_is_sent(
    fresh_ttp: TTPSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_ttp.start()
    monkeypatch.delenv("AANLEVERING_DEMO_MODE", raising=False)
    client = fresh_ttp.client("demo-hospital")
    record = PseudonymInputs("p", {"NGGV": digest("reference-ttp")})

    with pytest.raises(ConfigError, match="AANLEVERING_DEMO_MODE=yes") as refused:
        client.temporary_pseudonyms(
            "dica-dsaa", [record], run_id="reference", profile_version="nl-2026.1"
        )

    assert "reference" in str(refused.value) and refused.value.exit_code == 2
    # The TTP audits every request to its routes: none reached it.
    assert not any("/pseudonyms" in path for path in _audited_paths(fresh_ttp))


def test_every_answer_of_the_reference_ttp_says_what_it_is(ttp: TTPSetup) -> None:
    health = requests.get(ttp.url + "/health", timeout=5)
    refused = requests.post(ttp.url + "/pseudonyms/temporary", json={}, timeout=5)  # 401
    assert refused.status_code == 401
    assert [a.headers.get("Aanlevering-Reference-Service") for a in (health, refused)] == [
        "ttp",
        "ttp",
    ]


def test_in_demo_mode_the_reference_ttp_answers_as_before(ttp: TTPSetup) -> None:
    record = PseudonymInputs("p", {"NGGV": digest("reference-ttp-demo")})
    answer = ttp.client("demo-hospital").temporary_pseudonyms(
        "dica-dsaa", [record], run_id="reference-demo", profile_version="nl-2026.1"
    )
    assert answer
