"""Hostile input never crashes the readers: every failure is an ExtractError naming file and line.

The named cases are the ones seen in the field (issue 14); the fuzz loops then
mutate real exports a few thousand times each, with fixed seeds so a failure
is reproducible from its message, and accept exactly two outcomes: a result
or an :class:`ExtractError`. Anything else (``RecursionError``, ``csv.Error``,
``TypeError``...) would reach the CLI as an internal error.
"""

from __future__ import annotations

import gc
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from extract_fixtures import dsaa_export

from aanlevering.catalogue import Catalogue, RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract import extract
from aanlevering.periods import Period
from support.case_budget import cases

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"
YEAR = Period.parse("2026")
OPERATIES = "dsaa_operaties_2026.csv"


def _outcome(config: RegistrationConfig, folder: Path) -> str:
    """``ok`` or the input error's text; any other exception fails the test where it happens."""
    try:
        extract(config, folder, YEAR)
    except ExtractError as error:
        return str(error)
    return "ok"


# --- named CSV cases


@pytest.fixture
def csv_lines(tmp_path: Path) -> tuple[Path, list[bytes]]:
    folder = dsaa_export(tmp_path / "export")
    return folder, (folder / OPERATIES).read_bytes().split(b"\n")


def _with_blank_line(lines: list[bytes], third: bytes) -> bytes:
    return b"\n".join([lines[0], lines[1], b"", third]) + b"\n"


def test_a_blank_line_and_a_value_over_128_kib_is_read_like_without_the_blank_line(
    csv_lines: tuple[Path, list[bytes]], dsaa: RegistrationConfig
) -> None:
    folder, lines = csv_lines
    long_value = b'"' + b"x" * 140_000 + b'"'
    (folder / OPERATIES).write_bytes(_with_blank_line(lines, lines[2].replace(b"OPEN", long_value)))

    result = extract(dsaa, folder, YEAR)

    refs = result.datasets["operatie"].row_refs.to_pylist()
    assert refs == [f"{OPERATIES}:2", f"{OPERATIES}:4"]  # the blank line 3 counted
    assert result.datasets["operatie"].clinical.column("techniek").to_pylist()[1] == "x" * 140_000


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (b'"OPEN', "line 4: a quoted value is not closed"),
        (b'"OP"EN', "line 4: a closing quote is followed by other characters"),
    ],
)
def test_a_blank_line_and_a_malformed_quote_is_an_input_error_with_its_line(
    csv_lines: tuple[Path, list[bytes]], dsaa: RegistrationConfig, broken: bytes, expected: str
) -> None:
    folder, lines = csv_lines
    (folder / OPERATIES).write_bytes(_with_blank_line(lines, lines[2].replace(b"OPEN", broken)))

    with pytest.raises(ExtractError, match=f"{OPERATIES}: {expected}"):
        extract(dsaa, folder, YEAR)


def test_an_unclosed_quote_without_blank_lines_names_its_line(
    csv_lines: tuple[Path, list[bytes]], dsaa: RegistrationConfig
) -> None:
    folder, lines = csv_lines
    lines[2] = lines[2].replace(b"OPEN", b'"OPEN')
    (folder / OPERATIES).write_bytes(b"\n".join(lines))

    with pytest.raises(ExtractError, match=f"{OPERATIES}: line 3: a quoted value is not closed"):
        extract(dsaa, folder, YEAR)


