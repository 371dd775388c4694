"""``registrations new``: a config proposed from a sample, TODOs where a person must decide."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.main import main

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
EXAMPLES = ("dica-dsaa", "ldtr", "nkr-borst")


def _example(registration: str) -> dict[str, Any]:
    path = CATALOGUE / "registrations" / f"{registration}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _csv_sample(demo: Path, registration: str, target: Path) -> Path:
    """The registration's own CSV files of the demo export, as a hospital would hand them over."""
    target.mkdir()
    for dataset in _example(registration)["source"]["csv"]["datasets"].values():
        for path in (demo / "csv-utf8").glob(dataset["file"]):
            shutil.copy(path, target / path.name)
    return target


def _new(
    catalogue: Path, dictionary: str, new_id: str, sample: Path, out: Path,
    capsys: pytest.CaptureFixture[str],
) -> str:  # fmt: skip
    args = ["--dictionary", dictionary, "--id", new_id, "--sample", str(sample), "--out", str(out)]
    code = main(["registrations", "--catalogue", str(catalogue), "new", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "decision(s) marked TODO" in captured.out
    return out.read_text(encoding="utf-8")


def _resolve(text: str, decide: dict[str, str] | None = None) -> str:
    """Accept every proposal; a placeholder line ``# name: ?`` takes ``decide[name]``."""
    lines = []
    for line in text.splitlines():
        if "# TODO" not in line:
            lines.append(line)
            continue
        body = line[: line.index("# TODO")].rstrip()
        if body.lstrip().startswith("#"):
            name = body.strip().lstrip("# ").split(":")[0]
            assert decide is not None and name in decide, f"undecidable TODO: {line}"
            indent = body[: len(body) - len(body.lstrip())]
            lines.append(f"{indent}{decide[name]}")
        else:
            lines.append(body)
    return "\n".join(lines) + "\n"


def _values(sample: Path) -> set[str]:
    """Every cell of the sample long enough to identify something (names, BSNs, dates)."""
    import csv

    found: set[str] = set()
    for path in sample.glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                found.update(v for v in row.values() if v and len(v) >= 6)
    assert found
    return found


@pytest.mark.parametrize("registration", EXAMPLES)
def test_csv_scaffold_resolves_to_the_example_mappings_and_checks(
    registration: str, demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = _example(registration)
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    sample = _csv_sample(demo, registration, tmp_path / "sample")
    new_id = f"nieuw-{registration}"
    out = catalogue / "registrations" / f"{new_id}.yaml"
    text = _new(catalogue, example["dictionary"]["id"], new_id, sample, out, capsys)
    # nothing of the sample's values is written, only headers and file names
    assert not [value for value in _values(sample) if value in text]
    # unresolved: the check fails and names the TODOs
    assert main(["registrations", "--catalogue", str(catalogue), "check", new_id]) == 2
    assert "unresolved TODO" in capsys.readouterr().err

    resolved = _resolve(text)
    out.write_text(resolved, encoding="utf-8")
    got = yaml.safe_load(resolved)["source"]["csv"]["datasets"]
    want = example["source"]["csv"]["datasets"]
    assert set(got) == set(want)
    for name, dataset in want.items():
        assert got[name]["file"] == dataset["file"], name
        assert got[name]["columns"] == dataset["columns"], name
        assert got[name].get("identity", {}) == dataset.get("identity", {}), name
    assert main(["registrations", "--catalogue", str(catalogue), "check", new_id]) == 0
    assert (
        main(
            [
                "registrations",
                "--catalogue",
                str(catalogue),
                "check",
                new_id,
                "--sample",
                str(sample),
            ]
        )
        == 0
    ), capsys.readouterr().out


def _as_mapping(value: Any) -> dict[str, Any]:
    return {"element": value} if isinstance(value, str) else dict(value)


@pytest.mark.parametrize("registration", EXAMPLES)
def test_fhir_scaffold_proposes_the_example_paths_it_can_name(
    registration: str, demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = _example(registration)
    sample = demo / "fhir-bulk" / registration
    out = tmp_path / "new.yaml"
    text = _new(CATALOGUE, example["dictionary"]["id"], "nieuw", sample, out, capsys)
    want = example["source"]["fhir"]["datasets"]
    decide = {
        name: f"{name}: {json.dumps(value)}"
        for dataset in want.values()
        for name, value in dataset["variables"].items()
    }
    config = yaml.safe_load(_resolve(text, decide))
    got = config["source"]["fhir"]["datasets"]
    assert config["source"]["fhir"]["mrn_system"].endswith("/demo-hospital-patientnummer")
    proposed = 0
    for name, dataset in want.items():
        assert got[name]["resource"] == dataset["resource"], name
        assert got[name]["where"]["system"] == dataset["where"]["system"], name
        assert set(dataset["where"]["codes"]) <= set(got[name]["where"]["codes"]), name
        for variable, mapping in dataset["variables"].items():
            assert _as_mapping(got[name]["variables"][variable]) == _as_mapping(mapping), variable
        proposed += sum(1 for v in dataset["variables"] if f"# {v}: ?" not in text)
    # most variables are proposed right from the sample's elements, not left to a person
    assert proposed >= 0.5 * sum(len(d["variables"]) for d in want.values())
    # decided (the filter's codes as the example keeps them), the config checks and fits
    for name, dataset in want.items():
        got[name]["where"] = dataset["where"]
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    (catalogue / "registrations" / "nieuw.yaml").write_text(yaml.safe_dump(config), "utf-8")
    check = ["registrations", "--catalogue", str(catalogue), "check", "nieuw"]
    assert main([*check, "--sample", str(sample)]) == 0, capsys.readouterr()


def test_a_csv_export_without_record_ids_gets_record_keys_to_decide(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    sample = tmp_path / "sample"
    sample.mkdir()
    source = next((demo / "csv-utf8").glob("ltr_trauma*.csv"))
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    columns = [c for c in rows[0] if c != "TRAUMA_ID"]
    with (sample / "trauma_export.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=";", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    text = _new(CATALOGUE, "ltr", "trauma-zonder-id", sample, tmp_path / "new.yaml", capsys)
    lines = [line for line in text.splitlines() if "trauma_id" in line]
    assert any(line.strip().startswith("record_keys:") for line in text.splitlines())
    key_line = next(line for line in lines if "trauma_id: [" in line)
    assert "trauma_id: [PATIENTNUMMER, DATUM_ONGEVAL]" in key_line and "# TODO" in key_line
    assert "PATIENTNUMMER: trauma_id" not in text


def test_new_refuses_to_overwrite_and_unknown_dictionaries(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exists.yaml"
    out.write_text("keep me\n", encoding="utf-8")
    args = ["registrations", "--catalogue", str(CATALOGUE), "new", "--dictionary", "ltr",
            "--id", "x", "--sample", str(demo / "csv-utf8"), "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "keep me\n"
    args[5] = "onbekend"
    assert main([*args[:-1], str(tmp_path / "new.yaml")]) == 2
    assert "no dictionary 'onbekend'" in capsys.readouterr().err
    assert load_catalogue(CATALOGUE)  # the examples are untouched


def test_identity_under_an_unforeseen_header_is_recognised_by_content(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    sample = tmp_path / "sample"
    sample.mkdir()
    source = next((demo / "csv-utf8").glob("ltr_trauma*.csv"))
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    renamed = {"BSN": "SOFI", "POSTCODE": "PC_WOON", "VOORLETTERS": "VL"}
    with (sample / "ltr_trauma_2026.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow([renamed.get(c, c) for c in rows[0]])
        writer.writerows([list(row.values()) for row in rows])
    text = _new(CATALOGUE, "ltr", "x", sample, tmp_path / "new.yaml", capsys)
    lines = {line.split(":")[0].strip(): line for line in text.splitlines() if ": " in line}
    assert lines["SOFI"].startswith("          SOFI: bsn  # TODO: recognised by 9 digits")
    assert "PC_WOON: postcode  # TODO: recognised by Dutch postcodes" in lines["PC_WOON"]
    assert "VL: initials  # TODO: recognised by initials" in lines["VL"]
    # under identity, never under columns
    identity_at = text.index("        identity:")
    assert all(text.index(lines[c]) > identity_at for c in ("SOFI", "PC_WOON", "VL"))


def test_street_phone_and_email_headers_are_proposed_as_identity_for_the_guard(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Decision 0410: an export's STRAAT, TELEFOON and EMAIL are identity, never a variable."""
    import csv

    sample = tmp_path / "sample"
    sample.mkdir()
    source = next((demo / "csv-utf8").glob("ltr_trauma*.csv"))
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    extra = {"STRAAT": "Dorpsstraat", "TELEFOON": "06-12345678", "EMAIL": "a@example.nl"}
    with (sample / "ltr_trauma_2026.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow([*rows[0], *extra])
        writer.writerows([[*row.values(), *extra.values()] for row in rows])
    text = _new(CATALOGUE, "ltr", "x", sample, tmp_path / "new.yaml", capsys)
    identity_at = text.index("        identity:")
    for header, field_name in (("STRAAT", "street"), ("TELEFOON", "phone"), ("EMAIL", "email")):
        line = f"          {header}: {field_name}"
        assert line in text
        assert text.index(line) > identity_at
