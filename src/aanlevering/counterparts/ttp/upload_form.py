"""The fields of a local-mode upload: exactly those the API defines, each single one once.

A multipart form may carry any field names. The web framework reads the
fields a route declares and drops the rest without a word, and of a field
sent twice it keeps one. A hospital that sent a part the TTP does not read
(a misspelt ``file`` beside ``files``, a second ``manifest``) would get a
receipt for a delivery that is not what it sent, so such an upload is
refused before anything is read or forwarded (decision 1024).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from aanlevering.counterparts.ttp.refusal import Refusal

#: The fields of ``POST /local/deliveries``: at most once each, except ``files``.
SINGLE_FIELDS = ("registration", "request_id", "profile_version", "manifest", "source_key_check")
FILES_FIELD = "files"
UPLOAD_FIELDS = frozenset((*SINGLE_FIELDS, FILES_FIELD))

#: A field name the refusal repeats: a plain name without a number in it.
_SHOWN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_NUMBER = re.compile(r"[0-9]{4}")


def _shown(name: str) -> str:
    """The field name as a refusal may say it; a name that could hold a value is not repeated."""
    if _SHOWN.fullmatch(name) and not _NUMBER.search(name):
        return repr(name)
    return "(a name not repeated here: it is no plain field name)"


def check_upload_fields(names: Iterable[str]) -> None:
    """Refuse (422) a field the API does not define, or a single field sent more than once."""
    counts = Counter(names)
    unknown = sorted(name for name in counts if name not in UPLOAD_FIELDS)
    if unknown:
        raise Refusal(
            422,
            "unknown_field",
            f"the upload has field {_shown(unknown[0])}, which the API does not define "
            f"({len(unknown)} such field(s)); nothing was read or forwarded. The fields are "
            f"{', '.join(sorted(UPLOAD_FIELDS))}",
        )
    repeated = sorted(name for name in SINGLE_FIELDS if counts[name] > 1)
    if repeated:
        raise Refusal(
            422,
            "repeated_field",
            f"the upload has field {repeated[0]!r} {counts[repeated[0]]} times; it is sent once "
            "(only files may repeat); nothing was read or forwarded",
        )
