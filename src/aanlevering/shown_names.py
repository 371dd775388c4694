"""How an input file, folder or URL is named outside the hospital's own reports (decision 0730).

Why: an EHR that writes one file per patient names it after the patient
(``consent-ZH-0072318.ndjson``, ``patient_1990-05-17_jansen.json``, a BSN in
the name). Such a name in a CLI error, a log line, an Airflow task log or an
event payload puts the patient number or birth date where no identifier may
go. One rule decides for every place that names an input file:
:func:`may_name_a_patient`. A name it flags is shown as the file's place in its
folder and its kind (``/data/export/<input file 3 of 12, .ndjson, name withheld>``),
so the message still says where to look. The registry holder's report applies
the same rule and, knowing the run's identities, withholds more (0375, 0686).

The rule looks at the shape of a name, not at the run's data, because most
messages are said before (or without) any identity being read: a number of
five digits or more, leading zeros not counted, separators between groups of
two digits or more dropped (a patient number, a BSN ``069-386-181``, a date
``1990-05-17`` as ``19900517``; ``2026_1``, a version, is no such number), or
a date with its parts separated (``17-5-1990``, ``5.7.90``). A name that only
holds a surname cannot be told from a dataset's name by its shape; the
holder's report catches it by the run's identities. A name withheld needlessly
(``export_20240131.csv``) costs convenience only.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path, PurePosixPath

from aanlevering.shown_urls import shown_query, shown_url

#: What stands where a name was withheld, without the place when it is unknown.
WITHHELD = "name withheld"

#: Digit groups with separators between them (``069-386-181``, ``1990-05-17``).
_GROUPS = re.compile(r"\d+(?:[\W_]+\d+)*")
#: Five digits or more make a number that may be a patient's.
MIN_DIGITS = 5
_DATE = re.compile(r"(?<!\d)\d{1,4}[-._ /]\d{1,2}[-._ /]\d{2,4}(?!\d)")
#: Names the product itself makes, never a patient's: a run's folder (``run-<run id>``),
#: a time stamp (a date with a time: no birth date has one), a hash.
_PRODUCT_MADE = re.compile(
    r"^run-.*|\d{4}-?\d{2}-?\d{2}T[\d:_.+-]*Z?|@[0-9a-f]{12}|[0-9a-f]{32,}", re.IGNORECASE
)
#: Extensions kept apart from the stem (compressed exports keep both).
_SUFFIXES = re.compile(r"(\.[A-Za-z][A-Za-z0-9]{0,6}){1,2}$")


def may_name_a_patient(name: str) -> bool:
    """Whether a file or folder name may hold a patient number, BSN or birth date.

    The one rule of decision 0730; see the module docstring for what it looks for.
    """
    stem = _PRODUCT_MADE.sub("", _SUFFIXES.sub("", name) or name)
    return _DATE.search(stem) is not None or any(
        len(number.lstrip("0")) >= MIN_DIGITS
        for match in _GROUPS.finditer(stem)
        for number in _numbers(match.group(0))
    )


def _numbers(text: str) -> list[str]:
    """The numbers digit groups make when their separators are dropped.

    A group of one digit is not joined to its neighbours: ``2026_1`` (a version)
    is no number ``20261``, while ``069-386-181`` is the BSN ``069386181``.
    """
    numbers: list[str] = []
    for group in re.findall(r"\d+", text):
        if numbers and len(group) >= 2 and len(numbers[-1]) >= 2:
            numbers[-1] += group
        else:
            numbers.append(group)
    return numbers


def _kind(name: str) -> str:
    match = _SUFFIXES.search(name)
    return match.group(0).lower() if match else "no extension"


def _place(folder: Path, name: str) -> str:
    """``input file n of m`` by name order in ``folder`` ("a file" when it cannot be listed)."""
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return "an input file"
    if name not in names:
        return "an input file"
    return f"input file {names.index(name) + 1} of {len(names)}"


def withheld_name(folder: Path, name: str) -> str:
    """The label shown for ``name`` in ``folder`` when the rule withholds it."""
    return f"<{_place(folder, name)}, {_kind(name)}, {WITHHELD}>"


def shown_path(path: Path | str) -> str:
    """``path`` as a message may show it: each part the rule flags replaced by its label.

    Why each part: a per-patient export folder (``/data/patient_0069386181/``)
    names the patient as much as a file does.
    """
    text = str(path)
    parts = text.split("/")
    if not any(may_name_a_patient(part) for part in parts):
        return text
    shown: list[str] = []
    for index, part in enumerate(parts):
        if part and may_name_a_patient(part):
            folder = Path("/".join(parts[:index]) or ("/" if text.startswith("/") else "."))
            shown.append(withheld_name(folder, part))
        else:
            shown.append(part)
    return "/".join(shown)


def shown_file_name(path: Path) -> str:
    """A file's name for a message that names files by name: the name, or when the rule
    withholds it, the folder and the file's place (the name alone would say nothing)."""
    return shown_path(path) if may_name_a_patient(path.name) else path.name


def withholds(path: Path | str) -> bool:
    """Whether :func:`shown_path` withholds any part of ``path``."""
    return any(may_name_a_patient(part) for part in PurePosixPath(str(path)).parts)


#: A path or file name in free text: has a ``/`` or ends in a file extension.
_PATHLIKE = re.compile(
    r"(?<![\w/.~-])(?:[^\s'\"<>|,;:()\[\]{}]*/[^\s'\"<>|,;:()\[\]{}]*"
    r"|[^\s'\"<>|,;:()\[\]{}/]+\.[A-Za-z][A-Za-z0-9]{0,6})"
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def shown_text(text: str) -> str:
    """``text`` (an error message, a log line) with every path the rule flags withheld
    and every URL's credentials redacted (:func:`aanlevering.shown_urls.shown_url`).

    Applied where a message leaves the product (the CLI's stderr, an Airflow
    task's failure, the log), so that a message built anywhere with the path
    in it follows the rule without each place having to.
    """
    pieces: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        pieces.append(_paths_withheld(text[last : match.start()]))
        pieces.append(shown_url(match.group(0)))
        last = match.end()
    pieces.append(_paths_withheld(text[last:]))
    return "".join(pieces)


def _paths_withheld(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token, mark, query = match.group(0).partition("?")
        shown = shown_path(token) if withholds(token) else token
        return f"{shown}{mark}{shown_query(query)}" if mark else shown

    return _PATHLIKE.sub(replace, text)


def withhold_in_error(error: BaseException) -> BaseException:
    """``error`` with its message passed through :func:`shown_text` (in place), returned.

    For a product error on its way out (the CLI, an Airflow task): every
    message that names an input file follows the rule, wherever it was built.
    An error class with its own ``__str__`` is left alone (none of them names
    an input file).
    """
    if type(error).__str__ is BaseException.__str__ and error.args:
        text = str(error)
        shown = shown_text(text)
        if shown != text:
            error.args = (shown,)
    return error


class ShownNamesFilter(logging.Filter):
    """A log handler's filter that passes each record's message through :func:`shown_text`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message (never drop the record)."""
        text = record.getMessage()
        shown = shown_text(text)
        if shown != text:
            record.msg = shown
            record.args = None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Put a :class:`ShownNamesFilter` on every handler of ``logger`` (the root by default).

    Why handlers: a logger's own filters do not see its children's records.
    Idempotent, so each task or command may call it.
    """
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, ShownNamesFilter) for f in handler.filters):
            handler.addFilter(ShownNamesFilter())
