"""The committed GX suites are exactly what the dictionaries generate; stale suites are replaced.

If the first test fails, a dictionary (or the generator) changed: run
``aanlevering suites generate`` and commit great_expectations/expectations/.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import Option, OptionSet
from aanlevering.validate.checks import PROVIDER_TYPES
from aanlevering.validate.suites import (
    catalogue_dictionaries,
    fingerprint,
    load_suite_document,
    suite_name,
    sync_suites,
)

REPO = Path(__file__).resolve().parents[3]
GX_DIR = REPO / "great_expectations"
CATALOGUE = load_catalogue(REPO / "schemas" / "catalogue")
DICTIONARIES = catalogue_dictionaries(CATALOGUE)
DSAA = CATALOGUE.get("dica-dsaa").dictionary


def test_committed_suites_equal_freshly_generated_ones() -> None:
    result = sync_suites(DICTIONARIES, GX_DIR, check_only=True)
    assert result.in_sync, (
        f"stale: {result.written}, orphaned: {result.removed}; "
        "run `aanlevering suites generate` and commit great_expectations/"
    )
    expected = {
        suite_name(d, ds.name, p) for d in DICTIONARIES for ds in d.datasets for p in PROVIDER_TYPES
    }
    assert set(result.unchanged) == expected
    files = {p.stem for p in (GX_DIR / "expectations").glob("*.json")}
    assert files == expected


def test_every_expectation_carries_its_dictionary_rule() -> None:
    document = json.loads(
        (GX_DIR / "expectations" / "dsaa-2026_1-operatie-umc.json").read_text(encoding="utf-8")
    )
    assert document["meta"]["fingerprint"] == fingerprint(DSAA, DSAA.dataset("operatie"), "umc")
    assert document["meta"]["dictionary_version"] == "2026.1"
    for expectation in document["expectations"]:
        meta = expectation["meta"]
        assert {"rule_id", "dictionary", "dictionary_version", "variable", "severity"} <= set(meta)
        assert meta["dictionary"] == "dsaa"
        assert expectation["severity"] == ("critical" if meta["severity"] == "error" else "warning")
    kinds = {e["meta"]["kind"] for e in document["expectations"]}
    assert kinds == {
        "columns",
        "key_unique",
        "required",
        "in_set",
        "between",
        "max_length",
        "date_order",
        "required_if",
        "empty_unless",
    }
    companions = {c["kind"] for c in document["meta"]["companion_checks"]}
    assert companions == {"type"}


def test_fingerprint_changes_with_the_dictionary() -> None:
    operatie = DSAA.dataset("operatie")
    assert fingerprint(DSAA, operatie, "umc") == fingerprint(DSAA, operatie, "umc")
    assert fingerprint(DSAA, operatie, "umc") != fingerprint(DSAA, operatie, "zbc")
    urgentie = DSAA.option_sets["urgentie"]
    wider = OptionSet(urgentie.name, (*urgentie.options, Option("4", "spoed")))
    changed = replace(DSAA, option_sets={**DSAA.option_sets, "urgentie": wider})
    assert fingerprint(changed, operatie, "umc") != fingerprint(DSAA, operatie, "umc")
    # an option set the dataset does not use does not matter
    complicatie = DSAA.dataset("complicatie")
    assert fingerprint(changed, complicatie, "umc") == fingerprint(DSAA, complicatie, "umc")


@pytest.fixture
def gx_copy(tmp_path: Path) -> Path:
    target = tmp_path / "great_expectations"
    shutil.copytree(GX_DIR, target, ignore=shutil.ignore_patterns("uncommitted"))
    return target


def test_a_changed_dictionary_regenerates_only_its_suites(gx_copy: Path) -> None:
    urgentie = DSAA.option_sets["urgentie"]
    wider = OptionSet(urgentie.name, (*urgentie.options, Option("4", "spoed")))
    changed = replace(DSAA, option_sets={**DSAA.option_sets, "urgentie": wider})
    others = [d for d in DICTIONARIES if d.id != "dsaa"]
    operatie = changed.dataset("operatie")

    stale = load_suite_document(changed, operatie, "umc", gx_copy)
    assert stale.source == "generated"  # the committed one no longer fits
    current = load_suite_document(DSAA, DSAA.dataset("operatie"), "umc", gx_copy)
    assert current.source == "file-context"

    result = sync_suites([changed, *others], gx_copy)
    assert set(result.written) == {f"dsaa-2026_1-operatie-{p}" for p in PROVIDER_TYPES}
    assert result.removed == ()
    assert load_suite_document(changed, operatie, "umc", gx_copy).source == "file-context"
    stored = json.loads(
        (gx_copy / "expectations" / "dsaa-2026_1-operatie-umc.json").read_text(encoding="utf-8")
    )
    in_set = next(
        e for e in stored["expectations"] if e["meta"]["rule_id"] == "operatie.urgentie.in_set"
    )
    assert in_set["kwargs"]["value_set"] == ["1", "2", "3", "4"]
    assert stored["meta"]["fingerprint"] == fingerprint(changed, operatie, "umc")
    assert sync_suites([changed, *others], gx_copy, check_only=True).in_sync


def test_hand_edits_are_detected_and_orphans_removed_but_own_suites_kept(gx_copy: Path) -> None:
    path = gx_copy / "expectations" / "ltr-2026_1-trauma-zbc.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["expectations"] = document["expectations"][:3]
    path.write_text(json.dumps(document), encoding="utf-8")
    own = gx_copy / "expectations" / "hospital-own-checks.json"
    own.write_text(
        json.dumps({"name": "hospital-own-checks", "expectations": [], "meta": {}}),
        encoding="utf-8",
    )
    trauma = CATALOGUE.get("ldtr").dictionary
    edited = load_suite_document(trauma, trauma.dataset("trauma"), "zbc", gx_copy)
    assert edited.source == "generated"

    only_ltr = [d for d in DICTIONARIES if d.id == "ltr"]
    result = sync_suites(only_ltr, gx_copy)
    assert result.written == ("ltr-2026_1-trauma-zbc",)
    assert len(result.removed) == 9  # dsaa and nkr-borst suites: no dictionary given for them
    assert own.is_file()
    assert not (gx_copy / "expectations" / "dsaa-2026_1-operatie-umc.json").exists()
