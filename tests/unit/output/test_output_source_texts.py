"""Source resources handed over as the extract's texts give the files of decoded resources.

The pipeline hands the writer :class:`SourceTexts` (the extract's kept texts), which
are minimised straight from text with elements remembered (``TextMinimiser``); a
list of decoded resources takes ``minimise_resource`` one by one. Same bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from aanlevering.fhir.validate import VALIDATE_ALL
from aanlevering.output.bundle import write_bundles
from aanlevering.output.content import DeliveryInput, SourceResource
from aanlevering.output.ndjson import write_ndjson
from support.source_texts import source_texts


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("registration", ["ldtr", "nkr-borst"])
@pytest.mark.parametrize("closed", [True, False])
def test_texts_give_the_bytes_of_decoded_resources(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], registration: str, closed: bool
) -> None:
    content = delivery(registration, fhir_source=True)
    # SourceTexts register resources by key only (the extract made references canonical).
    # A closed map leaves the test Consent's actor without its reference (not valid R4B).
    sources = [
        SourceResource(r.resource)
        for r in content.source_resources
        if not (closed and r.resource["resourceType"] == "Consent")
    ]
    as_texts = source_texts(sources, 2)
    decoded = list(as_texts)  # what the writer minimised before: each text decoded
    from_texts = dataclasses.replace(content, source_resources=as_texts, closed=closed)
    from_dicts = dataclasses.replace(content, source_resources=decoded, closed=closed)
    write_ndjson(tmp_path / "texts", from_texts, VALIDATE_ALL)
    write_ndjson(tmp_path / "dicts", from_dicts, VALIDATE_ALL)
    texts = _files(tmp_path / "texts")
    assert texts == _files(tmp_path / "dicts")
    assert {"Encounter.ndjson", "Observation.ndjson"} <= set(texts)
    write_bundles(tmp_path / "texts-bundles", from_texts, VALIDATE_ALL, 4)
    write_bundles(tmp_path / "dicts-bundles", from_dicts, VALIDATE_ALL, 4)
    assert _files(tmp_path / "texts-bundles") == _files(tmp_path / "dicts-bundles")
