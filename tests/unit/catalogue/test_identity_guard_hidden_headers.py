"""A mapping that hides an identity column from the catalogue guard is refused (decision 0852).

The guard knows identity columns by their header (``GESLACHTSNAAM``), compared
upper-case without spaces, dashes and underscores. A header written with a
zero-width space, a BOM or full-width letters looks the same to a reviewer and
matches an export with the same header, but passed the guard. A variable (or an
identity field) mapped from two columns took the last one silently: a reviewer
reading ``TECHNIEK: techniek`` did not see that ``NM_PAT: techniek`` below it is
what goes out.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.loader import CatalogueInvalid

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"
#: GESLACHTSNAAM in full-width letters (U+FF27 ...): the same header to a reader.
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "GESLACHTSNAAM")


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def _problems(catalogue: Path, change: Callable[[dict[str, Any]], None]) -> list[str]:
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data["source"]["csv"]["datasets"]["operatie"])
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue)
    return [p.message for p in caught.value.problems]


@pytest.mark.parametrize(
    "header",
    ["GESLACHTS\u200bNAAM", "\ufeffGESLACHTSNAAM", FULL_WIDTH, "Geslachts\u00adnaam"],
    ids=["zero-width space", "BOM", "full-width", "soft hyphen"],
)
def test_an_identity_header_with_hidden_characters_is_refused(
    catalogue_copy: Path, header: str
) -> None:
    def change(dataset: dict[str, Any]) -> None:
        del dataset["columns"]["TECHNIEK"]
        dataset["columns"][header] = "techniek"

    (problem,) = _problems(catalogue_copy, change)
    assert "variable techniek" in problem and "holds a name" in problem
    if header != FULL_WIDTH:
        assert "<U+" in problem  # the hidden character is shown


@pytest.mark.parametrize("part", ["columns", "identity"])
def test_a_variable_or_identity_field_mapped_from_two_columns_is_refused(
    catalogue_copy: Path, part: str
) -> None:
    def change(dataset: dict[str, Any]) -> None:
        if part == "columns":
            dataset["columns"]["NM_PAT"] = "techniek"
        else:
            dataset["identity"]["NM_PAT"] = "own_name"

    (problem,) = _problems(catalogue_copy, change)
    target = "techniek" if part == "columns" else "own_name"
    assert f"{target} is mapped from 2 columns" in problem
    assert "NM_PAT" in problem
