"""An operator's reason or note holding patient data is refused, nothing recorded (0882).

``abandon-handover --reason``, ``retract --reason`` and ``register decide --note``
went into the append-only event log as typed; only the event guard's BSN test
applied, so a patient number, a birth date or a postcode typed into the reason was
kept for good. Both sides: what is refused (message naming the kind, never the
text, and nothing in the log) and ordinary reasons that still pass.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.support.handover import KEY, PERIOD, REG, append_outbox_handover

from aanlevering.cli.main import main
from aanlevering.deliver.events import DeliveryReceipted, DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import ConfigError
from aanlevering.events.factory import open_event_store
from aanlevering.operator_text import checked_operator_text
from aanlevering.pseudonym.events import HospitalKeyInUse
from aanlevering.settings import load_settings

REFUSED = {
    "patient 0012345 was never uploaded": "a number of five digits or more",
    "mrn 123 4567 not uploaded": "a number of five digits or more",
    "belde 06-12345678 terug": "a number of five digits or more",
    "bsn 1234.56.782": "a number of five digits or more",
    "patient Z12345": "a number of five digits or more",
    "geboren 14-03-1950, bestand kwijt": "a date",
    "geb. 1950-03-14": "a date",
    "geboren 14 maart 1950": "a date",
    "woont 1012 AB, upload mislukt": "a postcode",
    "postcode 1012ab": "a postcode",
    "mail van j.bos@example.nl": "an e-mail address",
    "eerste regel\nBos, tweede regel": "a line break or control character",
}
ALLOWED = [
    "now over https",
    "outbox removed in 2026; registration delivers over HTTPS",
    "files lost on the share, v2 goes over https (ticket 4711)",
    "switched to https on request of DICA, Q1 2026",
]


@pytest.mark.parametrize(("text", "kind"), list(REFUSED.items()))
def test_a_text_with_patient_data_is_refused_naming_the_kind_only(text: str, kind: str) -> None:
    with pytest.raises(ConfigError) as refused:
        checked_operator_text(text, "--reason")
    message = str(refused.value)
    assert f"--reason holds what looks like patient data ({kind}" in message
    assert "nothing recorded" in message
    held = [w.strip(",.()") for w in text.split() if any(c.isdigit() or c in "@" for c in w)]
    assert not [word for word in held if word in message] and "Bos" not in message


@pytest.mark.parametrize("text", ALLOWED)
def test_an_ordinary_reason_passes(text: str) -> None:
    assert checked_operator_text(f"  {text} ", "--reason") == text


def test_an_empty_or_long_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="--reason must say why"):
        checked_operator_text("   ", "--reason")
    assert checked_operator_text(" ", "--note", required=False) == ""
    with pytest.raises(ConfigError, match="201 characters, at most 200"):
        checked_operator_text("x" * 201, "--note")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    monkeypatch.delenv("AANLEVERING_OBLIGATION_RULES", raising=False)
    return tmp_path / "home"


def _handed_over() -> None:
    """Version 1 of dica-dsaa 2026-Q1 placed in an outbox, its upload not confirmed."""
    with open_event_store(load_settings().event_store_url) as store:
        append_outbox_handover(store)


def _event_log_text() -> str:
    """Every payload and metadata of the event log, as stored."""
    url = load_settings().event_store_url
    path = url.removeprefix("sqlite:///")
    if not Path(path).exists():
        return ""  # nothing was ever recorded
    with sqlite3.connect(path) as connection:
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return "\n".join(
            str(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')
        )


def test_abandon_handover_with_an_mrn_in_the_reason_records_nothing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _handed_over()
    reason = "patient Bos 0012345 (14-03-1950) not uploaded"
    argv = ["abandon-handover", "--registration", REG, "--period", PERIOD, "--version", "1"]
    code = main([*argv, "--reason", reason])
    out, err = capsys.readouterr()
    assert code != 0
    assert "--reason holds what looks like patient data" in err and "0012345" not in err + out
    assert "0012345" not in _event_log_text() and "14-03-1950" not in _event_log_text()
    with open_event_store(load_settings().event_store_url) as store:
        (entry,) = load_ledger(store).versions(REG, PERIOD)
        assert entry.status != "abandoned" and entry.awaiting_upload
    assert main([*argv, "--reason", "now over https"]) == 0  # an ordinary reason is kept
    assert "now over https" in _event_log_text()


def test_retract_and_register_decide_refuse_patient_data_before_anything(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["retract", "--registration", REG, "--period", PERIOD, "--reason", "mw Bos, 1012 AB"]
    )
    _, err = capsys.readouterr()
    assert code != 0 and "--reason holds what looks like patient data (a postcode" in err
    decide = ["register", "decide", "--registration", REG, "--decision", "included"]
    decide += ["--decided-on", "2026-03-01", "--term-years", "5"]
    code = main([*decide, "--note", "besproken met patient 7654321"])
    _, err = capsys.readouterr()
    assert code != 0 and "--note holds what looks like patient data" in err
    assert "7654321" not in err and "7654321" not in _event_log_text()
    assert main([*decide, "--note", "VWS letter of March"]) == 0


@pytest.mark.parametrize("command", ["confirm-upload", "abandon-handover"])
def test_a_hand_over_command_on_another_hospitals_log_records_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """The log's keys are another provider's (decision 0452): its outbox version is not this
    hospital's to confirm or abandon (retract and register already refused; 0883)."""
    _handed_over()
    with open_event_store(load_settings().event_store_url) as store:
        key = HospitalKeyInUse(provider_id="other-hospital", key_name="x", check_value="c")
        store.append("keys-test", [key], None)
    argv = [command, "--registration", REG, "--period", PERIOD, "--version", "1"]
    extra = ["--reason", "now over https"] if command == "abandon-handover" else []
    code = main([*argv, *extra])
    _, err = capsys.readouterr()
    assert code != 0 and "this event log belongs to provider other-hospital" in err
    with open_event_store(load_settings().event_store_url) as store:
        (entry,) = load_ledger(store).versions(REG, PERIOD)
        assert entry.awaiting_upload and entry.status == "receipted"


def test_an_abandoned_retraction_says_to_retract_again_not_to_run(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """v1 uploaded and confirmed; its retraction v2 placed in the outbox, never uploaded.
    Abandoning v2 printed "`aanlevering run ...` delivers the period as v3": followed, it
    sends the data the hospital meant to withdraw again. It must say v1 is still held
    and that ``retract`` withdraws it (decision 0884)."""
    _handed_over()
    argv = ["--registration", REG, "--period", PERIOD]
    assert main(["confirm-upload", *argv, "--version", "1", "--received-on", "2026-04-11"]) == 0
    key = "h.dica-dsaa.2026-Q1.v2"
    common = {"registration": REG, "period": PERIOD, "idempotency_key": key, "version": 2}
    with open_event_store(load_settings().event_store_url) as store:
        store.append(
            delivery_stream(REG, PERIOD),
            [
                DeliveryStaged(
                    **common, channel="outbox", format="csv", kind="retraction", supersedes=KEY
                ),
                DeliveryReceipted(
                    **common,
                    receipt_id="r-outbox-2",
                    receiver="outbox:/srv/outbox",
                    channel="outbox",
                    received_at="2026-05-10T10:00:00+00:00",
                ),
            ],
            None,
        )
    capsys.readouterr()
    code = main(["abandon-handover", *argv, "--version", "2", "--reason", "outbox removed"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "aanlevering run" not in out and "delivers the period" not in out
    assert "retraction" in out and "v1" in out and "aanlevering retract" in out
