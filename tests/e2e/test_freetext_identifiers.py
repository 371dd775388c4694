"""A free-text column that names, addresses, phones or mails a patient stops the run (CLI).

Decisions 0410 and 0411: the export's given names, street, phone and e-mail
are mapped as identity (never delivered) so the output guard can search the
delivery for them. A free-text variable carrying each kind stops the run with
exit 2 before anything is staged or sent, naming file, variable, kind and
count but no value; common words and a lone given name in the same free text
do not stop a legal delivery. A module of its own: the delivering run must not
share a ledger with the blocking tests of test_run_pipeline.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from test_run_pipeline import _rewrite_operaties, _run_cli_on, _with_free_text

from aanlevering.deliver.events import record_keys_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.optout.events import contents_stream
from conftest import CATALOGUE, World

GUARD_ONLY = "          VOORNAMEN: given_names\n          STRAAT: street\n" + (
    "          TELEFOON: phone\n          EMAIL: email\n"
)


def _catalogue(tmp_path: Path) -> Path:
    """The DSAA catalogue with a free-text ``opmerking`` and the guard-only identity columns."""
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    _with_free_text(catalogue)
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    text = registration.read_text(encoding="utf-8")
    anchor = "          HUISNUMMERTOEVOEGING: house_number_addition\n"
    assert anchor in text
    registration.write_text(text.replace(anchor, anchor + GUARD_ONLY, 1), encoding="utf-8")
    return catalogue


def _person(row: dict[str, str]) -> None:
    """Given name, street, phone and e-mail of the row's patient, as an EHR exports them."""
    number = int(re.sub(r"\D", "", row["PATIENTNUMMER"]) or "0") % 10**8
    row["VOORNAMEN"] = "Anna"
    row["STRAAT"] = "Dorpsstraat"
    row["HUISNUMMER"] = row.get("HUISNUMMER") or str(1 + number % 300)
    row["TELEFOON"] = f"06-{number:08d}"
    row["EMAIL"] = f"anna.p{number}@example.nl"


def _planted_texts(row: dict[str, str], index: int) -> str:
    """One kind of identifier of the row's own patient per row, in four rotating spellings."""
    number = int(re.sub(r"\D", "", row["PATIENTNUMMER"]) or "0") % 10**8
    name = " ".join(p for p in (row.get("VOORVOEGSELS"), row["GESLACHTSNAAM"]) if p)
    digits = f"{number:08d}"
    return [
        f"gesproken met mw. Anna {name} over de uitslag",
        f"thuiszorg op Dorpsstraat {row['HUISNUMMER']}, bellen bij opname",
        f"bereikbaar op +31 6 {digits[:4]} {digits[4:]} na 17u",
        f"uitslag gemaild naar ANNA.P{number}@EXAMPLE.NL",
    ][index % 4]


def test_a_free_text_variable_with_each_kind_of_identifier_stops_the_run(
    world: World, tmp_path: Path
) -> None:
    catalogue = _catalogue(tmp_path)
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    planted: list[str] = []
    counter = iter(range(10**9))

    def plant(row: dict[str, str]) -> None:
        _person(row)
        row["OPMERKING"] = _planted_texts(row, next(counter))
        number = int(re.sub(r"\D", "", row["PATIENTNUMMER"]) or "0") % 10**8
        digits = f"{number:08d}"
        planted.extend([row["GESLACHTSNAAM"], digits[:4] + " " + digits[4:], digits])
        planted.extend([f"anna.p{number}", row["TELEFOON"], f"Dorpsstraat {row['HUISNUMMER']}"])

    _rewrite_operaties(source, plant)
    result = _run_cli_on(world, catalogue, source)
    assert result.returncode == 2, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "delivery blocked" in output
    for kind in ("a name", "a street and house number", "a phone number", "an e-mail address"):
        assert re.search(rf"file operatie\.csv, column opmerking: {kind} in \d+ value\(s\)", output)
    shown = [v for v in set(planted) if re.search(rf"\b{re.escape(v)}\b", output, re.IGNORECASE)]
    assert not shown
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    assert not list(staged.rglob("*.csv")) if staged.exists() else True
    assert not list((world.holder.home / "storage").rglob("*operatie*"))  # nothing was sent
    with world.store() as store:
        assert load_ledger(store).versions("dica-dsaa", "2026-Q4") == []
        # Nothing was staged, so nothing is recorded of version 1 either: the next run's
        # version 1 (other patients, other records) must not find this run's contents and
        # record digests in its streams and keep them as its own (decision 0598).
        assert store.read_stream(contents_stream("dica-dsaa", "2026-Q4", 1)) == []
        assert store.read_stream(record_keys_stream("dica-dsaa", "2026-Q4", 1)) == []


def test_common_words_and_a_lone_given_name_in_free_text_do_not_stop_the_run(
    world: World, tmp_path: Path
) -> None:
    """Patients named Klein and Groot, all called Anna: "klein", "groot", "Anna-score" pass."""
    catalogue = _catalogue(tmp_path)
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    counter = iter(range(10**9))

    def common(row: dict[str, str]) -> None:
        _person(row)
        index = next(counter)
        row["VOORVOEGSELS"] = "de" if index % 2 else ""
        row["GESLACHTSNAAM"] = "Klein" if index % 2 else "Groot"
        row["OPMERKING"] = "klein hematoom, groot herstel; Anna-score 3, post-operatief goed"

    _rewrite_operaties(source, common)
    result = _run_cli_on(world, catalogue, source)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "delivery blocked" not in result.stdout + result.stderr
    with world.store() as store:
        assert len(load_ledger(store).versions("dica-dsaa", "2026-Q4")) == 1
