"""The client refuses TTP answers that do not match what it sent (over real HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.errors import TTPError
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from support.servers import PYTHON, ServerProcess, running_server
from support.ttp import SOURCE_KEY, digest

SCRIPT = Path(__file__).with_name("scripted_ttp.py")
LABEL = "T1:NGGV:v1:" + "A" * 64


@pytest.fixture(scope="module")
def answer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scripted") / "answer.json"


@pytest.fixture(scope="module")
def scripted(answer_file: Path) -> Iterator[ServerProcess]:
    answer_file.write_text("{}")
    with running_server(
        [PYTHON, str(SCRIPT), "--port", "{port}", "--answer-file", str(answer_file)],
        log_path=answer_file.with_name("scripted.log"),
    ) as server:
        yield server


def ask(server: ServerProcess, refs: list[str]) -> None:
    TTPClient(
        server.url, "key", backoff=0.01, source_key_checks={"dica-dsaa": SOURCE_KEY}
    ).temporary_pseudonyms(
        "dica-dsaa",
        [PseudonymInputs(ref, {"NGGV": digest(ref)}) for ref in refs],
        run_id="verify",
        profile_version="nl-2026.1",
    )


def answer(records: list[dict[str, object]], key_version: int = 1) -> str:
    return json.dumps(
        {
            "registration": "dica-dsaa",
            "request_id": "verify:dica-dsaa:temporary:00000",
            "batch_id": "ttp-x",
            "key_version": key_version,
            "record_count": len(records),
            "records": records,
        }
    )


def test_an_answer_missing_records_raises_before_anything_is_used(
    scripted: ServerProcess, answer_file: Path
) -> None:
    answer_file.write_text(answer([{"ref": "a", "pseudonyms": {"NGGV": LABEL}}]))
    with pytest.raises(TTPError, match="incomplete: 1 records for 2 sent, 1 missing") as error:
        ask(scripted, ["a", "b"])
    assert not isinstance(error.value, TTPRefused)


def test_an_answer_with_other_refs_or_types_raises(
    scripted: ServerProcess, answer_file: Path
) -> None:
    answer_file.write_text(answer([{"ref": "zzz", "pseudonyms": {"NGGV": LABEL}}]))
    with pytest.raises(TTPError, match="1 unexpected"):
        ask(scripted, ["a"])
    answer_file.write_text(answer([{"ref": "a", "pseudonyms": {"RGG": "T1:RGG:v1:AAAA"}}]))
    with pytest.raises(TTPError, match=r"has types \['RGG'\], expected \['NGGV'\]"):
        ask(scripted, ["a"])


def test_labels_of_the_wrong_kind_or_version_raise(
    scripted: ServerProcess, answer_file: Path
) -> None:
    answer_file.write_text(answer([{"ref": "a", "pseudonyms": {"NGGV": "NGGV:v1:AAAA"}}]))
    with pytest.raises(TTPError, match="definitive NGGV pseudonym, expected temporary"):
        ask(scripted, ["a"])
    answer_file.write_text(answer([{"ref": "a", "pseudonyms": {"NGGV": LABEL}}], key_version=2))
    with pytest.raises(TTPError, match="key version 1, expected 2"):
        ask(scripted, ["a"])


def test_the_record_form_is_checked_one_to_one_too(
    scripted: ServerProcess, answer_file: Path
) -> None:
    """Decision 0440: the record form's answers get the column form's length and 1:1 checks."""
    other = "T1:NGGV:v1:" + "B" * 64
    answer_file.write_text(answer([{"ref": r, "pseudonyms": {"NGGV": LABEL}} for r in ("a", "b")]))
    with pytest.raises(TTPError, match=r"1 NGGV pseudonym\(s\) of key version 1 were given"):
        ask(scripted, ["a", "b"])
    answer_file.write_text(
        answer(
            [
                {"ref": "a", "pseudonyms": {"NGGV": other}},
                {"ref": "b", "pseudonyms": {"NGGV": "T1:NGGV:v1:" + digest("b")}},
            ]
        )
    )
    with pytest.raises(TTPError, match="1 NGGV payload"):
        ask(scripted, ["a", "b"])
    answer_file.write_text(
        answer(
            [
                {"ref": "a", "pseudonyms": {"NGGV": other}},
                {"ref": "b", "pseudonyms": {"NGGV": "T1:NGGV:v1:123456782"}},
            ]
        )
    )
    with pytest.raises(TTPError, match="wrong length"):
        ask(scripted, ["a", "b"])
