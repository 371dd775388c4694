"""The one-pass leak search finds exactly what the per-identifier search finds.

Why: the privacy test of the whole run relies on `LeakFinder`; a finder that
missed an occurrence would let a leak pass unnoticed.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from support.leaks import FileLeakSearch, LeakFinder, appears


def _random_text(rng: random.Random, planted: list[str]) -> str:
    alphabet = string.ascii_letters + string.digits + " ;,:{}\"'-_\n"
    pieces = ["".join(rng.choices(alphabet, k=rng.randint(0, 40)))]
    for value in rng.sample(planted, k=rng.randint(0, len(planted))):
        glue = rng.choice(["", " ", "a", "F", "0", ";", "x"])
        pieces += [glue, value, glue, "".join(rng.choices(alphabet, k=rng.randint(0, 20)))]
    return "".join(pieces)


def test_the_finder_agrees_with_the_per_identifier_search() -> None:
    rng = random.Random(18)
    identifiers = [
        "123456782",  # a BSN: all digits, so hex-like and short
        "3087ed",  # a postcode that could be hex
        "3087 ED",
        "Jansen",
        "Jan",
        "Janssen-de Vries",
        "0123456789abcdef0",  # long hex: counts anywhere
        "Dorpsstraat 12",
        "a",
    ]
    disagreements = []
    for _ in range(3000):
        text = _random_text(rng, identifiers)
        expected = {value for value in identifiers if appears(value, text)}
        found = LeakFinder(identifiers).found_in(text)
        if found != expected:
            disagreements.append((text, expected, found))
    assert disagreements == []


def test_a_short_hex_value_counts_only_where_it_stands_alone() -> None:
    finder = LeakFinder(["3087ed", "Jansen"])
    assert finder.found_in("pr_a93087edff and Jansen") == {"Jansen"}
    assert finder.found_in("pr_a93087edff, later postcode 3087ed.") == {"3087ed"}
    assert finder.found_in("3087ed") == {"3087ed"}
    assert finder.found_in("") == set()


def test_the_file_search_gives_the_finders_verdict_for_each_content(tmp_path: Path) -> None:
    """A file changed by one byte, or back, is judged on its new bytes (decision 0860)."""
    identifiers = ["123456782", "3087ed", "Jansen"]
    search = FileLeakSearch()
    file, copy = tmp_path / "a.txt", tmp_path / "b.txt"
    contents = [
        "pr_a93087edff",
        "pr_a93087edff and Jansen",
        "pr_a93087ed-ff and Jansen",  # one byte more: the postcode now stands alone
        "pr_a93087edff",  # back to the first content
        "bsn 123456782\n\xff\xfe",
        "",
    ]
    for text in contents:
        file.write_bytes(text.encode("latin-1"))
        copy.write_bytes(text.encode("latin-1"))
        expected = LeakFinder(identifiers).found_in(
            file.read_bytes().decode("utf-8", errors="replace")
        )
        assert search.found_in_file(identifiers, file) == expected, text
        assert search.found_in_file(identifiers, copy) == expected, text
        assert search.found_in_file(["Jansen"], file) == expected & {"Jansen"}, text
