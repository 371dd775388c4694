"""How a pseudonym is written, for every counterpart that must tell one from a clear number.

Why shared: the registry holder refuses a pseudonym identifier or column
whose value is no pseudonym (decision 1009), and the TTP refuses to forward
one in local mode (decision 1025); one rule in one place keeps the two from
drifting apart.
"""

from __future__ import annotations

import re

from aanlevering.pseudonym.crypto import TEMPORARY_MARKER

#: How a pseudonym is written, as the refusals say it (decision 1009).
PSEUDONYM_FORM = "(<type>:v<version>:<code>)"


def is_pseudonym_of(code: str, value: object) -> bool:
    """Whether ``value`` is written as a pseudonym of type ``code``: definitive
    ``<code>:v<n>:<base64url>`` or temporary ``T1:<code>:v<n>:<base64url>``.

    Why: an identifier under the registration's pseudonym system, or a
    ``pseudoniem_<code>`` cell, that holds a clear number (an MRN, the
    hospital's patient number) is the input sent instead of its pseudonym; the
    system alone said nothing of the value (decision 1009).
    """
    return (
        isinstance(value, str)
        and _PSEUDONYM.fullmatch(value) is not None
        and (value.removeprefix(f"{TEMPORARY_MARKER}:").split(":", 1)[0] == code)
    )


_PSEUDONYM = re.compile(
    rf"(?:{TEMPORARY_MARKER}:)?[A-Za-z]{{1,8}}:v[1-9][0-9]{{0,8}}:[A-Za-z0-9_-]+"
)