# --- named JSON cases


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"resourceType": "Patient", "id": "deep", "extension": ' + _deep(50_000) + "}", "deeper"),
        ('{"resourceType": "Patient", "id": "big", "x": ' + "9" * 5000 + "}", "digits"),
        ('{"resourceType": "Patient", "id": "nan", "x": NaN}', "NaN"),
        ('{"resourceType": "Patient", "id": "inf", "x": 1e999}', "too large"),
        ('{"resourceType": "Patient", "id": "s", "x": "\\ud800"}', "surrogate"),
    ],
)
def test_hostile_json_in_an_ndjson_line_is_an_input_error_naming_file_and_line(
    tmp_path: Path, dsaa: RegistrationConfig, line: str, reason: str
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    with (folder / "Patient.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")

    with pytest.raises(ExtractError, match=r"Patient\.ndjson: line 3: not valid JSON") as caught:
        extract(dsaa, folder, YEAR)
    assert reason in str(caught.value)


def test_a_deeply_nested_bundle_and_manifest_are_input_errors(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text('{"resourceType": "Bundle", "type": "collection", "entry": ' + _deep(9000))
    with pytest.raises(ExtractError, match=r"bundle\.json: not valid JSON \(nested deeper"):
        extract(dsaa, bundle, YEAR)

    folder = tmp_path / "bulk"
    shutil.copytree(NL, folder)
    (folder / "manifest.json").write_text('{"output": ' + _deep(9000) + "}")
    with pytest.raises(ExtractError, match=r"manifest\.json: not a valid bulk export manifest"):
        extract(dsaa, folder, YEAR)


def test_a_manifest_cannot_point_outside_the_export_folder(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = tmp_path / "export" / "bulk"
    shutil.copytree(NL, folder)
    (folder / "Patient.ndjson").rename(folder.parent / "Patient.ndjson")
    outputs = [{"type": "Patient", "url": "https://x/bulk/.."}]
    (folder / "manifest.json").write_text(json.dumps({"output": outputs}))
    with pytest.raises(ExtractError, match=r"output\[0\] \(Patient\) has no file"):
        extract(dsaa, folder, YEAR)

    (folder / "manifest.json").write_text(json.dumps({"output": [{"type": "../Patient"}]}))
    with pytest.raises(ExtractError, match=r"output\[0\] has no FHIR resource type"):
        extract(dsaa, folder, YEAR)


def test_a_resource_of_the_wrong_shape_names_its_file_and_line(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    patients = [json.loads(line) for line in (NL / "Patient.ndjson").read_text().splitlines()]
    patients[1]["identifier"] = [{"system": {"nested": "object"}, "value": "x"}]
    (folder / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))

    with pytest.raises(ExtractError, match=r"Patient\.ndjson:2: the Patient resource has an elem"):
        extract(dsaa, folder, YEAR)


# --- fuzzing

HOSTILE_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, 10**30, -(10**19), 1.5, 1e308, "", " ", "x", "2026-02-30",
    "2026-13-01T99:99", "9" * 400, [], {}, [None], [1, "a"], {"a": 1}, {"reference": 5},
    {"reference": "Patient/"}, {"coding": "x"}, {"coding": [5]}, "Patient/pat-1", "urn:uuid:",
    "\x00", "Patient?identifier=|", [[[[[1]]]]], ["x", "x", "x"],
)  # fmt: skip
BYTE_TOKENS: tuple[bytes, ...] = (
    b'"', b"\n", b"\r", b"\r\n", b"\n\n", b";", b",", b"\t", b"[", b"{", b"}", b"]", b":",
    b"\x00", b"\xff", b"\xc3", b'""', b'"x"y', b"[" * 3000, b"9" * 5000, b"NaN", b"1e999",
    b"\\ud800", b'"' + b"x" * 140_000 + b'"', b"null",
)  # fmt: skip


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(out) + 1)
        choice = rng.random()
        if choice < 0.5:
            out[position:position] = rng.choice(BYTE_TOKENS)
        elif choice < 0.8 and position < len(out):
            out[position] = rng.randrange(256)
        else:
            del out[position : position + rng.randint(1, 30)]
    return bytes(out)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate_resource(rng: random.Random, resource: dict[str, Any]) -> Any:
    path = rng.choice(_paths(resource))
    value = json.loads(json.dumps(rng.choice(HOSTILE_VALUES)))
    if not path:
        return value
    node: Any = resource
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return resource


def _fuzz(cases: int, seed: int, one_case: Callable[[random.Random], str]) -> set[str]:
    """Run ``cases`` mutated inputs; the outcomes seen (``ok`` or error texts)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    # In the whole suite the process holds millions of objects (GX, Airflow, ...); without
    # freezing them every full collection walks them all, which made these loops 3x slower.
    gc.freeze()
    try:
        for number in range(cases):
            try:
                seen.add(one_case(rng))
            except Exception as error:
                raise AssertionError(f"seed {seed}, case {number}: {error!r}") from error
    finally:
        gc.unfreeze()
    return seen


def _kinds_missing(outcomes: set[str], kinds: tuple[str, ...]) -> list[str]:
    """The error kinds (a fragment of their text) no outcome shows: the budget must reach each."""
    return [kind for kind in kinds if not any(kind in outcome for outcome in outcomes)]


#: The input error kinds the CSV fuzz reaches (decision 0810: the CI budget still reaches each).
CSV_ERROR_KINDS = (
    "do not match the mapping",
    "a NUL character",
    "a quoted value is not closed",
    "fields, found",
    "of the header has no name",
    "it is neither UTF-8",
    "malformed header: unexpected end of data",
    "cannot detect the delimiter",
    "named twice",
    "malformed header: field larger than field limit",
    "malformed header: ';' expected after",
    "have no usable period date",
    "a closing quote is followed by other characters",
    "is not a header",
)
#: The same for the structure-mutating NDJSON fuzz.
NDJSON_STRUCTURE_ERROR_KINDS = (
    "not a FHIR resource",
    "Encounter resource(s) of dataset 'trauma' refer to a patient that is not in the input",
    "have no usable period date",
    "Encounter resource(s) of the period have no id",
    "the Patient resource has an element of the wrong JSON shape",
    "Procedure resource(s) of dataset 'operatie' refer to a patient",
    "the Condition resource has an element of the wrong JSON shape",
    "Condition resource(s) of dataset 'complicatie' refer to a patient",
)


def test_fuzzed_csv_exports_only_ever_give_a_result_or_an_input_error(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    source = dsaa_export(tmp_path / "source")
    originals = {path.name: path.read_bytes() for path in source.iterdir()}
    folder = tmp_path / "case"
    shutil.copytree(source, folder)

    def one_case(rng: random.Random) -> str:
        name = rng.choice(sorted(originals))
        (folder / name).write_bytes(_mutate_bytes(rng, originals[name]))
        try:
            return _outcome(dsaa, folder)
        finally:
            (folder / name).write_bytes(originals[name])

    # CI: every error kind of the 2000 cases comes by case 644 (decision 0810).
    outcomes = _fuzz(cases(800, 2000), 14, one_case)

    assert "ok" in outcomes and len(outcomes) > 20  # both paths were exercised
    unnamed = [o for o in outcomes - {"ok"} if ".csv" not in o]
    assert not unnamed, "every input error names the file"
    assert not _kinds_missing(outcomes, CSV_ERROR_KINDS)


@pytest.mark.parametrize("mode", ["structure", "bytes"])
def test_fuzzed_ndjson_exports_only_ever_give_a_result_or_an_input_error(
    tmp_path: Path, catalogue: Catalogue, mode: str
) -> None:
    configs = [catalogue.get(name) for name in ("dica-dsaa", "ldtr", "nkr-borst")]
    texts = {path.name: path.read_bytes() for path in sorted(NL.glob("*.ndjson"))}
    folder = tmp_path / "case"
    folder.mkdir()

    for name, data in texts.items():
        (folder / name).write_bytes(data)

    def one_case(rng: random.Random) -> str:
        name = rng.choice(sorted(texts))
        if mode == "bytes":
            (folder / name).write_bytes(_mutate_bytes(rng, texts[name]))
        else:
            resources = [json.loads(line) for line in texts[name].splitlines()]
            for _ in range(rng.randint(1, 3)):
                index = rng.randrange(len(resources))
                resources[index] = _mutate_resource(rng, resources[index])
            (folder / name).write_text("".join(json.dumps(r) + "\n" for r in resources))
        try:
            return _outcome(rng.choice(configs), folder)
        finally:
            (folder / name).write_bytes(texts[name])

    # CI: every error kind of 1000 structure cases comes by case 250, of bytes by 927 (0810).
    budget = cases(600, 1000) if mode == "structure" else 1000
    outcomes = _fuzz(budget, 140 + len(mode), one_case)

    assert "ok" in outcomes and len(outcomes) > 10
    if mode == "structure":
        assert not _kinds_missing(outcomes, NDJSON_STRUCTURE_ERROR_KINDS)


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [
        {"fullUrl": f"urn:uuid:{r['resourceType']}-{r.get('id', i)}", "resource": r}
        for i, r in enumerate(resources)
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_fuzzed_bundles_and_bulk_manifests_only_ever_give_a_result_or_an_input_error(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    configs = [catalogue.get(name) for name in ("dica-dsaa", "ldtr", "nkr-borst")]
    resources = [
        json.loads(line)
        for path in sorted(NL.glob("*.ndjson"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    bundle_folder = tmp_path / "bundles"
    bundle_folder.mkdir()
    bulk = tmp_path / "bulk"
    shutil.copytree(NL, bulk)
    outputs = [{"type": p.stem, "url": f"https://fhir.example/{p.name}"} for p in NL.glob("*")]
    manifest = {"transactionTime": "2026-06-01T00:00:00Z", "output": outputs, "error": []}

    def one_case(rng: random.Random) -> str:
        config = rng.choice(configs)
        if rng.random() < 0.25:
            document: Any = json.loads(json.dumps(manifest))
            mutated = _mutate_resource(rng, document) if rng.random() < 0.5 else document
            text = json.dumps(mutated).encode()
            if mutated is document:
                text = _mutate_bytes(rng, text)
            (bulk / "manifest.json").write_bytes(text)
            return _outcome(config, bulk)
        document = json.loads(json.dumps(_bundle(resources)))
        for _ in range(rng.randint(1, 3)):
            document = _mutate_resource(rng, document) if isinstance(document, dict) else document
        text = json.dumps(document).encode()
        if rng.random() < 0.4:
            text = _mutate_bytes(rng, text)
        (bundle_folder / "bundle.json").write_bytes(text)
        return _outcome(config, bundle_folder)

    outcomes = _fuzz(2000, 1414, one_case)

    assert "ok" in outcomes and len(outcomes) > 10
