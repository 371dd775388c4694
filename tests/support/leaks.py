"""Which input identifiers occur in written text, in one pass per text.

Why: the privacy test searches every file a run wrote for thousands of
identifiers. A substring search per identifier and file read each file once per
identifier (two minutes of the suite); an Aho-Corasick automaton finds every
occurrence of every identifier in one pass, with the same verdicts
(`tests/unit/test_support_leaks.py` pins it to the per-identifier search).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

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


class FileLeakSearch:
    """`LeakFinder` verdicts on whole files, each distinct content searched once.

    Why: a module that searches everything written after each run rereads the
    same files run after run (a run's Great Expectations data docs, 4 MB of the
    same images per run, 35 MB by the end of the leak tests). The verdict for a
    file depends only on its bytes and the identifiers searched for, so it is
    kept under a digest of both: a file whose content changed in any byte is
    searched again in full, and the same content under another path is not.
    """

    def __init__(self) -> None:
        self._finders: dict[frozenset[str], LeakFinder] = {}
        self._verdicts: dict[tuple[frozenset[str], bytes], frozenset[str]] = {}

    def finder(self, identifiers: Iterable[str]) -> LeakFinder:
        """The (kept) finder for ``identifiers``."""
        key = frozenset(identifiers)
        if key not in self._finders:
            self._finders[key] = LeakFinder(key)
        return self._finders[key]

    def found_in_file(self, identifiers: Iterable[str], path: Path) -> set[str]:
        """Every identifier that `appears` in ``path``'s text (UTF-8, bad bytes replaced)."""
        key = frozenset(identifiers)
        data = path.read_bytes()
        digest = hashlib.blake2b(data, digest_size=32).digest()
        verdict = self._verdicts.get((key, digest))
        if verdict is None:
            text = data.decode("utf-8", errors="replace")
            verdict = frozenset(self.finder(key).found_in(text))
            self._verdicts[(key, digest)] = verdict
        return set(verdict)


def _needs_standing_alone(value: str) -> bool:
    return len(value) < 12 and _HEX_VALUE.fullmatch(value) is not None


def _touched_by_hex(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end + 1] if end + 1 < len(text) else ""
    return before in _HEX or after in _HEX
