"""Family names that are ordinary Dutch words, searched by the output guard only as a phrase.

A patient named Groot, Klein, Jong or Post made every delivery whose free
text says "groot", "klein", "jong" or "post" fail (a false block: the legal
delivery stops). Such a name is searched only together with a given name,
an initial, a title or the patient's own prefix ("mw. Klein", "A. Groot",
"de Groot"; decision 0411). The list holds words a clinical note or a
dictionary label plausibly uses (sizes, ages, colours, body and care, time);
names of four letters or more that are no such word stay searched on their
own (Berg, Dijk, Visser: rare in a note, frequent as names). Words of fewer
than four letters are never searched alone by the guard; the check of a record's
own text (decision 0881) looks for names of three letters and more, so the
body words a note names (bot, rug, lever, nier) are here too (decision 0885), and
the words of nearly every note that are family names of four letters (haar, slot:
decision 0911). A word that is ordinary only in one registration's texts is the
hospital's to list there (``not_names``, decision 0910), not here.
"""

from __future__ import annotations

COMMON_WORDS: frozenset[str] = frozenset(
    {
        # size, age, time, quality
        "groot", "grote", "klein", "kleine", "jong", "jonge", "oude", "ouden",
        "lang", "lange", "kort", "korte", "hoog", "laag", "snel", "vroeg", "laat",
        "nieuw", "goed", "goede", "best", "beste", "sterk", "zwak", "dikke", "dunne", "vast",
        "vrij", "rijk", "wijs", "stil", "blij", "wild", "warm", "koud", "droog", "natte",
        "winter", "zomer", "half", "heel", "enkel", "dubbel", "eerste", "tweede",
        # colours
        "zwart", "witte", "rood", "groen", "blauw", "bruin", "geel", "grijs", "blank",
        # body and care
        "hart", "been", "long", "maag", "borst", "buik", "hand", "voet", "hals", "hoofd",
        "huid", "bloed", "pols", "knie", "heup", "arts", "dokter", "zorg", "zuster", "pijn",
        "koorts", "kuur", "rust", "post", "punt", "stam", "kern", "steen", "stenen", "roos",
        "ijzer",
        # body and care, also family names, looked for in the record's own text (0881, 0885)
        "bot", "arm", "rug", "nek", "rib", "oog", "oor", "mond", "neus", "tong", "keel",
        "lever", "nier", "darm", "blaas", "teen", "vinger", "wond", "naad", "lam", "dik",
        "vet", "mes",
        # words of a note
        "hoek", "meer", "huis", "vrouw", "kind", "kinderen", "vader", "moeder", "zoon",
        "dochter", "broer", "vriend", "nacht", "week", "jaar", "maand", "ander", "anders",
        "niet", "geen", "bakker",
        # in nearly every note, and Dutch family names (ter Haar, Slot): found as a
        # phrase only, by the guard too ("haar dochter belde", "tot slot"; decision 0911)
        "haar", "slot",
    }
)  # fmt: skip
