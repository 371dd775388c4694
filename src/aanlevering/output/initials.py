"""Initials after a family name: "Groot, A.J.", "GROOT AJ", "Groot, de, A." (decision 0940).

Dutch hospital notes and letters write a patient in administrative order, the
family name and then the initials. For a family name the output guard finds
only as a phrase (an ordinary word or a short name: Groot, Wit, Bakker), the
name followed by one of the run's own initials of that name is that phrase.
The text itself is read, not its tokens: whether a letter is an initial
depends on the dot, the case and what follows it ("Groot A-symptomatisch",
"groot A4" and "groot, ab" hold none). What a clinical note puts after an
ordinary word is left out, because at a million patients every common family
name has every initial (the letters alone prune nothing):

- a single letter before a Latin term (:data:`LATIN_TERMS`): ``a.``, ``v.``,
  ``n.``, ``m.`` before an anatomical term ("aneurysma groot, a. femoralis"),
  a genus before its species ("groot E. coli");
- a dotted abbreviation of a note (:data:`NOTE_ABBREVIATIONS`: "n.b.", "i.v.",
  "t.z.t."), except "a.s." (A.S. is a frequent pair of initials);
- an acronym in capitals (:data:`ACRONYMS`: "post CVA", "groot, DVT");
- a single capital without a dot before a number ("klein T 37,8"), unless
  the number is a date.

Anything else after the name that starts with one of its initials is taken as
the name: a false block names the variable and is cleared in the EHR text (a
leak could not be taken back). The corpus the rules were measured on is
pinned in ``tests/unit/output/test_output_guard_family_initials.py``.
"""

from __future__ import annotations

import functools
import re

#: What stands between a family name and its initials: a comma, or white space.
_SEPARATOR = re.compile(r"[^\S\n]*,\s*|\s+")
#: "A." "A.J." "A. J." "a.j." and a last initial without its dot ("A.J").
_DOTTED = re.compile(r"[^\W\d_]\.(?:[^\S\n]?[^\W\d_]\.)*(?:[^\S\n]?[^\W\d_](?![^\W_]))?")
#: "AJ" "A" "A J" "a": letters standing alone (no letter, digit or hyphen after them).
_UNDOTTED = re.compile(r"[^\W\d_]{1,4}(?:[^\S\n][^\W\d_])*(?![^\W_]|-|\.)")
#: The word after an initial (is it an anatomical term?).
_NEXT_WORD = re.compile(r"[^\S\n]*([^\W\d_]+)")

#: Terms written after a single letter that is no initial: vessels, nerves, muscles and
#: their qualifiers after a., v., n., m., r. (arteria, vena, nervus, musculus, ramus),
#: and the species after a genus ("E. coli").
LATIN_TERMS: frozenset[str] = frozenset(
    {
        # arteries and veins
        "aorta", "axillaris", "basilaris", "basilica", "brachialis", "brachiocephalica",
        "carotis", "cava", "cephalica", "cerebri", "circumflexa", "coeliaca", "celiaca",
        "colica", "communis", "coronaria", "dorsalis", "epigastrica", "externa", "facialis",
        "femoralis", "fibularis", "gastrica", "gastroduodenalis", "hepatica", "iliaca",
        "iliacae", "interna", "jugularis", "lienalis", "lingualis", "mammaria", "media",
        "mesenterica", "ophthalmica", "peronea", "poplitea", "porta", "portae", "profunda",
        "pulmonalis", "radialis", "renalis", "saphena", "splenica", "subclavia",
        "superficialis", "temporalis", "thoracica", "thyroidea", "tibialis", "ulnaris",
        "umbilicalis", "vertebralis", "anterior", "posterior", "superior", "inferior",
        "dextra", "sinistra", "magna", "parva", "pedis", "digitalis", "uterina", "ovarica",
        "testicularis", "pudenda", "glutea", "obturatoria", "sacralis", "lumbalis",
        "intercostalis", "spinalis", "cystica", "azygos", "hemiazygos", "perforans",
        # nerves
        "medianus", "ischiadicus", "peroneus", "vagus", "phrenicus",
        "recurrens", "laryngeus", "opticus", "trigeminus", "suralis", "saphenus",
        "obturatorius", "musculocutaneus", "accessorius",
        "hypoglossus", "glossopharyngeus", "oculomotorius", "trochlearis", "abducens",
        "vestibulocochlearis", "cutaneus", "pudendus", "genitofemoralis", "ilioinguinalis",
        "iliohypogastricus", "thoracicus", "splanchnicus",
        # muscles
        "biceps", "triceps", "deltoideus", "quadriceps", "gastrocnemius", "soleus", "psoas",
        "iliopsoas", "rectus", "obliquus", "transversus", "pectoralis", "trapezius",
        "latissimus", "gluteus", "sartorius", "gracilis", "semitendinosus", "adductor",
        "abductor", "extensor", "flexor", "sternocleidomastoideus", "masseter",
        "supraspinatus", "infraspinatus", "subscapularis", "teres", "levator", "sphincter",
        "detrusor", "piriformis", "tensor", "vastus", "popliteus", "brachioradialis",
        "pronator", "supinator", "serratus", "rhomboideus", "scalenus", "erector",
        # ramus
        "ramus", "circumflexus", "interventricularis", "descendens", "marginalis",
        "communicans", "profundus",
        # species after a genus (wound and urine cultures)
        "coli", "aureus", "aeruginosa", "pneumoniae", "difficile", "pylori", "epidermidis",
        "faecalis", "faecium", "mirabilis", "albicans", "fragilis", "influenzae", "cloacae",
        "marcescens", "pyogenes", "agalactiae", "jejuni", "monocytogenes", "oxytoca",
        "capitis", "haemolyticus", "lugdunensis", "glabrata", "fumigatus", "acnes",
    }
)  # fmt: skip
#: Dotted abbreviations of a note, as letters ("n.b." is "nb"). Not "as" (aanstaande):
#: A.S. is a frequent pair of initials, and a leak is worse than a false block.
NOTE_ABBREVIATIONS = frozenset(
    {
        "nb", "zn", "iv", "im", "sc", "po", "oa", "mbt", "tzt", "iom", "eci", "icm", "tgv",
        "agv", "ivm", "cq", "zsm", "nvt", "tbv", "obv", "ipv", "dwz", "bv", "vd", "ic", "avf",
        "ok", "pa", "dd", "vv", "wv", "emv",
    }
)  # fmt: skip
#: Acronyms of a note in capitals, no initials however they are written after a name.
ACRONYMS = frozenset(
    {
        "ok", "ic", "cva", "tia", "mri", "ct", "cta", "mra", "dsa", "pta", "dvt", "ecg",
        "ekg", "hb", "bmi", "asa", "evar", "aaa", "seh", "vac", "icu", "ccu", "mc", "cag",
        "cabg", "pci", "copd", "dm", "ht", "af", "rr", "po", "iv", "sc", "nb", "kno", "mdl",
        "crp", "ldh", "ec", "hr", "bd", "pa", "tee", "tte", "abi", "pad", "pav", "avf", "mdo",
        "hap", "ha", "vpk", "ivc", "uwi", "lwi", "ssi", "ab", "npo", "sdd", "vte", "lmwh",
        "nsaid", "ppi", "tvt", "vat", "pvl", "hhc", "rx", "us", "or", "er", "ga",
    }
)  # fmt: skip
#: A date after an initial ("Groot A 12-03-2026"): the number is no measurement.
_DATE = re.compile(r"\s+\d{1,2}[-/.]\d{1,2}(?:[-/.]\d{2,4})?(?!\d)")
#: What may follow initials in capitals without dots after a name not in capitals ("Groot
#: AJ"): the end, a punctuation mark or a date; "klein, RA 0,8" and "jong, HIV neg" are none.
_CLOSED = re.compile(r"[^\S\n]*(?:$|[,;:)\]\n]|\d{1,2}[-/.]\d{1,2}(?!\d))")
#: A number after a single capital ("klein T 37,8"): a measurement, not an initial.
_NUMBER = re.compile(r"\s+\d")


