"""Both FHIR readers key a Bundle entry's resource without an id by its ``urn:uuid:`` fullUrl.

A transaction Bundle that creates resources gives them no ``id``: each entry is
identified by its ``fullUrl`` ``urn:uuid:<uuid>`` and references between entries
are written as that ``urn:uuid:``. Decision 0560: such a resource is read as if
its id were the uuid (key ``Type/<uuid>``), by the store reader, the streaming
reader and the streaming reader in two processes alike: its records are built
and its resource is kept exactly as for the same export with those ids. Still
refused: an id-less record resource whose fullUrl is missing or not a valid
``urn:uuid:`` (decision 0541), with the same message from every reader, naming
the entry and never a value. A uuid in several entries is one resource, as a
repeated id is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.errors import ExtractError
from aanlevering.extract import fhir_parallel
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_parts import cut_parts
from aanlevering.extract.fhir_store import whole_files
from aanlevering.extract.model import Extract
from aanlevering.extract.options import ExtractOptions
from aanlevering.periods import Period
from support.nkr_tumours import is_tumour
from support.transaction_bundles import as_transaction, entry_uuid

YEAR = Period.parse("2026")
#: The two Bundle files an export is written to (the two-process reader reads one each).
FILES = ("a-transaction.json", "b-transaction.json")

Read = Callable[[Path], Extract]


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> dict[str, Any]:
    """The NKR demo export as one collection Bundle (resource ids, relative references)."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    options = DemoOptions(out_dir=out, patients=12, seed=5, registrations=("nkr-borst",))
    generate_demo_data(catalogue, options)
    (path,) = (out / "fhir-bundles" / "nkr-borst").glob("*.json")
    bundle: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return bundle


def _content(config: RegistrationConfig, content: str) -> RegistrationConfig:
    return replace(config, delivery=replace(config.delivery, fhir_content=content))  # type: ignore[arg-type]


def _readers(
    catalogue: Catalogue, work: Path, monkeypatch: pytest.MonkeyPatch, content: str = "resources"
) -> dict[str, Read]:
    """The store reader, the streaming reader, and the streaming reader in two processes."""
    config = _content(catalogue.get("nkr-borst"), content)

    def by_file(ndjson: list[Path], bundles: list[Path], workers: int, min_bytes: int) -> Any:
        # Two workers: a cut in the first file, moved to its end. One: the whole input in one
        # part, read in this process (a cut for it too read the streaming reader in a worker).
        return cut_parts(whole_files(ndjson, bundles), [1] if workers > 1 else [])

    monkeypatch.setattr(fhir_parallel, "plan_parts", by_file)
    one = _Plan.of(config, ExtractOptions(work_dir=work, read_workers=1))
    two = _Plan.of(config, ExtractOptions(work_dir=work, read_workers=2, parallel_min_bytes=0))

    def in_parts(plan: _Plan, expected: list[int]) -> Read:
        """``plan``'s streaming reader, checked to read in the parts ``expected`` (as logged:
        nothing is logged when the input is read in this process alone)."""

        def read(folder: Path) -> Extract:
            logged: list[logging.LogRecord] = []
            handler = logging.Handler()
            handler.emit = logged.append  # type: ignore[method-assign]
            logger = logging.getLogger("aanlevering.extract.fhir_parallel")
            logger.addHandler(handler)
            level = logger.level
            logger.setLevel(logging.INFO)
            try:
                return plan.streamed(folder, YEAR)
            finally:
                logger.removeHandler(handler)
                logger.setLevel(level)
                parts = [r.args[0] for r in logged if r.args and "parts" in str(r.msg)]
                assert parts == expected, parts

        return read

    return {
        "store": lambda folder: one.stored(folder, YEAR),
        "streaming": in_parts(one, []),  # one process
        "two processes": in_parts(two, [len(FILES)]),  # each file in a process of its own
    }


def _write(folder: Path, bundle: dict[str, Any]) -> Path:
    """``bundle``'s entries in two Bundle files of its type, halves in order."""
    folder.mkdir()
    entries = bundle["entry"]
    half = len(entries) // 2
    for name, part in zip(FILES, (entries[:half], entries[half:]), strict=True):
        (folder / name).write_text(json.dumps({**bundle, "entry": part}), encoding="utf-8")
    return folder


def _where(bundle: dict[str, Any], index: int) -> str:
    """The location the readers give entry ``index`` of ``bundle`` written by :func:`_write`."""
    half = len(bundle["entry"]) // 2
    return f"{FILES[0]}:entry[{index}]" if index < half else f"{FILES[1]}:entry[{index - half}]"


def _tumours(bundle: dict[str, Any]) -> list[int]:
    """Positions of the tumour Conditions of the period (the records of the run)."""
    return [i for i, entry in enumerate(bundle["entry"]) if is_tumour(entry["resource"], "2026")]


def _outcome(extract: Extract) -> tuple[Any, ...]:
    tumour = extract.datasets["tumor"]
    assert extract.source_resources is not None
    return tumour.row_refs, tumour.clinical, extract.source_resources.to_table()


