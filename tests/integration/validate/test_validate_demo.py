"""Validation of generated demo exports through the real extract: CSV (UTF-8 and cp1252), FHIR
NDJSON bulk export and FHIR Bundles, for every example registration.

``bad-rows.json`` of the demo generator says which records were spoilt and
how; every one of them in the period must show up in the report under the
rule for its kind, by row reference. No BSN, name, MRN, birth date or
postcode of the input may appear in either report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ahocorasick
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.demo import BAD_ROWS_FILE, DemoOptions, generate_demo_data
from aanlevering.extract import Extract, extract
from aanlevering.periods import Period
from aanlevering.validate.service import validate_extract

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = load_catalogue(REPO / "schemas" / "catalogue")
YEAR = Period.parse("2026")
PATIENTS = 200
FORMATS = {
    "csv-utf8": lambda reg: Path("csv-utf8"),
    "csv-cp1252": lambda reg: Path("csv-cp1252"),
    "fhir-ndjson": lambda reg: Path("fhir-bulk") / reg,
    "fhir-bundle": lambda reg: Path("fhir-bundles") / reg,
}
IDENTITY_FIELDS = ("bsn", "own_name", "partner_name", "mrn", "patient_id", "birth_date", "postcode")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    generate_demo_data(CATALOGUE, DemoOptions(out_dir=out, patients=PATIENTS, seed=2026))
    return out


@pytest.fixture(scope="module")
def bad_rows(demo: Path) -> dict[str, Any]:
    return dict(json.loads((demo / BAD_ROWS_FILE).read_text(encoding="utf-8")))


def rule_for(dataset: str, entry: dict[str, Any]) -> str:
    """The rule id that must report a spoilt record of this kind."""
    kind, variable = entry["kind"], entry["variable"]
    return {
        "missing_required": f"{dataset}.{variable}.required",
        "out_of_range": f"{dataset}.{variable}.between",
        "invalid_code": f"{dataset}.{variable}.in_set",
        "wrong_date_format": f"{dataset}.{variable}.type",
        "cross_field": f"{dataset}.{entry.get('rule')}",
    }[kind]


def identifier_values(data: Extract) -> set[str]:
    """Every identifying value the extract read (both date forms, postcodes with and without
    their space)."""
    values: set[str] = set()
    for dataset in data.datasets.values():
        for field in IDENTITY_FIELDS:
            if field not in dataset.identity.column_names:
                continue
            for value in dataset.identity.column(field).to_pylist():
                if not value or len(str(value)) < 3:
                    continue
                text = str(value)
                values.add(text)
                if field == "postcode":
                    values.add(text.replace(" ", ""))
                if field == "birth_date" and re.fullmatch(r"\d{2}-\d{2}-\d{4}", text):
                    day, month, year = text.split("-")
                    values.add(f"{year}-{month}-{day}")
    return values


def identifier_patterns(data: Extract) -> list[re.Pattern[str]]:
    """Every identifying value the extract read, as a whole-token pattern (both date forms)."""
    return [whole_token(v) for v in identifier_values(data)]


def whole_token(value: str) -> re.Pattern[str]:
    """``value`` where no letter or digit touches it on either side."""
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])")


class WholeTokens:
    """The values of a set that occur in a text as a `whole_token`, in one pass over it.

    Why (decision 0863): a regular expression per value searched each report once per
    value (600 and more per extract, 1.5-2.5 s a test); an Aho-Corasick automaton finds
    every occurrence of every value, each checked for a touching letter or digit, and
    gives the same verdicts (checked against the patterns in
    ``test_the_one_pass_search_agrees_with_the_patterns``).
    """

    def __init__(self, values: set[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for value in values:
            self._automaton.add_word(value, value)
        self._automaton.make_automaton()

    def found_in(self, text: str) -> set[str]:
        """Every value that occurs in ``text`` with no letter or digit touching it."""
        found: set[str] = set()
        for end, value in self._automaton.iter(text):
            start = end - len(value) + 1
            before = text[start - 1] if start > 0 else ""
            after = text[end + 1] if end + 1 < len(text) else ""
            if not _word_character(before) and not _word_character(after):
                found.add(value)
        return found


def _word_character(character: str) -> bool:
    return character.isascii() and character.isalnum()


@pytest.fixture(scope="module")
def validated(
    demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str], dict[str, Any]]]:
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for registration in ("dica-dsaa", "ldtr", "nkr-borst"):
        config = CATALOGUE.get(registration)
        for fmt, where in FORMATS.items():
            data = extract(config, demo / where(registration), YEAR)
            report_dir = tmp_path_factory.mktemp(f"{registration}-{fmt}")
            outcome = validate_extract(
                data,
                config,
                provider_type="hospital",
                report_dir=report_dir,
                data_docs=fmt == "csv-cp1252",
            )
            runs[registration, fmt] = {
                "extract": data,
                "outcome": outcome,
                "report": json.loads(Path(outcome.report_paths["json"]).read_text("utf-8")),
                "dir": report_dir,
            }
    yield runs


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_every_spoilt_record_in_the_period_is_reported_under_its_rule(
    validated: dict[tuple[str, str], dict[str, Any]],
    bad_rows: dict[str, Any],
    registration: str,
    fmt: str,
) -> None:
    run = validated[registration, fmt]
    data: Extract = run["extract"]
    checks = {c["rule_id"]: c for d in run["report"]["datasets"] for c in d["checks"]}
    source = "csv" if fmt.startswith("csv") else "fhir"
    expected_failures: set[str] = set()
    seen_kinds: set[str] = set()
    for dataset, entries in bad_rows["registrations"][registration].items():
        table = data.datasets[dataset]
        key = CATALOGUE.get(registration).dictionary.dataset(dataset).key[0]
        positions = {k: i for i, k in enumerate(table.clinical.column(key).to_pylist())}
        refs = table.row_refs.to_pylist()
        for entry in entries["rows"]:
            if source not in entry["formats"]:
                continue
            if not YEAR.contains(Period.parse(entry["period_date"][:4]).start) or (
                entry["key"][key] not in positions
            ):
                continue  # outside the period: not in the extract
            rule = rule_for(dataset, entry)
            check = checks[rule]
            assert not check["passed"], f"{rule} passed although {entry['kind']} was planted"
            assert refs[positions[entry["key"][key]]] in check["failing_rows"], rule
            expected_failures.add(rule)
            seen_kinds.add(entry["kind"])
    assert seen_kinds >= {"missing_required", "invalid_code", "cross_field"}
    if source == "csv":
        assert "wrong_date_format" in seen_kinds
    failed = {rule for rule, check in checks.items() if not check["passed"]}
    assert expected_failures <= failed
    # The only other failures follow from an unparseable value: it is missing now, too.
    unparseable = {checks[r]["variable"] for r in failed if checks[r]["kind"] == "type"}
    for rule in failed - expected_failures:
        check = checks[rule]
        assert check["kind"] in ("required", "required_if"), rule
        assert check["variables"][0] in unparseable, rule
    assert run["outcome"].blocked
    assert run["outcome"].rows == {name: d.num_rows for name, d in data.datasets.items()}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_reports_contain_no_identifier_of_the_input(
    validated: dict[tuple[str, str], dict[str, Any]], registration: str, fmt: str
) -> None:
    run = validated[registration, fmt]
    values = identifier_values(run["extract"])
    assert len(values) > 3 * PATIENTS
    search = WholeTokens(values)
    for name in ("validation-report.json", "validation-report.html"):
        text = (run["dir"] / name).read_text(encoding="utf-8")
        leaked = search.found_in(text)
        assert not leaked, f"{registration} {fmt} {name}: {len(leaked)} identifier(s) found"
    if fmt == "csv-cp1252":  # data docs were built for this one: hospital-only, still no identity
        pages = list((run["dir"] / "data-docs").rglob("*.html"))
        assert pages
        text = "".join(p.read_text(encoding="utf-8") for p in pages)
        bsns = {v for v in values if re.fullmatch(r".*\d{9}.*", re.escape(v))}
        assert bsns and not WholeTokens(bsns).found_in(text)


def test_the_one_pass_search_agrees_with_the_patterns(
    validated: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """`WholeTokens` gives each value's `whole_token` verdict, on reports and planted texts."""
    values = identifier_values(validated["dica-dsaa", "csv-utf8"]["extract"])
    planted = sorted(values)[:40]
    texts = [
        (validated["dica-dsaa", "csv-utf8"]["dir"] / "validation-report.html").read_text("utf-8"),
        " ".join(planted),  # each standing alone
        "x".join(planted) + "1",  # each touched by letters, the last by a digit
        ";".join(f"{v}é" for v in planted),  # a non-ASCII letter is no word character here
        "\n".join(f"_{v}-" for v in planted),
    ]
    search = WholeTokens(values)
    for text in texts:
        expected = {v for v in values if whole_token(v).search(text)}
        assert search.found_in(text) == expected
    assert set(planted) <= search.found_in(texts[1])  # the planted texts show both verdicts
    assert not set(planted) <= search.found_in(texts[2])


def test_csv_encodings_give_the_same_report(
    validated: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for registration in ("dica-dsaa", "ldtr", "nkr-borst"):
        utf8 = validated[registration, "csv-utf8"]["report"]
        cp1252 = validated[registration, "csv-cp1252"]["report"]
        assert utf8["datasets"] == cp1252["datasets"]
        assert utf8["counts"] == cp1252["counts"]
