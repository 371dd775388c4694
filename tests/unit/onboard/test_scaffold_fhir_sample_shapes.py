"""``registrations new`` on a FHIR sample with a resource of the wrong JSON shape names it (0687).

Text where FHIR has a CodeableConcept (``"type": "MR"``) or a list of codings
made the scaffold raise ``AttributeError``: exit 4, "a bug", on a problem of
the sample. The extract names such a resource by ``file:line`` and type, never
a value (decision 0210); so does the scaffold.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aanlevering.cli.main import main

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"
CATALOGUE = REPO / "schemas" / "catalogue"


def _mrn_type_as_text(resource: dict[str, Any]) -> None:
    resource["identifier"][1]["type"] = "MR"


def _codings_as_text(resource: dict[str, Any]) -> None:
    resource["type"] = [{"coding": "Vliet-Kwaadsteniet"}]


@pytest.mark.parametrize(
    ("file", "damage"),
    [("Patient.ndjson", _mrn_type_as_text), ("Encounter.ndjson", _codings_as_text)],
)
def test_a_sample_resource_of_the_wrong_shape_is_exit_2_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    file: str,
    damage: Callable[[dict[str, Any]], None],
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    sample = tmp_path / "sample"
    shutil.copytree(NL, sample)
    resources = [json.loads(line) for line in (sample / file).read_text().splitlines()]
    damage(resources[0])
    (sample / file).write_text("".join(json.dumps(r) + "\n" for r in resources))

    code = main(
        [
            *("registrations", "--catalogue", str(CATALOGUE), "new", "--dictionary", "ltr"),
            *("--id", "ltr-new", "--sample", str(sample), "--out", str(tmp_path / "new.yaml")),
        ]
    )

    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{file}:1" in err and "wrong JSON shape" in err
    assert "Vliet-Kwaadsteniet" not in err
