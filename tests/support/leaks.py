"""Which input identifiers occur in written text, in one pass per text.

Why: the privacy test searches every file a run wrote for thousands of
identifiers. A substring search per identifier and file read each file once per
identifier (two minutes of the suite); an Aho-Corasick automaton finds every
occurrence of every identifier in one pass, with the same verdicts
(`tests/unit/test_support_leaks.py` pins it to the per-identifier search).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

_HEX = frozenset("0123456789abcdefABCDEF")
_HEX_VALUE = re.compile(r"[0-9a-fA-F]+")


def appears(value: str, text: str) -> bool:
    """``value`` occurs in ``text``; a short value that could be hex must stand on its own.

    Hashes and keyed references fill the log with hex: a postcode such as
    ``3087ed`` occurs inside one by chance, which is no leak. Such values count
    only where no hex character touches them on either side. The straightforward
    version `LeakFinder` is pinned against.
    """
    if value not in text:
        return False
    if not _needs_standing_alone(value):
        return True
    pattern = rf"(?<![0-9a-fA-F]){re.escape(value)}(?![0-9a-fA-F])"
    return re.search(pattern, text) is not None


class LeakFinder:
    """The identifiers that `appears` in a text, found in one pass over it."""

    def __init__(self, identifiers: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for value in set(identifiers):
            if value:
                self._automaton.add_word(value, value)
        self._automaton.make_automaton()

    def found_in(self, text: str) -> set[str]:
        """Every identifier that `appears(identifier, text)`."""
        found: set[str] = set()
        for end, value in self._automaton.iter(text):
            if value in found:
                continue
            if _needs_standing_alone(value) and _touched_by_hex(text, end - len(value) + 1, end):
                continue
            found.add(value)
        return found


def _needs_standing_alone(value: str) -> bool:
    return len(value) < 12 and _HEX_VALUE.fullmatch(value) is not None


def _touched_by_hex(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end + 1] if end + 1 < len(text) else ""
    return before in _HEX or after in _HEX
