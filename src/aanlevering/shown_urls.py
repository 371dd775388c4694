"""A URL as the product prints, logs or records it: without its credentials (decision 0731).

Why: a feed or FHIR server URL may carry a token (``?token=...``,
``?access_token=...``, a signed URL's ``sig=``) or a user and password
(``https://user:pass@host/``). Echoed on the terminal, in a log line or in an
event's metadata, the secret outlives the command in scroll-back, log files
and the append-only log. The user part is replaced by ``***``; every query
value is replaced by ``***`` except those of the FHIR parameters that say
what was asked (``_type``, ``_since``, ``_outputFormat``, ``_typeFilter``,
``_elements``). The path is kept so the message still says which server and
which resource.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: Query parameters whose values are shown: they name what was asked, never who asks.
SHOWN_PARAMETERS = frozenset({"_type", "_since", "_outputformat", "_typefilter", "_elements"})
REDACTED = "***"


def shown_url(url: str) -> str:
    """``url`` without the user part's credentials and without secret query values."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed URL: nothing of it is known to be safe
        return f"<a URL, {REDACTED}>"
    netloc = parts.netloc
    if "@" in netloc:
        address = f"[{host}]" if ":" in host else host
        netloc = f"{REDACTED}@{address}{f':{port}' if port is not None else ''}"
    query = shown_query(parts.query)
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def shown_query(query: str) -> str:
    """A URL's query (without ``?``) with each value redacted unless its key is shown.

    Also for a request line a library logs (``GET /feed?token=... HTTP/1.1``).
    """
    return "&".join(_shown_parameter(pair) for pair in query.split("&") if pair)


def _shown_parameter(pair: str) -> str:
    """``key=value`` with the value redacted unless the key is shown; a bare word redacted."""
    key, equals, value = pair.partition("=")
    if not equals:  # ``?abc123``: the word itself may be the token
        return REDACTED
    return f"{key}={value if key.lower() in SHOWN_PARAMETERS else REDACTED}"
