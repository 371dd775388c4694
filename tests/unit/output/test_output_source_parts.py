"""Decision 0318: a large NDJSON delivery's source resources minimised in two processes.

Pinned against the one-process path: the same delivered bytes (each type's lines
in source order), the same guard notes, the same resources selected for validation
(in the same order), the same first error wherever it lies, and a worker that dies
is an OutputError that leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from aanlevering.errors import OutputError
from aanlevering.extract.fhir_texts import TextFile
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import (
    PartReferenceMap,
    ReferenceMap,
    TextMinimiser,
    UnsureReference,
)
from aanlevering.fhir.validate import SamplePolicy
from aanlevering.output import source_parts
from aanlevering.output.content import DeliveryInput, SourceResource, index_patients
from aanlevering.output.fhir_stream import FhirStream
from aanlevering.output.ndjson import write_ndjson
from aanlevering.output.part_references import candidates, own_keys, part_map, references_in
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
def answers(monkeypatch: pytest.MonkeyPatch) -> list[source_parts.PartResult]:
    """Each worker's answer, as the parent received it."""
    received: list[source_parts.PartResult] = []
    original = SecondPart.result

    def result(self: SecondPart) -> source_parts.PartResult:
        answer = original(self)
        received.append(answer)
        return answer

    monkeypatch.setattr(SecondPart, "result", result)
    return received


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
    delivery: Callable[..., DeliveryInput],
    registration: str,
    copies: int = 3,
    source_patients: bool = False,
) -> tuple[DeliveryInput, list[SourceResource]]:
    """The registration's demo sources with copies, as the pipeline hands them over (no
    source Patients: the extract keeps none); ``source_patients``: with them, so this
    process makes the whole reference map (the worker still its part)."""
    content = delivery(registration, fhir_source=True)
    sources = _copies(content, copies)
    kept = content.source_patients if source_patients else {}
    replaced = dataclasses.replace(
        content, source_resources=source_texts(sources), closed=True, source_patients=kept
    )
    return replaced, sources


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _write(folder: Path, content: DeliveryInput) -> tuple[Any, dict[str, bytes]]:
    output = write_ndjson(folder, content, POLICY)
    return output, _files(folder)


@pytest.mark.parametrize("source_patients", [False, True])
@pytest.mark.parametrize("registration", ["ldtr", "nkr-borst", "dica-dsaa"])
def test_two_processes_deliver_the_bytes_notes_and_figures_of_one(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    parallel: Callable[[bool], None],
    answered: list[int],
    registration: str,
    source_patients: bool,
) -> None:
    content, _ = _content(delivery, registration, source_patients=source_patients)
    assert isinstance(content.source_resources, SourceTexts)
    parallel(False)
    one, one_files = _write(tmp_path / "one", content)
    assert answered == []
    parallel(True)
    two, two_files = _write(tmp_path / "two", content)
    at = split_at(content.source_resources)
    assert at is not None
    assert answered == [len(content.source_resources) - at]  # the worker made the second part
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
        at = split_at(content.source_resources)
        assert at is not None
        second = SecondPart(content.source_resources, at)
    with second if second is not None else _Null():
        texts = list(stream.minimised_texts(second))
        if second is not None:
            assert second.answer is not None
            for resource_type, _, chunks in second.files(second.answer):
                for line in b"".join(chunks).decode().splitlines():
                    texts.append((resource_type, line))
    # Two processes: neither makes the whole map (decision 0330); one process: this one does.
    assert (stream._references is None) == two
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
    monkeypatch.setenv(source_parts.WORKERS_ENV, "2")
    monkeypatch.delenv(source_parts.MIN_ENV, raising=False)
    assert split_at(content.source_resources) is None  # below 200,000
    monkeypatch.setenv(source_parts.MIN_ENV, "0")
    assert split_at(content.source_resources) == len(content.source_resources) * 3 // 5
    monkeypatch.setenv(source_parts.MAX_ENV, str(len(content.source_resources) - 1))
    assert split_at(content.source_resources) is None  # too many
    monkeypatch.setenv(source_parts.MAX_ENV, str(len(content.source_resources)))
    assert split_at(content.source_resources) is not None
    monkeypatch.setenv(source_parts.WORKERS_ENV, "1")
    assert split_at(content.source_resources) is None
    monkeypatch.setenv(source_parts.WORKERS_ENV, "3")
    with pytest.raises(Exception, match="must be 1 or 2"):
        split_at(content.source_resources)


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


# -- decision 0330: the worker's map holds only what its part can look up ----------------------