def test_entries_identified_by_their_urn_uuid_are_read_as_with_that_id(
    collection: dict[str, Any],
    catalogue: Catalogue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without = _write(tmp_path / "without", as_transaction(collection))
    with_ids = _write(tmp_path / "with", as_transaction(collection, keep_ids=True))
    assert not any(
        "id" in e["resource"]
        for name in FILES
        for e in json.loads((without / name).read_text())["entry"]
    )
    readers = _readers(catalogue, tmp_path / "work", monkeypatch)
    records = readers["store"](_write(tmp_path / "c", collection))
    expected = {
        f"Condition/{entry_uuid('Condition/' + collection['entry'][i]['resource']['id'])}"
        for i in _tumours(collection)
    }
    assert len(expected) == records.datasets["tumor"].num_rows > 3
    outcomes = {}
    for name, read in readers.items():
        outcome = _outcome(read(without))
        same = _outcome(read(with_ids))  # read once for the three comparisons (decision 0864)
        assert outcome[0].equals(same[0]), name
        assert outcome[1].equals(same[1]) and outcome[2].equals(same[2]), name
        # Every record is there, kept as its resource under the uuid key.
        assert outcome[1].num_rows == len(expected), name
        kept = outcome[2]
        assert expected <= set(kept.column("key").to_pylist()), name
        assert set(outcome[1].column("tumor_id").to_pylist()) == {k[10:] for k in expected}
        # The Observations' focus references, written as urn:uuid:, were read and kept resolved.
        assert outcome[1].column("er_status").null_count == 0, name
        texts = "".join(kept.column("text").to_pylist())
        assert "urn:uuid:" not in texts, name
        outcomes[name] = outcome
    first = outcomes["store"]
    for name, outcome in outcomes.items():
        assert all(a.equals(b) for a, b in zip(first, outcome, strict=True)), name


def _errors(readers: dict[str, Read], folder: Path) -> dict[str, str]:
    found = {}
    for name, read in readers.items():
        with pytest.raises(ExtractError) as raised:
            read(folder)
        found[name] = str(raised.value)
    return found


@pytest.mark.parametrize(
    "full_url",
    [
        None,
        "urn:uuid:TU-6C316D9A",
        "urn:uuid:0B5F0C56-0560-4C1E-9D2A-5E8F6A7B8C9D",
        "urn:oid:1.2.3",
    ],
    ids=["none", "not a uuid", "upper case", "urn:oid"],
)
def test_without_an_id_or_a_urn_uuid_full_url_a_record_is_still_refused(
    collection: dict[str, Any],
    catalogue: Catalogue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    full_url: str | None,
) -> None:
    bundle = as_transaction(collection)
    at = _tumours(bundle)[0]
    entry = bundle["entry"][at]
    if full_url is None:
        del entry["fullUrl"]
    else:
        entry["fullUrl"] = full_url
    readers = _readers(catalogue, tmp_path / "work", monkeypatch)
    errors = _errors(readers, _write(tmp_path / "in", bundle))
    assert len(set(errors.values())) == 1, errors
    message = errors["store"]
    assert message.startswith(f"{_where(bundle, at)}: 1 Condition resource(s) of the period")
    assert "have no id" in message and "decision 0541" in message
    assert "decision 0560" in message  # where the urn:uuid alternative is explained
    assert full_url is None or full_url[9:] not in message


@pytest.mark.parametrize("content", ["resources", "questionnaire"])
def test_a_uuid_repeated_in_several_entries_is_one_resource_as_a_repeated_id_is(
    collection: dict[str, Any],
    catalogue: Catalogue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str,
) -> None:
    """The same fullUrl is the same resource (a Patient written into every Bundle of an
    export): the first copy is read, exactly as the same export with ids repeated is."""

    def repeated(bundle: dict[str, Any]) -> dict[str, Any]:
        entries = bundle["entry"]
        copies = [e for e in entries if e["resource"]["resourceType"] == "Patient"][:2]
        copies.append(entries[_tumours(bundle)[0]])
        return {**bundle, "entry": [*entries, *json.loads(json.dumps(copies))]}

    readers = _readers(catalogue, tmp_path / "work", monkeypatch, content)
    without = _write(tmp_path / "without", repeated(as_transaction(collection)))
    with_ids = _write(tmp_path / "with", repeated(as_transaction(collection, keep_ids=True)))
    once = _write(tmp_path / "once", as_transaction(collection, keep_ids=True))
    for name, read in readers.items():
        outcome = read(without)
        expected = read(with_ids)
        assert outcome.datasets["tumor"].row_refs.equals(expected.datasets["tumor"].row_refs)
        assert outcome.datasets["tumor"].clinical.equals(expected.datasets["tumor"].clinical)
        single = read(once).datasets["tumor"]
        assert outcome.datasets["tumor"].num_rows == single.num_rows > 3, name
        assert outcome.datasets["tumor"].clinical.equals(single.clinical), name
