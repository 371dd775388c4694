"""Text an operator types that the event log keeps (a reason, a note): never patient data.

Why: ``abandon-handover --reason``, ``retract --reason`` and ``register decide
--note`` are stored in the append-only event log, which can not be corrected
afterwards, and the only check on them was the event guard's BSN test. A reason
such as "patient 0012345 (Bos, 14-03-1950) not uploaded" was recorded as typed
(decision 0882). This refuses, with a message naming what looked like patient
data (never the text), a text that holds:

* a number of :data:`LONGEST_NUMBER` + 1 digits or more, separators allowed
  (a patient number, MRN, BSN, phone number);
* a date (``14-03-1950``, ``1950-03-14``, ``14 maart 1950``): a birth date;
* a Dutch postcode (``1012 AB``, ``1012ab``);
* an e-mail address;
* more than :data:`LONGEST` characters or a control character (one line, short).

A name can not be told from other words here (no identity is kept to compare
with): the commands' help and docs say the text must hold no patient data, and
the ledger shows it only to the hospital's own operators.

One shape of number passes: a case number as the ministry writes it,
:data:`CASE_NUMBER` (``ZIN-2026-014``: an upper-case prefix, a year, at most
three digits; decision 0902). It holds seven digits at most, so no BSN (eight
or nine) fits it, and a prefix that says patient (``BSN-``, ``MRN-``,
``PAT-``, ...) is refused. The rule is the same for every text the log keeps,
typed or read from a register feed.
"""

from __future__ import annotations

import re

from aanlevering.errors import ConfigError

#: Longest text kept: a reason is a sentence, not a report.
LONGEST = 200
#: Longest digit run allowed (a count, a year; five digits or more is a number of someone).
LONGEST_NUMBER = 4
_MONTHS = (
    "jan|januari|feb|februari|mrt|maart|apr|april|mei|jun|juni|jul|juli|aug|augustus|"
    "sep|sept|september|okt|oktober|nov|november|dec|december|mar|march|may|june|july|oct"
)
_CHECKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b|\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b"),
        "a date",
    ),
    (re.compile(rf"\b\d{{1,2}}\s*(?:{_MONTHS})\.?\s*\d{{2,4}}\b", re.IGNORECASE), "a date"),
    (
        # Not after a letter ("Q1 2026" is a quarter), but a letter's number ("Z12345") is.
        re.compile(
            rf"(?<![A-Za-z])\d(?:[\s./()+-]{{0,2}}\d){{{LONGEST_NUMBER},}}|[A-Za-z]\d{{5,}}"
        ),
        "a number of five digits or more (a patient number, BSN or phone number)",
    ),
    (re.compile(r"\b[1-9]\d{3}(?:[A-Za-z]{2}| [A-Z]{2})\b"), "a postcode"),
    (re.compile(r"\S@\S"), "an e-mail address"),
    (re.compile(r"[\x00-\x1f\x7f]"), "a line break or control character"),
)
#: A case number (``ZIN-2026-014``), not looked at by :data:`_CHECKS` (decision 0902).
CASE_NUMBER = re.compile(
    # Its prefix parts it from digits before it; not joined to digits after it by a
    # separator ("AB-2012-345 67" holds a BSN's nine).
    r"(?<![\w-])(?!(?:BSN|MRN|PID|PAT|EPD|ID|NR|NUMMER|PATNR)-)[A-Z]{2,6}-(?:19|20)\d{2}-\d{1,3}"
    r"(?![\w-]|[\s./()+]{1,2}\d)"
)
#: The ``--reason`` help of retract and abandon-handover (the event log keeps the reason).
REASON_HELP = (
    "why, in words (at most 200 characters); kept in the event log for good: "
    "no patient data (no name, number of five digits or more, date, postcode, phone or "
    "e-mail; such a reason is refused)"
)
RULE = (
    "it is kept in the event log for good: say why in words, without patient data "
    "(no name, patient number, BSN, date, postcode, phone or e-mail)"
)


def checked_operator_text(text: str, option: str, *, required: bool = True) -> str:
    """``text`` stripped, when it may go into the event log; else :class:`ConfigError`.

    ``option`` names the command-line option in the message (``--reason``); the
    message never repeats the text. An empty text is refused when ``required``.
    """
    stripped = text.strip()
    if not stripped:
        if required:
            raise ConfigError(f"{option} must say why; {RULE}; nothing recorded")
        return stripped
    problem = operator_text_problem(stripped)
    if problem is not None:
        raise ConfigError(f"{option} {problem}; {RULE}; nothing recorded")
    return stripped


def operator_text_problem(text: str) -> str | None:
    """Why ``text`` may not go into the event log, never quoting it (None: it may).

    Why apart from :func:`checked_operator_text`: a register decision's note
    reaches the log from the CLI, a feed file and any caller of the service
    layer; each says where (option, or file, row and column) and this what
    (decision 0902).
    """
    if len(text) > LONGEST:
        return f"is {len(text)} characters, at most {LONGEST}"
    looked_at = CASE_NUMBER.sub("case", text)
    for pattern, what in _CHECKS:
        if pattern.search(looked_at):
            return f"holds what looks like patient data ({what})"
    return None