SALT = b"part-map-salt-0123456789abcdef"
#: Source resources as raw texts (escapes as a source may write them): the first two are the
#: first part, the rest the worker's. Keys: their ``Type/id``.
CODE = '"code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]}'
TRICKY = [
    '{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},'
    '"subject":{"reference":"Patient/p1"}}',
    '{"resourceType":"Observation","id":"o1","status":"final",' + CODE + ","
    '"subject":{"reference":"Patient/p2"},"encounter":{"reference":"Encounter/e1"}}',
    # Escaped slash and \\u escapes in references; a reference to the first part.
    '{"resourceType":"Observation","id":"o2","status":"final",' + CODE + ","
    '"subject":{"reference":"Patient\\/p1"},"encounter":{"reference":"\\u0045ncounter/e1"},'
    '"hasMember":[{"reference":"Observation/o1"},{"reference":"Observation/gone"}]}',
    # Absolute URLs, _history, urn:uuid aliases, conditional references, undelivered ones.
    '{"resourceType":"Procedure","id":"pr1","status":"completed",'
    '"subject":{"reference":"Patient/p2"},"recorder":{"reference":"urn:uuid:aaaa-1111"},'
    '"encounter":{"reference":"http://ehr.example/fhir/Encounter/e2/_history/3"},'
    '"partOf":[{"reference":"Procedure/pr2"},{"reference":"Procedure?identifier=x|1"}],'
    '"performer":[{"actor":{"reference":"Practitioner/dr1"}}],'
    '"reasonReference":[{"reference":"Condition/c9"}]}',
    # References inside extensions (with spaces around the colon) and a contained resource.
    '{"resourceType":"Procedure","id":"pr2","status":"completed",'
    '"subject":{"reference":"http://ehr.example/fhir/Patient/p2"},'
    '"extension":[{"url":"http://x/e","valueReference":{"reference" : "Observation/o2"}},'
    '{"url":"http://x/f","valueReference":{"reference":"Encounter/elsewhere"}}],'
    '"contained":[{"resourceType":"Observation","id":"loc1","status":"final",' + CODE + ","
    '"subject":{"reference":"Patient/p2"},"derivedFrom":[{"reference":"Observation/o1"}]}],'
    '"report":[{"reference":"#loc1"}],"focalDevice":[{"manipulated":{"reference":"Device/d1"}}]}',
    '{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p2"},'
    '"evidence":[{"detail":[{"reference":"Observation/o3/_history/1"}]}],'
    '"encounter":{"reference":"Encounter/e3?x=1"}}',
]


def _whole_map(closed: bool) -> ReferenceMap:
    references = ReferenceMap(ResourceIds(SALT), closed=closed)
    references.add_patient(["Patient/p1"], "pseudo-1")
    references.add_patient(
        ["Patient/p2", "urn:uuid:aaaa-1111", "http://ehr.example/fhir/Patient/p2"], "pseudo-2"
    )
    references.add_patient(["Patient/p3", "urn:uuid:bbbb-3333"], "pseudo-3")  # not referenced
    references.add_keys(WHOLE_KEYS)
    return references


def _keys_of(texts: list[str]) -> list[str]:
    return [f"{r['resourceType']}/{r['id']}" for r in map(json.loads, texts)]


#: The whole delivery's keys: first-part resources without a text here (one its second part
#: never references), then the texts'. Each form of reference (escaped, URL, _history,
#: conditional) is the part's only way to one of them, so each must be foreseen.
WHOLE_KEYS = [
    "Observation/unreferenced",
    "Encounter/e2",
    "Encounter/e3",
    "Observation/o3",
    *_keys_of(TRICKY),
]


def _part_map(whole: ReferenceMap, texts: list[str], start: int) -> PartReferenceMap:
    keys = pa.table({"key": WHOLE_KEYS})
    assert start == 2  # the texts' first part
    return part_map(
        ResourceIds(SALT),
        closed=whole.closed,
        keys=keys.to_batches(max_chunksize=2),
        targets=whole.targets().to_batches(max_chunksize=2),
        texts=[pa.array(texts[start:], pa.string())],
    )