@functools.lru_cache(maxsize=1 << 12)
def _name_pattern(written: str) -> re.Pattern[str]:
    """The family name ``written`` (lower-case tokens, one space apart) as a whole-word
    expression: any separators between its words, no letter or digit touching it."""
    body = r"[\W_]+".join(re.escape(word) for word in written.split(" "))
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def _undotted(text: str, start: int, capitals: bool) -> tuple[list[str], int] | None:
    """:func:`_read_initials` of letters without dots ("AJ", "A J", "a")."""
    undotted = _UNDOTTED.match(text, start)
    if not undotted:
        return None
    compact = undotted.group().split()
    joined, end = compact[0], undotted.end()
    if len(joined) > 1 and (not joined.isupper() or joined.lower() in ACRONYMS):
        return None  # "aj" is a word, "CVA" an acronym
    if len(joined) > 1 and not capitals and not _CLOSED.match(text, end):
        return None  # "klein, RA 0,8": "Groot AJ" ends there, "GROOT AJ gezien" is capitals
    group = [c.lower() for part in compact for c in part]
    if len(group) == 1 and _NUMBER.match(text, end) and not _DATE.match(text, end):
        return None  # "T 37,8"
    return group, end


def _read_initials(text: str, start: int, capitals: bool) -> tuple[list[str], int] | None:
    """The letters of initials at ``start`` of ``text`` and where they end, or None when
    what stands there is no initials by its shape (an abbreviation, an acronym, a word,
    a measurement). ``capitals``: the name before them is written in capitals."""
    dotted = _DOTTED.match(text, start)
    if not dotted:
        return _undotted(text, start, capitals)
    group = [c.lower() for c in dotted.group() if c.isalpha()]
    if len(group) > 1 and "".join(group) in NOTE_ABBREVIATIONS:
        return None  # "n.b.", "i.v.", "t.z.t."
    return group, dotted.end()


def _initials_at(text: str, start: int, letters: frozenset[str], capitals: bool) -> bool:
    """Whether initials of ``letters`` stand at ``start`` of ``text`` (after the separator):
    the first is one of them, and "AJ" written without dots has only theirs."""
    read = _read_initials(text, start, capitals)
    if read is None:
        return False
    group, end = read
    if group[0] not in letters:
        return False
    if text[start].isalpha() and text[start + 1 : start + 2].isalpha():  # "AJ": each
        return set(group) <= letters
    if len(group) == 1:
        following = _NEXT_WORD.match(text, end)
        if following and following.group(1).lower() in LATIN_TERMS:
            return False  # "a. femoralis", "E. coli"
    return True


def initials_after(text: str, written: str, letters: frozenset[str]) -> bool:
    """Whether ``text`` holds the family name ``written`` followed by initials among ``letters``.

    ``written``: lower-case tokens one space apart ("groot", "de groot", "groot de");
    ``letters``: the lower-case initials of the run's patients so named. The first
    initial must be one of them ("Groot, B." of patients Groot, A. is no name).
    """
    for match in _name_pattern(written).finditer(text):
        separator = _SEPARATOR.match(text, match.end())
        capitals = match.group().isupper()
        if separator and _initials_at(text, separator.end(), letters, capitals):
            return True
    return False
