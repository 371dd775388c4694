"""Reading a counterparty's answer no further than a cap.

Why: a receipt, an error answer or a status document is small; a hostile or
broken counterparty can still send gigabytes, and ``requests`` (without
``stream=True``) or ``SFTPFile.read()`` would take them all into memory before
anything is checked. Every answer that is parsed is read through here, at most
:data:`ANSWER_LIMIT` bytes (decision 0401) or the caller's own cap (the TTP's
answers carry whole batches: 64 MiB and a deadline, decision 0441); a longer one
is an error of the caller's kind, never taken as success.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported at first use: a task that never calls out does not pay (0741)
    import requests

#: The most a receipt (or any JSON answer of a counterparty) may be: 1 MiB.
ANSWER_LIMIT = 1024 * 1024
LIMIT_TEXT = "1 MiB"
_CHUNK = 64 * 1024


class AnswerTooSlow(Exception):
    """The answer did not arrive whole before the caller's deadline."""


def read_capped(
    response: requests.Response, limit: int = ANSWER_LIMIT, deadline: float | None = None
) -> tuple[bytes, bool]:
    """(At most ``limit`` bytes of the answer's body, whether that is the whole body).

    ``response`` must come from a request made with ``stream=True``; the caller
    closes it (the rest of a longer body is never read). A declared
    ``Content-Length`` beyond the cap is refused without reading the body.
    ``deadline`` (a ``time.monotonic()`` value): AnswerTooSlow when passed.
    ``read1`` returns what one read of the socket gives, so a counterparty
    sending a byte now and then (which never trips the read timeout) meets the
    deadline between two reads. Transport failures are ``requests`` errors.
    """
    import requests  # loaded already: ``response`` is one of its answers
    import urllib3

    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", False
    body = bytearray()
    raw = response.raw
    try:
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise AnswerTooSlow
            chunk = raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                return bytes(body), True
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), False
    except urllib3.exceptions.ReadTimeoutError:
        raise requests.Timeout("ReadTimeout") from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as error:
        raise requests.ConnectionError(type(error).__name__) from None
