"""The pseudonymisation stage against a hostile TTP: a wrong answer stops it, nothing is joined.

``tampering_ttp.py`` sits in front of the real reference TTP and changes one
thing in its otherwise correct answers (decision 0440). The stage must raise
TTPError (exit 2, counts only, no value) before any pseudonym is used, or give
exactly the pseudonyms the honest TTP gives.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.errors import TTPError
from aanlevering.events.sqlite import SqliteEventStore
from aanlevering.pseudonym.service import PseudonymisationOutcome, pseudonymise
from aanlevering.pseudonym.source_step import MrnKey, SourceKey
from aanlevering.pseudonym.ttp.errors import TTPRefused, TTPUnavailable
from support.servers import PYTHON, ServerProcess, running_server
from support.ttp import TTPSetup

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("tampering_ttp.py")
PEOPLE = 40
BSN = "123456782"


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tampering") / "plan.json"


@pytest.fixture(scope="module")
def hostile(ttp: TTPSetup, plan_file: Path) -> Iterator[ServerProcess]:
    plan_file.write_text("{}")
    with running_server(
        [
            *(PYTHON, str(SCRIPT), "--port", "{port}", "--upstream", ttp.url),
            *("--plan-file", str(plan_file)),
        ],
        log_path=plan_file.with_name("tampering.log"),
    ) as server:
        yield server


def _identity() -> pa.Table:
    rows = range(PEOPLE)
    return pa.table(
        {
            "patient_id": [f"H{i:05d}" for i in rows],
            "mrn": [f"M-{i:06d}" for i in rows],
            "bsn": [BSN if i == 0 else None for i in rows],
            "own_prefix": [None for _ in rows],
            "own_name": [f"Naam{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in rows],
            "initials": ["J." for _ in rows],
            "birth_date": [date(1940 + i % 60, 1 + i % 12, 1 + i % 28) for i in rows],
            "sex": ["M" if i % 2 else "V" for i in rows],
            "postcode": [f"{1000 + i}AB" for i in rows],
        }
    )


def run(
    ttp: TTPSetup,
    url: str,
    tmp_path: Path,
    run_id: str,
    batch_size: int = 10,
    **options: Any,
) -> PseudonymisationOutcome:
    client = ttp.client("demo-hospital", batch_size=batch_size, max_retries=0, **options)
    client.transport.base_url = url
    return pseudonymise(
        load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa"),
        "2026",
        _identity(),
        client=client,
        source_key=SourceKey("dica-dsaa", 1, bytes(range(64))),
        mrn_key=MrnKey(1, bytes(64)),
        patient_ref=lambda mrn: "ref",
        store=SqliteEventStore(tmp_path / "events.sqlite"),
        run_id=run_id,
    )


def labels(outcome: PseudonymisationOutcome) -> dict[str, list[Any]]:
    return {str(c.type): c.values.to_pylist() for c in outcome.by_patient.columns}


PLANS = {
    "two people one pseudonym": {"mode": "same", "type": "NGGV", "batch": 1},
    "two people one MRN pseudonym": {"mode": "same", "type": "MRN", "batch": 2},
    "one pseudonym carried into a later batch": {"mode": "carry", "type": "RGG"},
    "the digest echoed back": {"mode": "echo", "type": "NGGV", "batch": 0},
    "a BSN as the payload": {"mode": "value", "type": "NGGV", "value": BSN},
    "a short payload": {"mode": "value", "type": "RGG", "value": "AAAA"},
    "an empty payload": {"mode": "value", "type": "NGGV", "value": ""},
    "the MRN ciphertext echoed": {"mode": "echo", "type": "MRN", "batch": 1},
    "an MRN payload cut short": {"mode": "value", "type": "MRN", "value": "A" * 64},
    "a payload with a character more": {"mode": "value", "type": "NGGV", "value": "A" * 65},
    "another registration": {"mode": "registration", "value": "ldtr"},
    "no batch id": {"mode": "field", "field": "batch_id", "value": None},
    "a definitive payload for a temporary": {"mode": "value", "type": "RGG", "value": "A" * 43},
    "no payload for a row sent": {"mode": "value", "type": "RGG", "value": None},
    "a payload more than rows sent": {"mode": "extra", "type": "MRN", "batch": 3},
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_tampered_answer_stops_the_stage_before_any_pseudonym_is_used(
    ttp: TTPSetup, hostile: ServerProcess, plan_file: Path, tmp_path: Path, name: str
) -> None:
    plan_file.write_text(json.dumps(PLANS[name]))
    run_id = "hostile-" + name.replace(" ", "-")
    with pytest.raises(TTPError) as error:
        run(ttp, hostile.url, tmp_path, run_id)
    message = str(error.value)
    assert message.startswith("TTP answer"), message
    assert BSN not in message and "Naam" not in message and "M-0000" not in message


def test_a_pseudonym_carried_into_another_chunk_stops_the_stage(
    ttp: TTPSetup, hostile: ServerProcess, plan_file: Path, tmp_path: Path
) -> None:
    """Batches of 3: the run's 40 patients are two chunks; batch 10 is the second's first."""
    plan_file.write_text(json.dumps({"mode": "carry", "type": "NGGV", "batch": 10}))
    with pytest.raises(TTPError, match=r"1 NGGV pseudonym.* more than one different input"):
        run(ttp, hostile.url, tmp_path, "hostile-carry-chunks", batch_size=3)


def test_an_untampered_answer_through_the_proxy_is_the_honest_one(
    ttp: TTPSetup, hostile: ServerProcess, plan_file: Path, tmp_path: Path
) -> None:
    plan_file.write_text(json.dumps({"mode": "none"}))
    through = run(ttp, hostile.url, tmp_path / "a", "hostile-none")
    direct = run(ttp, ttp.url, tmp_path / "b", "hostile-direct")
    assert labels(through) == labels(direct)
    assert through.event.patients == PEOPLE


@pytest.mark.parametrize(
    ("plan", "error", "text"),
    [
        ({"mode": "cut"}, TTPError, "not JSON"),
        ({"mode": "error"}, TTPError, "has no payloads"),
        ({"mode": "redirect"}, TTPRefused, "307"),
        ({"mode": "huge", "size": 80 * 1024 * 1024}, TTPError, "longer than 64 MiB"),
    ],
)
def test_a_broken_answer_stops_the_stage(
    ttp: TTPSetup,
    hostile: ServerProcess,
    plan_file: Path,
    tmp_path: Path,
    plan: dict[str, Any],
    error: type[TTPError],
    text: str,
) -> None:
    plan_file.write_text(json.dumps(plan))
    with pytest.raises(error, match=text):
        run(ttp, hostile.url, tmp_path, f"hostile-broken-{plan['mode']}")


def test_an_answer_trickling_in_runs_into_the_timeout(
    ttp: TTPSetup, hostile: ServerProcess, plan_file: Path, tmp_path: Path
) -> None:
    """A byte every 50 ms never trips a read timeout of 1 s; the answer deadline does."""
    plan_file.write_text(json.dumps({"mode": "trickle", "delay": 0.05}))
    started = time.monotonic()
    with pytest.raises(TTPUnavailable, match=r"answer not complete within 2\.0 s"):
        run(ttp, hostile.url, tmp_path, "hostile-trickle", timeout=1.0, answer_timeout=2.0)
    assert time.monotonic() - started < 10
