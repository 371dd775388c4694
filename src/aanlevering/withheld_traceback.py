"""The traceback of a bug without the messages of its exceptions (decision 0682).

Why: an exception the product did not raise on purpose may quote input. pyarrow's
CSV reader puts the whole offending record in its message, ``int()`` and
``date.fromisoformat`` the value they refused, a ``KeyError`` its key. The CLI
writes a bug's traceback to its log file and Airflow writes a failed task's to
the task log; both must hold no identifier (decision 0471). Where the bug is, is
in the frames; what it was, is in the exception types. Kept of a message: the
product's own errors (their messages name places, never values) and the errno
and reason of an ``OSError`` (never its file name, which may name a patient).
"""

from __future__ import annotations

import traceback

from aanlevering.errors import AanleveringError
from aanlevering.shown_names import shown_text

#: What stands where a message was left out.
WITHHELD = "(message withheld: it may quote input)"


def exception_line(error: BaseException) -> str:
    """``module.Type: message`` with the message only when it cannot quote input."""
    kind = type(error)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    if isinstance(error, AanleveringError):
        return f"{name}: {shown_text(str(error))}"  # input file names per 0730
    if isinstance(error, OSError) and error.errno is not None:
        return f"{name}: [Errno {error.errno}] {error.strerror} (file name withheld)"
    return f"{name}: {WITHHELD}"


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from or during, oldest first."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return found[::-1]


def withheld_traceback(error: BaseException) -> str:
    """The traceback Python would print for ``error``, each message per :func:`exception_line`."""
    parts: list[str] = []
    for index, exception in enumerate(_chain(error)):
        if index:
            parts.append("\nwhich led to:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(exception.__traceback__))
        parts.append(exception_line(exception) + "\n")
    return "".join(parts)
