"""libyaml reads every YAML file of the project as PyYAML's own safe loader does.

Why: `aanlevering.yaml_input.safe_load` swaps the parser for speed (each Airflow
task loads the catalogue again); a difference in what it builds would change a
registration without anyone noticing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aanlevering import yaml_input

REPO = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(
    [
        *(
            p
            for folder in ("schemas", "tests", "great_expectations", "dags")
            for p in (REPO / folder).rglob("*.y*ml")
        ),
        *REPO.glob("*.y*ml"),  # docker-compose.yml: anchors and merge keys
    ]
)


def test_libyaml_is_the_parser() -> None:
    assert yaml.__with_libyaml__
    assert yaml_input._SAFE_LOADER is yaml.CSafeLoader


def test_every_yaml_file_of_the_project_loads_the_same() -> None:
    assert len(YAML_FILES) > 10  # the catalogue, GX, compose
    different = []
    for path in YAML_FILES:
        text = path.read_text(encoding="utf-8")
        try:
            expected = yaml.safe_load(text)
        except yaml.YAMLError:
            with pytest.raises(yaml.YAMLError):
                yaml_input.safe_load(text)
            continue
        if yaml_input.safe_load(text) != expected:
            different.append(path.relative_to(REPO))
    assert different == []


@pytest.mark.parametrize(
    "text",
    [
        "id: x\nwhen: 2026-01-01\nshare: 0.5\nflags: [yes, no, on, off]\nnull_value: ~\n",
        "anchors: &a {k: 1}\nuse: *a\nmerged:\n  <<: *a\n  j: 2\n",
        "multi: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
        "octal: 0o17\nold_octal: 017\nhex: 0x1F\nbig: 123456789012345678901234567890\n",
        "unicode: \"caf\\u00e9 \\U0001F600\"\nquoted: '1234'\nbsn_like: 012345678\n",
    ],
)
def test_awkward_documents_load_the_same(text: str) -> None:
    assert yaml_input.safe_load(text) == yaml.safe_load(text)


def test_a_broken_document_still_says_where() -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        yaml_input.safe_load("id: x\nlist: [1, 2\nother: 3\n")
    mark = caught.value.problem_mark  # type: ignore[attr-defined]
    assert mark is not None and mark.line >= 1


def test_python_objects_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml_input.safe_load("!!python/object/apply:os.system ['true']\n")
