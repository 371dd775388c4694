"""Reading a counterparty's answer no further than a cap.

Why: a receipt, an error answer or a status document is small; a hostile or
broken counterparty can still send gigabytes, and ``requests`` (without
``stream=True``) or ``SFTPFile.read()`` would take them all into memory before
anything is checked. Every answer that is parsed is read through here, at most
:data:`ANSWER_LIMIT` bytes (decision 0401); a longer one is an error of the
caller's kind, never taken as success.
"""

from __future__ import annotations

import requests

#: The most a receipt (or any JSON answer of a counterparty) may be: 1 MiB.
ANSWER_LIMIT = 1024 * 1024
LIMIT_TEXT = "1 MiB"
_CHUNK = 64 * 1024


def read_capped(response: requests.Response, limit: int = ANSWER_LIMIT) -> tuple[bytes, bool]:
    """(At most ``limit`` bytes of the answer's body, whether that is the whole body).

    ``response`` must come from a request made with ``stream=True``; the caller
    closes it (the rest of a longer body is never read). A declared
    ``Content-Length`` beyond the cap is refused without reading the body.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", False
    body = bytearray()
    for chunk in response.iter_content(_CHUNK):
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), False
    return bytes(body), True
