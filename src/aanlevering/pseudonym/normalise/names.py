"""Birth name and first initial: the letters that name-based pseudonyms use.

Rules of profile nl-2026.1 (docs/normalisation.md explains each):

* Only the geslachtsnaam counts; its voorvoegsels ("van der", "d'") are left
  out, whether the source split them off, left them in front ("van der Berg")
  or put them after a comma ("Berg, van der"). Leading words found in the BRP
  voorvoegsel table are taken as voorvoegsels, but the last word always stays.
* Letters are folded to A-Z: diacritics dropped (é->E, ü->U, ç->C), special
  letters spelled out (ß->SS, æ->AE, ø->O, ł->L, the ligature ĳ->IJ).
* IJ stays the two letters I and J; Y is not IJ (Dijkstra and Dykstra are
  different registered names).
* Spaces, hyphens, apostrophes and periods are removed; a double-barrelled
  birth name keeps both parts in order ("Smit-Jansen" -> SMITJANSEN).
* The name is cut or padded with ``#`` to 8 (or 4) positions.
* The first initial is the first letter of the initials or, without those,
  of the given names.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from aanlevering.pseudonym.normalise.failures import (
    INITIAL_NO_LETTER,
    MISSING,
    NAME_CHARACTERS,
    NAME_INVERTED_FORM,
    NAME_NO_LETTERS,
    NAME_NON_LATIN,
    FieldInvalid,
)

#: Pad character for names shorter than the required length (not a letter,
#: not the field separator).
PAD = "#"

#: Words that make up voorvoegsels in the BRP voorvoegsel table (GBA tabel 36),
#: lower case, apostrophes normalised to "'".
_PREFIX_TABLE = """
    à aan af al am auf aus ben bij bin boven d' da dal dal' dalla das de deca degli dei del
    della den der des di die do don dos du el gen het i im in l' la las le les lo los 'm m op
    over s' 's 't t te ten ter tho thoe thor to toe tot uijt uit unter van ver vom von voor vor
    zu zum zur
"""
PREFIX_WORDS: frozenset[str] = frozenset(_PREFIX_TABLE.split())

_APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc\u02b9\u2032"
_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_SEPARATORS = " \t\u00a0." + _APOSTROPHES + _HYPHENS

#: Letters that Unicode decomposition does not reduce to A-Z.
_SPECIAL_LETTERS = {
    "ß": "SS",
    "ẞ": "SS",
    "æ": "AE",
    "Æ": "AE",
    "œ": "OE",
    "Œ": "OE",
    "ø": "O",
    "Ø": "O",
    "đ": "D",
    "Đ": "D",
    "ð": "D",
    "Ð": "D",
    "þ": "TH",
    "Þ": "TH",
    "ł": "L",
    "Ł": "L",
    "\u0131": "I",  # dotless i
    "ħ": "H",
    "Ħ": "H",
    "ŧ": "T",
    "Ŧ": "T",
    "ŋ": "N",
    "Ŋ": "N",
    "ĸ": "K",
}

_ONLY_AZ = re.compile(r"[A-Z]*")
_APOSTROPHE_RUN = re.compile(f"[{_APOSTROPHES}]")
_GLUED_PREFIX = re.compile(r"^(?:d|l|dal|s)'(?=\w)", re.IGNORECASE)


def _fold_char(char: str) -> str | None:
    """A-Z spelling of one character, "" for a separator, None if it has none."""
    if char in _SEPARATORS:
        return ""
    if char in _SPECIAL_LETTERS:
        return _SPECIAL_LETTERS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    folded = "".join(_SPECIAL_LETTERS.get(c, c) for c in base).upper()
    return folded if folded and _ONLY_AZ.fullmatch(folded) else None


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in [*range(0x0250), *range(0x1E00, 0x1F00), *map(ord, _SEPARATORS)]:
        folded = _fold_char(chr(code))
        if folded is not None:
            table[code] = folded
    return table


#: str.translate table: Latin letters to A-Z, separators to nothing. Characters
#: absent from the table survive translation and are caught by the A-Z check.
_FOLD = _build_fold_table()


def fold_letters(text: str) -> str:
    """Fold a name to upper-case A-Z letters only, dropping separators.

    Raises :class:`FieldInvalid` for digits, other punctuation or letters of
    other scripts: guessing a transliteration would make two hospitals differ.
    """
    if text.isascii():
        folded = "".join(text.split()).replace("-", "").replace("'", "").replace(".", "").upper()
        if folded.isalpha() or not folded:
            return folded
    folded = text.translate(_FOLD)
    if _ONLY_AZ.fullmatch(folded):
        return folded
    for char in folded:
        if not ("A" <= char <= "Z"):
            if unicodedata.category(char).startswith("L"):
                raise FieldInvalid(NAME_NON_LATIN) from None
            raise FieldInvalid(NAME_CHARACTERS) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _is_prefix_word(word: str) -> bool:
    return word.lower() in PREFIX_WORDS


def _strip_leading_prefixes(name: str) -> str:
    """Drop voorvoegsel words in front of a geslachtsnaam, keeping the last word."""
    words = name.split()
    start = 0
    while start < len(words) - 1 and _is_prefix_word(words[start]):
        start += 1
    rest = words[start:]
    if rest:
        glued = _GLUED_PREFIX.match(rest[0])
        if glued:
            rest[0] = rest[0][glued.end() :]
    return " ".join(rest)


@lru_cache(maxsize=1 << 16, typed=True)
def birth_name_letters(own_name: object) -> str:
    """The letters of a geslachtsnaam without its voorvoegsels, folded to A-Z.

    Accepts the name alone ("Berg"), with its voorvoegsels in front ("van den
    Berg") or inverted ("Berg, van den"); the own prefix field is never
    needed because voorvoegsels are left out by rule.
    """
    if not isinstance(own_name, str) or not own_name.strip():
        raise FieldInvalid(MISSING)
    name = _APOSTROPHE_RUN.sub("'", own_name).strip()
    if "," in name:
        name, _, after = name.partition(",")
        if not all(_is_prefix_word(word) for word in after.split()):
            raise FieldInvalid(NAME_INVERTED_FORM) from None
    letters = fold_letters(_strip_leading_prefixes(name))
    if not letters:
        raise FieldInvalid(NAME_NO_LETTERS if name.strip() else MISSING) from None
    return letters


def fit(letters: str, length: int) -> str:
    """Cut ``letters`` to ``length`` positions or pad them with :data:`PAD`."""
    return letters[:length].ljust(length, PAD)


@lru_cache(maxsize=1 << 12, typed=True)
def first_initial(text: object) -> str:
    """The first letter of given names or initials, folded to A-Z ("Ülrich" -> "U").

    Only the first letter counts, so the Dutch initial "IJ." and the name
    "IJsbrand" both give "I", and "Th." and "Thomas" both give "T".
    """
    if not isinstance(text, str):
        raise FieldInvalid(MISSING)
    stripped = text.lstrip(_SEPARATORS + ",")
    if not stripped:
        raise FieldInvalid(MISSING) from None
    folded = stripped[0].translate(_FOLD)
    if not folded or not _ONLY_AZ.fullmatch(folded):
        raise FieldInvalid(INITIAL_NO_LETTER) from None
    return folded[0]
