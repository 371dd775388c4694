"""A run folder gives the next step exactly what the previous one saved (separate processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.errors import ConfigError
from aanlevering.extract.model import Extract, ExtractedDataset, TypeProblem
from aanlevering.periods import Period
from aanlevering.pseudonym.model import PseudonymColumn, PseudonymTable
from aanlevering.pseudonym_types import PseudonymType
from aanlevering.runs.folder import RunFolder


def _extract() -> Extract:
    dataset = ExtractedDataset(
        name="operatie",
        clinical=pa.table(
            {
                "operatie_id": pa.array(["OK1", "OK2"]),
                "datum_operatie": pa.array([date(2026, 1, 5), None], pa.date32()),
                "diameter_mm": pa.array([55.5, 61.0]),
            }
        ),
        identity=pa.table({"patient_id": ["P1", "P2"], "bsn": ["123456782", None]}),
        row_refs=pa.array(["ops.csv:2", "ops.csv:3"]),
        type_problems=(TypeProblem("ops.csv:3", "datum_operatie", "date dd-mm-yyyy"),),
        source_files=("ops.csv",),
        rows_outside_period=4,
        orphan_row_refs=("compl.csv:9",),
    )
    return Extract("dica-dsaa", Period.parse("2026-Q1"), "csv", {"operatie": dataset}, 4)


def test_extract_and_refs_round_trip_in_another_process(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run-1")
    original = _extract()
    folder.save_extract("filtered", original, {"operatie": pa.array(["pr_a", "pr_b"])})
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from aanlevering.runs.folder import RunFolder\n"
        "e, refs = RunFolder(Path(sys.argv[1])).load_extract('filtered')\n"
        "d = e.datasets['operatie']\n"
        "print(json.dumps([e.period.label, d.clinical.to_pylist(), d.identity.to_pylist(),"
        " d.row_refs.to_pylist(), refs['operatie'].to_pylist(),"
        " [p.variable for p in d.type_problems], d.rows_outside_period,"
        " list(d.orphan_row_refs)], default=str))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder.path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded, refs = folder.load_extract("filtered")
    dataset = loaded.datasets["operatie"]
    assert dataset.clinical.equals(original.datasets["operatie"].clinical)
    assert dataset.clinical.schema == original.datasets["operatie"].clinical.schema
    assert dataset.type_problems == original.datasets["operatie"].type_problems
    assert refs["operatie"].to_pylist() == ["pr_a", "pr_b"]
    assert '"2026-Q1"' in done.stdout and '"pr_b"' in done.stdout


def _pseudonym_table() -> PseudonymTable:
    return PseudonymTable(
        pa.array(["P1", "P2", "P3"]),
        [
            PseudonymColumn(
                PseudonymType.NGGV,
                pa.array(["T1:abc", None, "T1:def"]),
                pa.array([1, None, 1], pa.int64()),
                True,
                "nl-2026.1",
            ),
            PseudonymColumn(
                PseudonymType.MRN,
                pa.array(["M:xyz", "M:uvw", None]),
                pa.array([3, 3, None], pa.int64()),
                False,
                "nl-2026.1",
            ),
        ],
    )


def test_pseudonyms_travel_as_arrow_columns_and_state_updates(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run-2")
    folder.update(registration="dica-dsaa", period="2026-Q1")
    folder.update(version=2)
    assert folder.values() == {"registration": "dica-dsaa", "period": "2026-Q1", "version": 2}
    original = _pseudonym_table()
    folder.save_pseudonyms(original)
    # Another process (the output task) gets the same columns, as a PseudonymTable.
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from aanlevering.runs.folder import RunFolder\n"
        "t = RunFolder(Path(sys.argv[1])).load_pseudonyms()\n"
        "print(json.dumps([type(t).__name__, t.patient_ids.to_pylist(),"
        " [[str(c.type), c.values.to_pylist(), c.key_versions.to_pylist(), c.temporary,"
        " c.profile] for c in t.columns]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder.path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    expected = [
        "PseudonymTable",
        ["P1", "P2", "P3"],
        [
            ["NGGV", ["T1:abc", None, "T1:def"], [1, None, 1], True, "nl-2026.1"],
            ["MRN", ["M:xyz", "M:uvw", None], [3, 3, None], False, "nl-2026.1"],
        ],
    ]
    assert json.loads(done.stdout) == expected
    loaded = folder.load_pseudonyms()
    assert loaded["P1"].pseudonyms == original["P1"].pseudonyms
    assert loaded["P2"].pseudonyms == original["P2"].pseudonyms
    # Identifiers live in these files: owner-only, whatever the umask.
    for path in folder.path.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path
    folder.remove()
    assert not folder.path.exists()


def test_a_missing_step_output_is_a_clear_error(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run-3")
    with pytest.raises(ConfigError, match="output of step 'filtered' is missing"):
        folder.load_extract("filtered")
    with pytest.raises(ConfigError, match=r"has no run\.json"):
        folder.values()


def test_an_unchanged_table_is_linked_not_written_again(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run-2")
    folder.save_extract("filtered", _extract())
    again = RunFolder(folder.path)  # the next step: another process in Airflow
    loaded, _ = again.load_extract("filtered")
    again.save_extract("pseudonymised", loaded)
    work = folder.path / "work"
    for part in ("clinical", "identity"):
        first = (work / "filtered" / f"d0.{part}.arrow").stat()
        second = (work / "pseudonymised" / f"d0.{part}.arrow").stat()
        assert first.st_ino == second.st_ino and first.st_nlink == 2
        assert oct(second.st_mode & 0o777) == "0o600"
    reread, _ = RunFolder(folder.path).load_extract("pseudonymised")
    assert reread.datasets["operatie"].clinical.equals(loaded.datasets["operatie"].clinical)

    changed = loaded.datasets["operatie"]
    table = changed.clinical.slice(0, 1)
    smaller = replace(
        loaded,
        datasets={
            "operatie": replace(
                changed,
                clinical=table,
                identity=changed.identity.slice(0, 1),
                row_refs=changed.row_refs.slice(0, 1),
            )
        },
    )
    again.save_extract("kept", smaller)
    written = (work / "kept" / "d0.clinical.arrow").stat()
    assert written.st_ino != (work / "filtered" / "d0.clinical.arrow").stat().st_ino
    assert RunFolder(folder.path).load_extract("kept")[0].datasets["operatie"].num_rows == 1
