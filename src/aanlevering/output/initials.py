"""Initials after a family name: "Groot, A.J.", "GROOT AJ", "Groot, de, A." (decision 0940).

Dutch hospital notes and letters write a patient in administrative order, the
family name and then the initials. For a family name the output guard finds
only as a phrase (an ordinary word or a short name: Groot, Wit, Bakker), the
name followed by one of the run's own initials of that name is that phrase.
The text itself is read, not its tokens: whether a letter is an initial
depends on the dot, the case and what follows it ("Groot A-symptomatisch",
"groot A4" and "groot, ab" hold none). Two uses of a single letter after an
ordinary word are no initials and are left out:

- ``a.``, ``v.``, ``n.``, ``m.``, ``r.`` (arteria, vena, nervus, musculus,
  ramus) before an anatomical term: "aneurysma groot, a. femoralis";
- a dotted abbreviation of a note ("n.b.", "a.s.", "i.v.") unless each of its
  letters is an initial of the name: "wond klein, n.b. controle" of patient
  Klein, N. passes, "Post, N.B." of patient Post, N.B. is the name.

Anything else after the name that starts with one of its initials is taken as
the name: a false block names the variable and is cleared in the EHR text (a
leak could not be taken back).
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

#: Abbreviations of arteria, vena, nervus, musculus, ramus (written before a term).
ANATOMY_LETTERS = frozenset("avnmr")
#: Terms written after a., v., n., m. or r. in Dutch clinical notes (vessels, nerves,
#: muscles and their Latin qualifiers): with one of them, the letter is no initial.
ANATOMY_TERMS: frozenset[str] = frozenset(
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
    }
)  # fmt: skip
#: Dotted abbreviations of a note, read as letters ("n.b." is "nb").
NOTE_ABBREVIATIONS = frozenset(
    {
        "nb", "as", "zn", "iv", "im", "sc", "po", "oa", "mbt", "tzt", "dd", "iom", "eci",
        "icm", "mn", "tgv", "agv", "ivm", "cq", "ed", "zsm", "nvt", "vv", "pm", "ad", "tbv",
        "obv", "ipv", "dwz", "bv", "ri", "li", "re", "bdz", "vlgs", "ws", "evt", "ca",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=1 << 12)
def _name_pattern(written: str) -> re.Pattern[str]:
    """The family name ``written`` (lower-case tokens, one space apart) as a whole-word
    expression: any separators between its words, no letter or digit touching it."""
    body = r"[\W_]+".join(re.escape(word) for word in written.split(" "))
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def _initials_at(text: str, start: int, letters: frozenset[str]) -> bool:
    """Whether initials of ``letters`` stand at ``start`` of ``text`` (after the separator)."""
    dotted = _DOTTED.match(text, start)
    if dotted:
        group = [c.lower() for c in dotted.group() if c.isalpha()]
        end = dotted.end()
        abbreviation = len(group) > 1 and "".join(group) in NOTE_ABBREVIATIONS
        if abbreviation and not set(group) <= letters:  # "n.b." of patient Klein, N.
            return False
    else:
        undotted = _UNDOTTED.match(text, start)
        if not undotted:
            return False
        compact = undotted.group().split()
        joined = compact[0]
        if len(joined) > 1 and (not joined.isupper() or not set(joined.lower()) <= letters):
            return False  # "AJ": capitals only, each an initial of the name
        group = [c.lower() for part in compact for c in part]
        end = undotted.end()
    if group[0] not in letters:
        return False
    if len(group) == 1 and group[0] in ANATOMY_LETTERS:
        following = _NEXT_WORD.match(text, end)
        if following and following.group(1).lower() in ANATOMY_TERMS:
            return False
    return True


def initials_after(text: str, written: str, letters: frozenset[str]) -> bool:
    """Whether ``text`` holds the family name ``written`` followed by initials among ``letters``.

    ``written``: lower-case tokens one space apart ("groot", "de groot", "groot de");
    ``letters``: the lower-case initials of the run's patients so named. The first
    initial must be one of them ("Groot, B." of patients Groot, A. is no name).
    """
    for match in _name_pattern(written).finditer(text):
        separator = _SEPARATOR.match(text, match.end())
        if separator and _initials_at(text, separator.end(), letters):
            return True
    return False