@pytest.mark.parametrize("closed", [True, False])
def test_the_part_map_minimises_each_text_of_its_part_as_the_whole_map_does(closed: bool) -> None:
    whole = _whole_map(closed)
    part = _part_map(whole, TRICKY, 2)
    assert part.members() < whole.members()  # the first part's unreferenced keys are left out
    assert part.targets().num_rows < whole.targets().num_rows  # so are unreferenced Patients
    minimiser = TextMinimiser(part, "relative")
    for key, text in zip(_keys_of(TRICKY[2:]), TRICKY[2:], strict=True):
        part.current = key  # as the worker names each resource it minimises
        made = minimiser.minimised(text)
        expected = TextMinimiser(whole, "relative").minimised(text)
        assert made.text == expected.text
        assert made.id == expected.id
    written = references_in(pa.array(TRICKY[2:], pa.string())).to_pylist()
    looked_up = [json.loads(f'"{text}"') for text in written]
    assert "Patient/p1" in looked_up and "Encounter/e1" in looked_up  # escapes decoded
    wanted = set(candidates([references_in(pa.array(TRICKY[2:], pa.string()))]).to_pylist())
    assert {"Patient/p1", "Encounter/e1", "Encounter/e2", "Encounter/e3", "Observation/o3"} <= (
        wanted
    )  # decoded, and as the map looks them up
    for written in ['"Patient/p1"', '"Encounter/e1"', '"Encounter/e2"', '"Observation/o3"']:
        assert not any(written in text for text in TRICKY[2:])  # only in another form
    for reference in looked_up:
        assert part.resolve(reference) == whole.resolve(reference)
    # Undelivered references: known absent, resolved to nothing as the whole map does.
    for reference in ["Observation/gone", "Practitioner/dr1", "Encounter/elsewhere"]:
        assert part.resolve(reference) is None


def test_a_closed_delivery_drops_references_to_undelivered_resources_in_the_worker_too() -> None:
    whole = _whole_map(closed=True)
    part = _part_map(whole, TRICKY, 2)
    part.current = "Procedure/pr1"
    text = TextMinimiser(part, "relative").minimised(TRICKY[3]).text
    for gone in ["Practitioner", "dr1", "Condition", "identifier=x", "_history", "ehr.example"]:
        assert gone not in text
    assert '"reference":"Patient/pseudo-2"' in text
    assert '"Procedure/' in text  # partOf Procedure/pr2 (delivered) kept, re-keyed


def test_the_part_map_is_unsure_of_what_its_texts_do_not_show() -> None:
    """A lookup the scan did not foresee is never answered by a guess."""
    whole = _whole_map(closed=True)
    part = _part_map(whole, TRICKY, 2)
    with pytest.raises(UnsureReference):
        part.resolve("Observation/unreferenced")  # held by the whole map, not a candidate
    with pytest.raises(UnsureReference):
        part.resolve("Observation/nowhere")  # held by neither, not a candidate
    with pytest.raises(UnsureReference):
        part.delivered_id("Encounter", "e1x")
    # Its own resource is known only as the one being minimised (not referenced by any).
    with pytest.raises(UnsureReference):
        TextMinimiser(part, "relative").minimised(TRICKY[5])
    part.current = "Condition/c1"
    assert TextMinimiser(part, "relative").minimised(TRICKY[5]).id == whole.delivered_id(
        "Condition", "c1"
    )
    # A member name written with escapes: the scan does not see that reference.
    hidden = '{"resourceType":"Condition","id":"c1","subject":{"refer\\u0065nce":"Patient/p3"}}'
    with pytest.raises(UnsureReference):
        TextMinimiser(part, "relative").minimised(hidden)


def test_the_worker_names_its_own_keys_from_where_its_part_starts() -> None:
    keys = pa.table({"key": [f"Observation/o{n}" for n in range(10)]}).to_batches(3)
    assert list(own_keys(keys, 4)) == [f"Observation/o{n}" for n in range(4, 10)]
    assert list(own_keys(keys, 0)) == [f"Observation/o{n}" for n in range(10)]
    assert list(own_keys(keys, 10)) == []


def _raw_sources(texts: list[str]) -> SourceTexts:
    """Raw texts (as a source wrote them, escapes and all) as the extract's kept texts."""
    column = pa.array(texts, pa.string())
    file, sizes = TextFile.of(column, None)
    keys = pa.array(_keys_of(texts), pa.string())
    order = np.arange(len(texts))
    return SourceTexts(keys, file, order, sizes[order])


