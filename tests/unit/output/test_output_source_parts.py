"""Decision 0318: a large NDJSON delivery's source resources minimised in two processes.

Pinned against the one-process path: the same delivered bytes (each type's lines
in source order), the same guard notes, the same resources selected for validation
(in the same order), the same first error wherever it lies, and a worker that dies
is an OutputError that leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir.validate import SamplePolicy
from aanlevering.output import source_parts
from aanlevering.output.content import DeliveryInput, SourceResource
from aanlevering.output.fhir_stream import FhirStream
from aanlevering.output.ndjson import write_ndjson
from aanlevering.output.result import BuiltValues
from aanlevering.output.source_parts import SecondPart, split_at
from aanlevering.output.sources import SourceTexts
from support.source_texts import source_texts

#: Selects by position within each type, so a worker counting from the wrong start differs.
POLICY = SamplePolicy(head=2, every=3)


class Recording:
    """A validator that remembers what it was handed (and validates nothing)."""

    def __init__(self) -> None:
        self.checked: list[tuple[str, str]] = []

    def check(self, text: str, where: str) -> None:
        self.checked.append((where, text))

    def first_failure(self) -> OutputError | None:
        return None

    def finish(self) -> None:
        pass


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Force the two-process path (True) or the one-process path (False) on small input."""

    def choose(two: bool) -> None:
        monkeypatch.setenv(source_parts.WORKERS_ENV, "2" if two else "1")
        monkeypatch.setenv(source_parts.MIN_ENV, "0")
        monkeypatch.delenv(source_parts.MAX_ENV, raising=False)

    return choose


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many resources each worker answered for (proves the worker did the part)."""
    counts: list[int] = []
    original = SecondPart.result

    def result(self: SecondPart) -> source_parts.PartResult:
        answer = original(self)
        counts.append(sum(lines for _, lines in answer.files.values()))
        return answer

    monkeypatch.setattr(SecondPart, "result", result)
    return counts


def _copies(content: DeliveryInput, copies: int) -> list[SourceResource]:
    """The delivery's sources and renamed copies (more of each type in either part)."""
    sources = [
        r.resource for r in content.source_resources if r.resource["resourceType"] != "Consent"
    ]
    out = [SourceResource(r) for r in sources]
    for copy in range(1, copies):
        out += [SourceResource(_changed({**r, "id": f"{r['id']}-{copy}"}, copy)) for r in sources]
    return out


