"""A request id the TTP served stays bound to its request across a restart (decision 1026).

Against the real TTP process over HTTP: a request id reused with another body
is refused with 409, also after the TTP was stopped and started again (its
answers were in memory only, so it used to serve the other body as new); the
same body is served again, with the same pseudonyms. The ledger on disk holds
request ids and hashes, never a digest or ciphertext.
"""

from __future__ import annotations

import stat
from typing import Any

import requests

from support.ttp import SOURCE_KEY_JSON, Hospital, TTPSetup, digest

TEMPORARY = "/pseudonyms/temporary"


def _body(request_id: str, seed: str, mrn: str) -> dict[str, Any]:
    return {
        "registration": "dica-dsaa",
        "request_id": request_id,
        "profile_version": "nl-2026.1",
        "source_key": SOURCE_KEY_JSON,
        "records": [{"ref": "r0", "digests": {"NGGV": digest(seed)}, "mrn_ciphertext": mrn}],
    }


def _post(ttp: TTPSetup, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        ttp.url + TEMPORARY, json=body, headers=ttp.headers("demo-hospital"), timeout=10
    )


def test_a_reused_request_id_is_refused_after_a_restart(
    fresh_ttp: TTPSetup, hospital_a: Hospital
) -> None:
    ttp = fresh_ttp
    mrn = hospital_a.mrn_ciphertext("RESTART-1")
    first = _body("restart:dica-dsaa:temporary:00000", "NGGV|restart-a", mrn)
    other = _body("restart:dica-dsaa:temporary:00000", "NGGV|restart-b", mrn)
    ttp.start()
    served = _post(ttp, first)
    assert served.status_code == 200, served.text
    assert _post(ttp, other).status_code == 409  # while the answer is in memory
    ttp.stop()

    ttp.start()
    refused = _post(ttp, other)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"]["code"] == "request_id_reused"
    again = _post(ttp, first)
    assert again.status_code == 200, again.text
    assert again.json()["records"] == served.json()["records"]
    assert _post(ttp, _body("restart:new", "NGGV|restart-b", mrn)).status_code == 200

    ledger = ttp.folder / "request-ids.jsonl"
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    text = ledger.read_text()
    assert "restart:dica-dsaa:temporary:00000" in text
    assert digest("NGGV|restart-a") not in text and mrn not in text
