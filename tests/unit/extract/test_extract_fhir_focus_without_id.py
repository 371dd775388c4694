"""Both FHIR readers refuse a resource delivery whose record has no resource id (decision 0541).

A delivery of source resources carries each record as its own resource; one
without an id was left out while the record was counted as delivered. The
streaming reader and the store reader (its fallback, decision 0235) stop
with the same error, for records of the period only; a delivery without
resources (``fhir_content: questionnaire``) delivers such records.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.errors import ExtractError
from aanlevering.extract.fhir import _Plan
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[3]
YEAR = Period.parse("2026")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    options = DemoOptions(out_dir=out, patients=12, seed=5, registrations=("nkr-borst",))
    generate_demo_data(catalogue, options)
    return out / "fhir-bulk" / "nkr-borst"


def _without_id(source: Path, target: Path, in_period: bool) -> Path:
    """The export with the first tumour Condition (of the period or not) without its id."""
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    lines = (target / "Condition.ndjson").read_text(encoding="utf-8").splitlines()
    resources = [json.loads(line) for line in lines]
    chosen = next(
        r for r in resources if str(r.get("onsetDateTime", "")).startswith("2026") == in_period
    )
    del chosen["id"]
    text = "".join(json.dumps(r) + "\n" for r in resources)
    (target / "Condition.ndjson").write_text(text, encoding="utf-8")
    return target


def _content(config: RegistrationConfig, content: str) -> RegistrationConfig:
    return replace(config, delivery=replace(config.delivery, fhir_content=content))  # type: ignore[arg-type]


def test_both_readers_refuse_a_record_without_its_resource_id(
    bulk: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    source = _without_id(bulk, tmp_path / "export", in_period=True)
    plan = _Plan.of(catalogue.get("nkr-borst"), None)
    with pytest.raises(ExtractError) as streamed:
        plan.streamed(source, YEAR)
    with pytest.raises(ExtractError) as stored:
        plan.stored(source, YEAR)
    message = str(streamed.value)
    assert message == str(stored.value)
    assert message.startswith("Condition.ndjson:")
    assert "1 Condition resource(s) of the period have no id" in message
    assert "decision 0541" in message


def test_outside_the_period_or_without_resources_it_stops_nothing(
    bulk: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    outside = _without_id(bulk, tmp_path / "outside", in_period=False)
    plan = _Plan.of(catalogue.get("nkr-borst"), None)
    for read in (plan.streamed, plan.stored):
        assert read(outside, YEAR).datasets["tumor"].num_rows > 0
    inside = _without_id(bulk, tmp_path / "inside", in_period=True)
    questionnaire = _Plan.of(_content(catalogue.get("nkr-borst"), "questionnaire"), None)
    for read in (questionnaire.streamed, questionnaire.stored):
        tumours = read(inside, YEAR).datasets["tumor"].clinical
        assert tumours.column("tumor_id").null_count == 1
