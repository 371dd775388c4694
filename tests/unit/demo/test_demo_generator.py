"""A demo run as a whole: determinism, independence, chunking, scale, safety, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from demo_support import bad_rows

from aanlevering.catalogue import Catalogue
from aanlevering.cli.main import main
from aanlevering.demo import SUMMARY_FILE, DemoOptions, generate_demo_data
from aanlevering.errors import ConfigError


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run(catalogue: Catalogue, out: Path, **options: object) -> Path:
    defaults: dict[str, object] = {"patients": 250, "seed": 11}
    defaults.update(options)
    generate_demo_data(catalogue, DemoOptions(out_dir=out, **defaults))  # type: ignore[arg-type]
    return out


def test_same_seed_gives_byte_identical_files(catalogue: Catalogue, tmp_path: Path) -> None:
    first = digest(run(catalogue, tmp_path / "a"))
    second = digest(run(catalogue, tmp_path / "b"))
    assert first == second
    assert len(first) > 20


def test_different_seed_gives_different_files(catalogue: Catalogue, tmp_path: Path) -> None:
    first = digest(run(catalogue, tmp_path / "a", registrations=("ldtr",), formats={"csv"}))
    other = digest(
        run(catalogue, tmp_path / "b", registrations=("ldtr",), formats={"csv"}, seed=12)
    )
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first if name.endswith(".csv"))


def test_a_registration_gets_the_same_data_whatever_else_is_selected(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    everything = digest(run(catalogue, tmp_path / "all"))
    alone = digest(run(catalogue, tmp_path / "one", registrations=("nkr-borst",)))
    for name, value in alone.items():
        if "nkr" in name:
            assert everything[name] == value, name


def test_chunked_runs_keep_every_kind_and_unique_keys(catalogue: Catalogue, tmp_path: Path) -> None:
    out = tmp_path / "chunked"
    generate_demo_data(
        catalogue,
        DemoOptions(out_dir=out, patients=2_500, seed=3, registrations=("ldtr",), chunk_size=1_000),
    )
    report = bad_rows(out)["registrations"]["ldtr"]["trauma"]
    assert report["count"] == 50
    assert set(report["kinds"].values()) == {10}
    lines = (out / "csv-utf8" / "ltr_trauma_2026.csv").read_text("utf-8-sig").splitlines()
    keys = [line.split(";")[12] for line in lines[1:]]
    assert len(keys) == len(set(keys)) == 2_500
    bundles = sorted((out / "fhir-bundles" / "ldtr").glob("*.json"))
    assert len(bundles) == 25


def test_twenty_thousand_patients_are_generated(catalogue: Catalogue, tmp_path: Path) -> None:
    out = tmp_path / "large"
    result = generate_demo_data(
        catalogue,
        DemoOptions(out_dir=out, patients=20_000, seed=9, formats=frozenset({"csv"})),
    )
    assert result.registrations["dica-dsaa"].records["operatie"] == 20_000
    assert result.registrations["ldtr"].records["trauma"] == 20_000
    assert result.registrations["nkr-borst"].records["tumor"] > 20_000  # bilateral tumours
    rows = (out / "csv-cp1252" / "ltr_trauma_2026.csv").read_bytes().count(b"\r\n")
    assert rows == 20_001
    summary = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert summary["patients_per_registration"] == 20_000
    assert not (out / "fhir-bulk").exists()


def test_a_rerun_replaces_earlier_demo_output(catalogue: Catalogue, tmp_path: Path) -> None:
    out = run(catalogue, tmp_path / "demo", registrations=("ldtr",))
    (out / "stale.txt").write_text("left over", encoding="utf-8")
    run(catalogue, out, registrations=("nkr-borst",), formats={"csv"})
    assert not (out / "stale.txt").exists()
    assert not (out / "csv-utf8" / "ltr_trauma_2026.csv").exists()
    assert (out / "csv-utf8" / "nkr_tumoren_2026.csv").exists()
    assert not list(tmp_path.glob(".demo.partial-*"))


def test_refuses_to_overwrite_a_folder_it_did_not_make(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        run(catalogue, tmp_path)
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"patients": 0}, "at least 1"),
        ({"bad_share": 0.9}, "--bad-share"),
        ({"formats": frozenset({"xml"})}, "--formats"),
        ({"registrations": ("no-such",)}, "unknown registration"),
        ({"seed": -1}, "--seed"),
        ({"patients": 100_000_000}, "unique demo patients"),
    ],
)
def test_unusable_options_raise_config_error(
    catalogue: Catalogue, tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        run(catalogue, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_cli_writes_the_demo_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    code = main(
        [
            "demo-data",
            "--out",
            str(out),
            "--patients",
            "200",
            "--seed",
            "4",
            "--registration",
            "ldtr,dica-dsaa",
            "ldtr",
            "--formats",
            "csv",
            "--bad-share",
            "0.05",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "ldtr: trauma 200 records, 10 bad on purpose" in captured.out
    assert "dica-dsaa: operatie 200" in captured.out
    assert sorted(p.name for p in (out / "csv-utf8").iterdir()) == [
        "dsaa_complicaties_2026.csv",
        "dsaa_operaties_2026.csv",
        "ltr_trauma_2026.csv",
    ]
    # no identifiers in what the command prints
    bsns = {
        line.split(";")[1]
        for line in (out / "csv-utf8" / "ltr_trauma_2026.csv").read_text("utf-8-sig").splitlines()
    }
    assert not any(bsn in captured.out + captured.err for bsn in bsns)


def test_cli_reports_bad_options_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo-data", "--out", str(tmp_path / "x"), "--formats", "pdf"])
    assert code == 2
    assert "--formats" in capsys.readouterr().err


def test_separate_processes_with_other_hash_seeds_write_the_same_bytes(tmp_path: Path) -> None:
    """No set or dict order leaks into the files (Python randomises str hashes per process)."""
    digests = []
    for hash_seed in ("1", "4242"):
        out = tmp_path / f"run-{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "aanlevering.cli.main",
                "demo-data",
                "--out",
                str(out),
                "--patients",
                "200",
                "--seed",
                "5",
                "--registration",
                "dica-dsaa",
            ],
            check=True,
            env=env,
            capture_output=True,
            timeout=300,
        )
        digests.append(digest(out))
    assert digests[0] == digests[1]
