"""Both FHIR readers count the records they leave out as copies or as entered in error.

A second copy of a record's resource (two exports concatenated, a Bundle
repeating it) is read once; a record entered in error is never delivered.
Both left the records as a log line only, so the run's accounting summed to
fewer records than the source held. The streaming reader and the store
reader (its fallback) count them per dataset, the same (decision 0692);
copies of resources that are no record (a Patient, a Condition of another
category) are not records left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue, load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.extract.fhir import _Plan
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[3]
YEAR = Period.parse("2026")
ERROR = {"coding": [{"code": "entered-in-error"}]}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    options = DemoOptions(out_dir=out, patients=12, seed=5, registrations=("nkr-borst",))
    generate_demo_data(catalogue, options)
    return out / "fhir-bulk" / "nkr-borst"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def _is_tumour(resource: dict[str, Any]) -> bool:
    return any(
        coding.get("code") == "tumor"
        for concept in resource.get("category", ())
        for coding in concept.get("coding", ())
    )


def _planted(source: Path, target: Path) -> Path:
    """The export with copies of two tumours, a tumour entered in error, and copies of no record."""
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    conditions = _lines(target / "Condition.ndjson")
    tumours = [r for r in conditions if _is_tumour(r)]
    others = [r for r in conditions if not _is_tumour(r)]
    in_period = [r for r in tumours if str(r.get("onsetDateTime", "")).startswith("2026")]
    assert len(in_period) >= 3
    planted = [
        *conditions,
        in_period[0],  # a second copy ...
        in_period[1],  # ... of two records
        in_period[1],  # and a third of one of them
        dict(in_period[2], id=f"{in_period[2]['id']}-x", verificationStatus=ERROR),
        *others[:1],  # a copy of a Condition that is no record
    ]
    text = "".join(json.dumps(r) + "\n" for r in planted)
    (target / "Condition.ndjson").write_text(text, encoding="utf-8")
    patients = _lines(target / "Patient.ndjson")
    text = "".join(json.dumps(r) + "\n" for r in [*patients, patients[0]])
    (target / "Patient.ndjson").write_text(text, encoding="utf-8")
    return target


def test_both_readers_count_copies_and_records_entered_in_error(
    bulk: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    plan = _Plan.of(catalogue.get("nkr-borst"), None)
    clean = plan.streamed(bulk, YEAR)
    assert not clean.duplicates and not clean.entered_in_error
    source = _planted(bulk, tmp_path / "export")
    for extracted in (plan.streamed(source, YEAR), plan.stored(source, YEAR)):
        assert extracted.duplicates == {"tumor": 3}
        assert extracted.entered_in_error == {"tumor": 1}
        # The records read are the clean export's: each copy read once, the error left out.
        assert extracted.datasets["tumor"].num_rows == clean.datasets["tumor"].num_rows
        assert extracted.rows_outside_period == clean.rows_outside_period
