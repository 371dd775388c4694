"""The streaming FHIR reader gives what the store reader gives (decision 0235).

The store reader (every resource held as a dict, paths evaluated on demand)
is the straightforward version; the streaming reader must match it exactly:
records, identities, type problems, the kept resources and their texts.
"""

from __future__ import annotations

import gc
import json
import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.demo import DemoOptions, DemoResult, generate_demo_data
from aanlevering.errors import ExtractError
from aanlevering.extract import Extract
from aanlevering.extract.fhir import _Plan, extract_fhir
from aanlevering.extract.fhir_columns import BATCH, PackedTexts, Unsupported
from aanlevering.periods import Period

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "extract"
YEAR = Period.parse("2026")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> DemoResult:
    out = tmp_path_factory.mktemp("stream") / "demo"
    return generate_demo_data(catalogue, DemoOptions(out_dir=out, patients=300, seed=41))


def _both(config: RegistrationConfig) -> RegistrationConfig:
    """The registration delivering resources too, so the kept resources are compared."""
    return replace(
        config, delivery=replace(config.delivery, format="fhir-ndjson", fhir_content="both")
    )


def _same(streamed: Extract, stored: Extract) -> None:
    assert streamed.datasets.keys() == stored.datasets.keys()
    for name, ours in streamed.datasets.items():
        theirs = stored.datasets[name]
        assert ours.row_refs.equals(theirs.row_refs), name
        assert ours.clinical.equals(theirs.clinical), name
        assert ours.identity.equals(theirs.identity), name
        assert ours.type_problems == theirs.type_problems, name
        assert ours.rows_outside_period == theirs.rows_outside_period, name
        assert ours.orphan_row_refs == theirs.orphan_row_refs, name
        assert ours.source_files == theirs.source_files, name
    assert streamed.source_resources is not None and stored.source_resources is not None
    assert streamed.source_resources.equals(stored.source_resources)


@pytest.mark.parametrize("fmt", ["fhir-bulk", "fhir-bundles"])
@pytest.mark.parametrize("registration_id", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_streamed_extract_equals_the_store_reader_on_demo_exports(
    demo: DemoResult, catalogue: Catalogue, registration_id: str, fmt: str
) -> None:
    plan = _Plan.of(_both(catalogue.get(registration_id)), None)
    folder = demo.out_dir / fmt / registration_id
    streamed = plan.streamed(folder, YEAR)
    _same(streamed, plan.stored(folder, YEAR))
    assert sum(d.num_rows for d in streamed.datasets.values()) > 100
    assert streamed.source_resources is not None and streamed.source_resources.num_rows > 300


def test_streamed_extract_equals_the_store_reader_on_duplicates_and_odd_references(
    tmp_path: Path, demo: DemoResult, catalogue: Catalogue
) -> None:
    """A resource twice (first copy wins), absolute and urn:uuid references, _history."""
    source = demo.out_dir / "fhir-bulk" / "dica-dsaa"
    target = tmp_path / "export"
    target.mkdir()
    for path in source.glob("*.ndjson"):
        lines = path.read_text(encoding="utf-8").splitlines()
        changed = []
        for number, line in enumerate(lines):
            resource = json.loads(line)
            if path.name.startswith("Procedure") and number % 3 == 0:
                subject = resource["subject"]["reference"]
                resource["subject"]["reference"] = "https://ehr.example/fhir/" + subject
            if path.name.startswith("Observation") and number % 4 == 1 and "partOf" in resource:
                resource["partOf"][0]["reference"] += "/_history/2"
            if path.name.startswith("Condition") and number % 5 == 2:
                resource["subject"]["reference"] = (
                    "urn:uuid:" + resource["subject"]["reference"].split("/")[-1]
                )
            changed.append(json.dumps(resource))
        if path.name.startswith("Observation"):
            changed.extend(changed[:7])  # copies: ignored, the first one read is used
        (target / path.name).write_text("\n".join(changed) + "\n", encoding="utf-8")
    plan = _Plan.of(_both(catalogue.get("dica-dsaa")), None)
    _same(plan.streamed(target, YEAR), plan.stored(target, YEAR))


@pytest.mark.parametrize("registration_id,period", [("ldtr", "2026-03"), ("nkr-borst", "2026")])
def test_streamed_extract_equals_the_store_reader_on_the_nl_fixtures(
    catalogue: Catalogue, registration_id: str, period: str
) -> None:
    plan = _Plan.of(_both(catalogue.get(registration_id)), None)
    folder = FIXTURES / "fhir-nl"
    try:
        stored = plan.stored(folder, Period.parse(period))
    except ExtractError as error:
        with pytest.raises(ExtractError) as streamed_error:
            plan.streamed(folder, Period.parse(period))
        assert str(streamed_error.value) == str(error)
        return
    _same(plan.streamed(folder, Period.parse(period)), stored)


def test_a_nested_resolve_is_read_by_the_store_reader() -> None:
    """``encounter.resolve().serviceProvider.resolve().name``: outside the streamed subset."""
    catalogue = load_catalogue(FIXTURES / "synthea" / "catalogue")
    config = catalogue.get("synthea-test")
    plan = _Plan.of(config, None)
    export = FIXTURES / "synthea" / "export"
    with pytest.raises(Unsupported):
        plan.streamed(export, YEAR)
    result = extract_fhir(config, export, YEAR)
    stored = plan.stored(export, YEAR)
    for name, dataset in result.datasets.items():
        assert dataset.clinical.equals(stored.datasets[name].clinical)


@pytest.mark.parametrize("window", [64 << 20, 4_000, 1])
def test_kept_texts_on_disk_taken_back_equal_a_plain_take(window: int, tmp_path: Path) -> None:
    """Texts written to the file while reading, taken back a window at a time, equal Arrow's take.

    Decision 0310: any order, repeats, windows of one text or a few; the file is private.
    """
    rng = np.random.default_rng(7)
    words = ["", "é", '{"a":1}', "x" * 300, "ß" * 40]
    plain = [words[i % 5] + str(i) * int(rng.integers(0, 5)) for i in range(3 * BATCH + 17)]
    packed = PackedTexts(tmp_path / "work")
    for row, text in enumerate(plain):
        packed.add((row * 2, text))
    assert packed.text_rows().tolist() == [row * 2 for row in range(len(plain))]
    file, sizes = packed.close()
    assert stat.S_IMODE(file.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "work").stat().st_mode) == 0o700
    assert sizes.tolist() == [len(text.encode()) for text in plain]
    positions = np.concatenate([rng.integers(0, len(plain), 5_000), np.arange(len(plain))])
    windows = list(file.take(positions, sizes[positions], window))
    taken = [text for texts in windows for text in texts.to_pylist()]
    assert taken == pa.array(plain, pa.string()).take(pa.array(positions)).to_pylist()
    assert all(texts.nbytes <= max(window, 700) + 8 * len(texts) + 8 for texts in windows)
    assert list(file.take(np.empty(0, np.int64), np.empty(0, np.int64))) == []


def test_kept_texts_of_an_extract_outside_a_run_go_when_it_goes() -> None:
    """Without a work folder the texts get a private temporary one, removed with the extract."""
    packed = PackedTexts()
    packed.add((0, '{"id":"a"}'))
    file, _ = packed.close()
    folder = file.path.parent
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    del file, packed
    gc.collect()
    assert not folder.exists()

    unfinished = PackedTexts()  # a read that fails half-way leaves nothing either
    unfinished.add((0, '{"id":"b"}'))
    unfinished.flush()
    folder = unfinished.writer.folder
    assert folder.is_dir()
    del unfinished
    gc.collect()
    assert not folder.exists()