def _changed(resource: dict[str, Any], copy: int) -> dict[str, Any]:
    """A copy with values of its own (notes the first part's resources do not give)."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        resource["valueQuantity"] = {**quantity, "value": quantity["value"] + 1000 * copy}
    return resource


def _content(
    delivery: Callable[..., DeliveryInput], registration: str, copies: int = 3
) -> tuple[DeliveryInput, list[SourceResource]]:
    content = delivery(registration, fhir_source=True)
    sources = _copies(content, copies)
    return dataclasses.replace(content, source_resources=source_texts(sources), closed=True), (
        sources
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _write(folder: Path, content: DeliveryInput) -> tuple[Any, dict[str, bytes]]:
    output = write_ndjson(folder, content, POLICY)
    return output, _files(folder)


@pytest.mark.parametrize("registration", ["ldtr", "nkr-borst", "dica-dsaa"])
def test_two_processes_deliver_the_bytes_notes_and_figures_of_one(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    parallel: Callable[[bool], None],
    answered: list[int],
    registration: str,
) -> None:
    content, _ = _content(delivery, registration)
    assert isinstance(content.source_resources, SourceTexts)
    parallel(False)
    one, one_files = _write(tmp_path / "one", content)
    assert answered == []
    parallel(True)
    two, two_files = _write(tmp_path / "two", content)
    half = len(content.source_resources) - len(content.source_resources) // 2
    assert answered == [half]  # the worker made the second half
    assert two_files == one_files
    assert len([n for n in one_files if n not in {"Patient.ndjson"}]) >= 2
    assert two.files == one.files  # checksums, sizes, lines per file
    assert two.built == one.built  # the guard's notes (decision 0304)
    assert two.built and any(n not in {"Patient.ndjson"} for n in two.built)
    assert two.record_counts == one.record_counts
    leftovers = list(content.source_resources.parts()[1].path.parent.glob("fhir-minimise-*"))
    assert leftovers == []


def _stream_run(
    content: DeliveryInput, two: bool
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, Any], dict[str, int]]:
    """(type, text) handed on, (where, text) handed to validation, notes, counters."""
    built = BuiltValues()
    validator = Recording()
    stream = FhirStream(content, POLICY, "relative", built, validator)
    for _ in stream.patient_texts():
        pass
    second = None
    if two:
        assert isinstance(content.source_resources, SourceTexts)
        at = split_at(content.source_resources, stream.references)
        assert at is not None
        second = SecondPart(content.source_resources, at)
    with second if second is not None else _Null():
        texts = list(stream.minimised_texts(second))
        if second is not None:
            assert second.answer is not None
            for resource_type, _, chunks in second.files(second.answer):
                for line in b"".join(chunks).decode().splitlines():
                    texts.append((resource_type, line))
    return texts, validator.checked, built.columns(), stream._counters


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize("registration", ["ldtr", "nkr-borst"])
def test_the_same_resources_are_selected_for_validation_in_the_same_order(
    delivery: Callable[..., DeliveryInput], parallel: Callable[[bool], None], registration: str
) -> None:
    content, _ = _content(delivery, registration, copies=4)
    parallel(True)
    one_texts, one_checked, one_notes, one_counters = _stream_run(content, two=False)
    two_texts, two_checked, two_notes, two_counters = _stream_run(content, two=True)
    assert two_checked == one_checked
    assert len({where.split()[0] for where, _ in one_checked}) >= 3
    assert two_counters == one_counters
    assert two_notes == one_notes
    # Within each type the worker's lines follow this process's: source order.
    by_type: dict[str, list[str]] = {}
    for resource_type, text in one_texts:
        by_type.setdefault(resource_type, []).append(text)
    two_by_type: dict[str, list[str]] = {}
    for resource_type, text in two_texts:
        two_by_type.setdefault(resource_type, []).append(text)
    assert two_by_type == by_type


def _with_bad(sources: list[SourceResource], positions: list[int]) -> list[SourceResource]:
    """Resources at ``positions`` point at a Patient not in the delivery (an OutputError)."""
    out = list(sources)
    for position in positions:
        resource = dict(out[position].resource)
        resource["subject"] = {"reference": f"Patient/nobody-{position}"}
        out[position] = SourceResource(resource)
    return out


@pytest.mark.parametrize("where", ["first", "second", "both"])
def test_the_first_error_in_source_order_wins_wherever_it_lies(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    parallel: Callable[[bool], None],
    where: str,
) -> None:
    content, sources = _content(delivery, "ldtr")
    count = len(sources)
    positions = {"first": [3], "second": [count - 3], "both": [count // 2 - 2, count - 2]}[where]
    bad = dataclasses.replace(content, source_resources=source_texts(_with_bad(sources, positions)))
    parallel(False)
    with pytest.raises(OutputError) as one:
        write_ndjson(tmp_path / "one", bad, POLICY)
    parallel(True)
    with pytest.raises(OutputError) as two:
        write_ndjson(tmp_path / "two", bad, POLICY)
    assert str(two.value) == str(one.value)
    assert "references a Patient that is not in this delivery" in str(two.value)
    assert not (tmp_path / "two").exists() or list((tmp_path / "two").iterdir()) == []


def test_a_dying_worker_is_an_output_error_and_leaves_nothing_behind(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    parallel: Callable[[bool], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content, _ = _content(delivery, "ldtr")
    parallel(True)
    monkeypatch.setattr(source_parts, "WORKER_CODE", "import os; os._exit(3)")
    with pytest.raises(OutputError, match="worker process exited with code 3 without an answer"):
        write_ndjson(tmp_path / "out", content, POLICY)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    folder = content.source_resources.parts()[1].path.parent  # type: ignore[attr-defined]
    assert list(folder.glob("fhir-minimise-*")) == []


def test_small_deliveries_and_one_worker_keep_the_one_process_path(
    delivery: Callable[..., DeliveryInput], monkeypatch: pytest.MonkeyPatch
) -> None:
    content, _ = _content(delivery, "ldtr")
    assert isinstance(content.source_resources, SourceTexts)
    stream = FhirStream(content, POLICY, "relative")
    monkeypatch.setenv(source_parts.WORKERS_ENV, "2")
    monkeypatch.delenv(source_parts.MIN_ENV, raising=False)
    assert split_at(content.source_resources, stream.references) is None  # below 200,000
    monkeypatch.setenv(source_parts.MIN_ENV, "0")
    assert (
        split_at(content.source_resources, stream.references) == len(content.source_resources) // 2
    )
    monkeypatch.setenv(source_parts.MAX_ENV, str(len(content.source_resources) - 1))
    assert split_at(content.source_resources, stream.references) is None  # too many
    monkeypatch.setenv(source_parts.MAX_ENV, str(len(content.source_resources)))
    assert split_at(content.source_resources, stream.references) is not None
    monkeypatch.setenv(source_parts.WORKERS_ENV, "1")
    assert split_at(content.source_resources, stream.references) is None
    monkeypatch.setenv(source_parts.WORKERS_ENV, "3")
    with pytest.raises(Exception, match="must be 1 or 2"):
        split_at(content.source_resources, stream.references)


def test_a_first_part_that_is_not_what_its_keys_say_has_the_second_minimised_here(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    parallel: Callable[[bool], None],
    answered: list[int],
) -> None:
    """A text whose key names another type: the counts at the cut are not the keys', so
    the worker's answer is not used and the second part is minimised in this process."""
    content, _ = _content(delivery, "ldtr")
    assert isinstance(content.source_resources, SourceTexts)
    keys, file, at, sizes = content.source_resources.parts()
    names = keys.to_pylist()
    names[1] = "Basic/" + names[1].partition("/")[2]
    odd = dataclasses.replace(
        content, source_resources=SourceTexts(pa.array(names, pa.string()), file, at, sizes)
    )
    parallel(False)
    one, one_files = _write(tmp_path / "one", odd)
    parallel(True)
    two, two_files = _write(tmp_path / "two", odd)
    assert answered == []  # started, but its answer was not used
    assert two_files == one_files
    assert two.built == one.built
    assert list(file.path.parent.glob("fhir-minimise-*")) == []
