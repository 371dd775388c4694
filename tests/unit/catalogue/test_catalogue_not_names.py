"""``not_names`` of a registration (decision 0910): words, and nothing else, are accepted.

The list clears words from a privacy check (0880, 0881), so what is not a plausible
word (a name as written, a number, a code, a phrase, a two-letter entry that changes
nothing, a very long list) is refused when the catalogue loads, naming the file and
the entry's position, never the entry (it may be a patient's family name).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.loader import CatalogueInvalid
from aanlevering.catalogue.not_names import MOST

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


def _with_not_names(tmp_path: Path, words: object) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    file = target / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["not_names"] = words
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def test_listed_words_load_and_none_is_the_default(tmp_path: Path) -> None:
    assert load_catalogue(CATALOGUE).get("dica-dsaa").not_names == ()
    loaded = load_catalogue(_with_not_names(tmp_path, ["wit", "beslag", "één"]))
    assert loaded.get("dica-dsaa").not_names == ("wit", "beslag", "één")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("Wit", "not one lower-case word"),
        ("w1t", "not one lower-case word"),
        ("wit beslag", "not one lower-case word"),
        ("de-wit", "not one lower-case word"),
        ("123456", "not one lower-case word"),
        ("", "not one lower-case word"),
        ("li", "fewer than 3 letters"),
        ("xqzt", "no vowel"),
        ("wittt", "three times in a row"),
        ("ab" * 16, "more than 30 letters"),
    ],
)
def test_an_entry_that_is_not_a_plausible_word_is_refused_by_position(
    tmp_path: Path, entry: str, problem: str
) -> None:
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(_with_not_names(tmp_path, ["zwart", entry]))
    text = str(caught.value)
    assert "dica-dsaa.yaml" in text and "$.not_names[1]" in text and problem in text
    assert "$.not_names[0]" not in text  # "zwart" is a word
    if entry:
        assert not re.search(rf"(?<!\w){re.escape(entry)}(?!\w)", text)  # never the entry


def test_a_word_listed_twice_or_too_many_words_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueInvalid, match=r"\$\.not_names\[2\]: is listed twice"):
        load_catalogue(_with_not_names(tmp_path, ["wit", "zwart", "wit"]))
    many = ["w" + "aeiou"[i % 5] + chr(ord("a") + i // 5) + "k" for i in range(MOST + 1)]
    assert len(set(many)) == MOST + 1
    shutil.rmtree(tmp_path / "catalogue")
    with pytest.raises(CatalogueInvalid, match=rf"lists {MOST + 1} words; at most {MOST}"):
        load_catalogue(_with_not_names(tmp_path, many))


def test_not_a_list_of_text_is_refused_by_the_schema(tmp_path: Path) -> None:
    with pytest.raises(CatalogueInvalid, match=r"not_names"):
        load_catalogue(_with_not_names(tmp_path, "wit"))
    shutil.rmtree(tmp_path / "catalogue")
    with pytest.raises(CatalogueInvalid, match=r"not_names"):
        load_catalogue(_with_not_names(tmp_path, [12]))
