"""Words a hospital lists as *not names* in one registration's texts: checked (decision 0910).

Why: decisions 0880 and 0881 stop a run when a record's value is, or its free text
holds as a word, the record's own patient's family name. A word that is both a
clinical or ordinary word and, by coincidence, the patient's family name ("wit
beslag" of patient Wit) then blocks a legal delivery the hospital has no other
way to clear: the EHR text is correct. The registration file (the hospital's own
mapping, not the registry's dictionary) lists such words under ``not_names``.

Because the list weakens a privacy check, it is held to what it is for: words,
not names as written, numbers or identifiers. Each entry is lower-case letters
only (accented letters allowed), :data:`SHORTEST` to :data:`LONGEST` letters,
with a vowel and without a letter three times in a row, listed once, at most
:data:`MOST` entries. Problems name the entry's position, never the entry
(it may be a patient's family name).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

#: Most words one registration may list: a handful is what a registration needs.
MOST = 50
#: Shortest word: a family name shorter than this is never looked for (decision 0881).
SHORTEST = 3
#: Longest word: longer is a phrase or a typo, not a word of a note.
LONGEST = 30
_LETTERS = re.compile(r"[a-zà-öø-ÿ]+")
_VOWEL = re.compile(r"[aeiouyà-æè-ïò-öø-üýÿ]")
_TRIPLE = re.compile(r"(.)\1\1")


def not_names_problems(words: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(JSON path, message) for each entry of ``not_names`` that is not a plausible word."""
    if len(words) > MOST:
        yield (
            "$.not_names",
            f"lists {len(words)} words; at most {MOST}: list only the words that blocked a "
            "run (the message names the variable and records)",
        )
    seen: set[str] = set()
    for i, word in enumerate(words):
        path = f"$.not_names[{i}]"
        problem = _problem(word)
        if problem is None and word in seen:
            problem = "is listed twice"
        if problem is not None:
            yield (path, f"{problem} (a word of the registration's texts that is not a name)")
        seen.add(word)


def _problem(word: str) -> str | None:
    """Why ``word`` is not a plausible word, or None; never the word itself."""
    if not _LETTERS.fullmatch(word):
        return (
            "is not one lower-case word: letters a-z (accents allowed) only, no capitals, "
            "digits, spaces or signs"
        )
    if len(word) < SHORTEST:
        return (
            f"has fewer than {SHORTEST} letters: such a name is never looked for "
            "(decision 0881), so listing it changes nothing"
        )
    if len(word) > LONGEST:
        return f"has more than {LONGEST} letters: not a word"
    if not _VOWEL.search(word):
        return "has no vowel: not a word"
    if _TRIPLE.search(word):
        return "has a letter three times in a row: not a word"
    return None
