"""The assembler keeps whom a linked resource names as a row, not as texts (decision 0580).

The streaming reader notes a related resource's and a chain target's ``subject``
and ``patient`` reference texts (decision 0570). The assembler turns them into the
named Patient's row once, before any dataset is built, and lets the texts go:
they were the largest columns held at the extract's peak. Pinned against the
straightforward version, :func:`named_patients` on the texts as read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_columns import Builder
from aanlevering.extract.fhir_patient_links import NAMES_UNKNOWN, named_patients
from aanlevering.extract.fhir_stream import Assembler, StreamedInput, read_input

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


def _export(tmp: pytest.TempPathFactory, catalogue: Catalogue, registration: str) -> Path:
    out = tmp.mktemp(registration) / "demo"
    options = DemoOptions(out_dir=out, patients=12, seed=11, registrations=(registration,))
    generate_demo_data(catalogue, options)
    return out / "fhir-bulk" / registration


def _streamed(config: RegistrationConfig, folder: Path) -> StreamedInput:
    plan = _Plan.of(config, None)
    specs = [
        plan.builders[d.name].spec(raw_text=d.name == config.period_dataset)
        for d in config.dictionary.datasets
    ]
    return read_input(folder, specs, None, None)


def _texts_named(streamed: StreamedInput, builder: Builder) -> np.ndarray:
    """The straightforward answer: :func:`named_patients` on the reference texts as read."""
    keys = streamed.keys
    is_patient = np.asarray([kind == "Patient" for kind in keys.type.to_pylist()], dtype=bool)
    table = builder.table()
    return named_patients(keys, is_patient, [table.column("subject"), table.column("patient")])


def _plant_other_patients(source: Path, target: Path) -> None:
    """A copy with one Observation naming another patient and one naming a Patient not here."""
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    patients = [
        json.loads(line)["id"]
        for line in (target / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    ]
    lines = (target / "Observation.ndjson").read_text(encoding="utf-8").splitlines()
    observations = [json.loads(line) for line in lines]
    first, second = observations[0], observations[1]
    own = first["subject"]["reference"]
    first["subject"] = {
        "reference": next(f"Patient/{p}" for p in patients if f"Patient/{p}" != own)
    }
    second["subject"] = {"reference": "Patient/not-in-this-export"}
    text = "".join(json.dumps(o) + "\n" for o in observations)
    (target / "Observation.ndjson").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("registration", ["ldtr", "dica-dsaa", "nkr-borst"])
def test_the_assembler_holds_the_named_patient_row_equal_to_named_patients_on_the_texts(
    tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue, registration: str
) -> None:
    config = catalogue.get(registration)
    folder = _export(tmp_path_factory, catalogue, registration)
    if registration == "ldtr":
        planted = folder.parent / "planted"
        _plant_other_patients(folder, planted)
        folder = planted
    expected_input = _streamed(config, folder)
    expected = {
        (name, related.variable.name): _texts_named(expected_input, related.rows)
        for name, reader in expected_input.focus.items()
        for related in reader.related
    } | {key: _texts_named(expected_input, t.rows) for key, t in expected_input.targets.items()}
    assert expected, "the registration reads no linked resource: nothing is compared"

    streamed = _streamed(config, folder)
    assembler = Assembler(streamed)
    held = assembler.related_rows | assembler.target_rows
    assert held.keys() == expected.keys()
    for key, table in held.items():
        assert "subject" not in table.column_names and "patient" not in table.column_names, key
        assert table.schema.field("named").type == pa.int64(), key
        named = np.asarray(table.column("named").to_numpy(), dtype=np.int64)
        assert np.array_equal(named, expected[key]), key
    # the reference texts went with the builders that held them
    for reader in streamed.focus.values():
        assert all(related.rows.rows == 0 for related in reader.related)
    assert all(target.rows.rows == 0 for target in streamed.targets.values())
    if registration == "ldtr":
        every = np.concatenate([expected[key] for key in expected])
        assert (every == NAMES_UNKNOWN).any(), "the Patient not in this export names nobody here"
        assert (every >= 0).any(), "the Observations name their own patients"


def test_drain_hands_over_every_row_and_leaves_the_builder_empty() -> None:
    builder = Builder({"row": pa.int64(), "text": pa.string()})
    rows = [(number, f"Patient/{number}") for number in range(5)]
    for row in rows:
        builder.add(row)
    builder.flush()
    builder.add((5, None))
    table = builder.drain()
    assert table.num_rows == 6
    assert list(zip(*table.to_pydict().values(), strict=True)) == [*rows, (5, None)]
    assert builder.rows == 0 and builder.table().num_rows == 0
