"""A reading worker hands its kept texts over uncompressed; the run's file stays compressed (0500).

The worker's text file is read once, at once, by the reading process, which writes
every text into the run's zstd file: compressing it in the worker was work undone
there. The texts themselves must be the same whichever way they travel (the texts of
a read in parts against one process are pinned in ``test_extract_fhir_parallel``);
here: the hand-over file holds the same texts, uncompressed, and the run's file the
reading process writes is still the compressed one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
from pyarrow import ipc

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.extract import fhir_parallel
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_parts import Part, cut_parts
from aanlevering.extract.fhir_store import input_files, whole_files
from aanlevering.extract.fhir_texts import TextFileWriter
from aanlevering.extract.options import ExtractOptions

#: Texts as kept resources look: the same elements over and over (compress well).
TEXTS = [
    '{"code":{"coding":[{"code":"AAA-EVAR","system":"https://example.org/verrichting"}]},'
    f'"id":"OK-{number:06d}","resourceType":"Procedure","status":"completed"}}'
    for number in range(20_000)
]


def _texts(path: Path) -> list[str]:
    with pa.OSFile(str(path), "rb") as source:
        reader = ipc.open_file(source)
        return [
            text
            for index in range(reader.num_record_batches)
            for text in reader.get_batch(index).column(0).to_pylist()
        ]


def _write(folder: Path, compressed: bool) -> Path:
    writer = TextFileWriter(folder, compressed=compressed)
    for start in range(0, len(TEXTS), 3_000):
        writer.write(pa.array(TEXTS[start : start + 3_000], pa.string()))
    return writer.close().path


def test_the_hand_over_file_holds_the_same_texts_uncompressed(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain", compressed=False)
    packed = _write(tmp_path / "packed", compressed=True)
    assert _texts(plain) == TEXTS
    assert _texts(packed) == TEXTS
    text_bytes = sum(len(text) for text in TEXTS)
    assert plain.stat().st_size > text_bytes  # every text as written: no compression
    assert packed.stat().st_size < text_bytes // 4


def _read(folder: Path, parts: list[Part], plan: _Plan, work: Path) -> list[str]:
    specs = [
        plan.builders[d.name].spec(raw_text=d.name == plan.config.period_dataset)
        for d in plan.config.dictionary.datasets
    ]
    streamed = fhir_parallel.read_parts(
        folder, parts, specs, mrn_system=None, read=plan.read, texts_folder=work
    )
    assert streamed.texts is not None
    file, sizes = streamed.texts.close()
    texts = _texts(file.path)
    assert len(texts) == len(sizes) > 0
    # the run's file is the compressed one
    assert file.path.stat().st_size < sum(len(text.encode()) for text in texts) // 2
    return texts


def test_a_read_in_parts_writes_the_runs_texts_compressed(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """Two workers' uncompressed texts end up in the run's compressed file, in reading order."""
    demo = generate_demo_data(
        catalogue, DemoOptions(out_dir=tmp_path / "demo", patients=200, seed=5)
    )
    config = catalogue.get("dica-dsaa")
    delivery = replace(config.delivery, format="fhir-ndjson", fhir_content="both")
    plan = _Plan.of(replace(config, delivery=delivery), ExtractOptions(read_workers=1))
    folder = demo.out_dir / "fhir-bulk" / "dica-dsaa"
    ndjson, bundles = input_files(folder)
    segments = whole_files(ndjson, bundles)
    total = sum(path.stat().st_size for path in ndjson)
    parts = cut_parts(segments, [total // 3, 2 * total // 3])
    assert len(parts) == 3
    one = _read(folder, cut_parts(segments, []), plan, tmp_path / "one")
    work = tmp_path / "work"
    assert _read(folder, parts, plan, work) == one
    assert not list(work.glob("aanlevering-fhir-part-*"))  # the workers' hand-over files are gone