@pytest.mark.parametrize("hidden", ["", "first", "second"])
def test_two_processes_with_the_part_map_give_one_process_bytes_for_tricky_texts(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    parallel: Callable[[bool], None],
    answers: list[source_parts.PartResult],
    monkeypatch: pytest.MonkeyPatch,
    hidden: str,
) -> None:
    """Escapes, URLs, _history, extensions, contained: the worker's bytes. An escaped member
    name the scan cannot see: in the worker's half the worker is unsure and this process
    minimises that half; in this process's half its map takes in the whole map's entries."""
    completed: list[int] = []
    original = PartReferenceMap._make_whole

    def make_whole(self: PartReferenceMap) -> None:
        completed.append(1)
        original(self)

    monkeypatch.setattr(PartReferenceMap, "_make_whole", make_whole)
    content = delivery("ldtr", fhir_source=True)
    patients = sorted(index_patients(content).delivered_ids)
    texts = []
    for copy in range(6):
        for text in TRICKY:
            texts.append(_renamed(text, copy, patients))
    if hidden:
        # Its own Patient, referenced nowhere else in the part: not a candidate.
        at = -1 if hidden == "second" else 5  # a Condition
        texts[at] = texts[at].replace(
            f'"subject":{{"reference":"Patient/{patients[1]}"}}',
            f'"subject":{{"refer\\u0065nce":"Patient/{patients[2]}"}}',
        )
        assert patients[2] in texts[at]
    odd = dataclasses.replace(
        content, source_resources=_raw_sources(texts), closed=True, source_patients={}
    )
    parallel(False)
    one, one_files = _write(tmp_path / "one", odd)
    parallel(True)
    two, two_files = _write(tmp_path / "two", odd)
    assert [answer.unsure for answer in answers] == [hidden == "second"]
    # This process's map took in the whole map once: for its own half, or the worker's.
    assert len(completed) == (1 if hidden else 0)
    assert two_files == one_files
    assert two.files == one.files
    assert two.built == one.built
    assert {"Procedure.ndjson", "Observation.ndjson", "Condition.ndjson"} <= set(one_files)
    for gone in [b"Practitioner", b"ehr.example", b"_history", b"identifier=x", b"aaaa-1111"]:
        assert gone not in b"".join(one_files.values())


def _renamed(text: str, copy: int, patients: list[str]) -> str:
    """The text with ids of its own per copy and the delivery's own Patients as subjects."""
    out = text
    for name in ["e1", "e2", "e3", "o1", "o2", "o3", "pr1", "pr2", "c1", "gone", "c9", "elsewhere"]:
        out = out.replace(f'/{name}"', f'/{name}-{copy}"').replace(f'"{name}"', f'"{name}-{copy}"')
        out = out.replace(f"/{name}/_history", f"/{name}-{copy}/_history")
        out = out.replace(f"/{name}?", f"/{name}-{copy}?")
    for number, patient in (("1", patients[0]), ("2", patients[1])):
        out = out.replace(f'/p{number}"', f'/{patient}"')
    return out


def _rows(table: pa.Table) -> list[tuple[str, str, str]]:
    return sorted(
        zip(*(table.column(name).to_pylist() for name in ("reference", "type", "id")), strict=True)
    )


def test_this_process_hands_the_worker_the_whole_maps_patients_without_making_it(
    delivery: Callable[..., DeliveryInput],
) -> None:
    content, _ = _content(delivery, "nkr-borst")
    stream = FhirStream(content, POLICY, "relative")
    assert stream._references is None  # not made unless asked for
    targets = stream.patient_targets()
    assert targets.num_rows == len(index_patients(content).delivered_ids) > 0
    assert _rows(targets) == _rows(stream._whole_map().targets())


def test_deliveries_the_part_maps_cannot_stand_for_make_the_whole_map_at_once(
    delivery: Callable[..., DeliveryInput],
) -> None:
    content, _ = _content(delivery, "ldtr")
    assert isinstance(content.source_resources, SourceTexts)
    keys, file, at, sizes = content.source_resources.parts()
    names = keys.to_pylist()
    names[3] = names[3].partition("/")[0] + "/"  # a resource without an id
    bad = dataclasses.replace(
        content, source_resources=SourceTexts(pa.array(names, pa.string()), file, at, sizes)
    )
    with pytest.raises(OutputError, match="without an id cannot be delivered"):
        FhirStream(bad, POLICY, "relative")
    with_patients, _ = _content(delivery, "ldtr", source_patients=True)
    assert FhirStream(with_patients, POLICY, "relative")._references is not None


def test_resources_kept_twice_are_minimised_alike_in_either_part(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    parallel: Callable[[bool], None],
    answered: list[int],
) -> None:
    """The same resource in both parts (each part's map names it by its key)."""
    content, sources = _content(delivery, "nkr-borst")
    twice = dataclasses.replace(content, source_resources=source_texts(sources, repeat=2))
    parallel(False)
    one, one_files = _write(tmp_path / "one", twice)
    parallel(True)
    two, two_files = _write(tmp_path / "two", twice)
    assert len(answered) == 1 and answered[0] > len(sources) // 2
    assert two_files == one_files
    assert two.built == one.built
