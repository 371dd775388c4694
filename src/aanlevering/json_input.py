"""JSON from outside (EHR exports, uploads, manifests) parsed so that no input can crash us.

Python's parsers fail on hostile input in ways that are not ``ValueError``:
nesting a few thousand levels deep raises ``RecursionError``, a number with
more than 4,300 digits raises a plain ``ValueError`` from ``int()``, and
``NaN`` / ``Infinity`` / ``1e999`` are accepted although JSON forbids them.
:func:`parse` turns every such case into one :class:`JsonInputError` with a
line and column where they are known, and bounds the nesting depth so that
code walking the result recursively cannot overflow the stack either.

msgspec parses first (several times faster on millions of NDJSON lines,
decision 0122); Python's ``json`` only runs when msgspec refuses, so its
message and position describe the error.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

#: Deeper than any FHIR resource, manifest or upload we read (FHIR nests tens of levels at most).
MAX_DEPTH = 100


class JsonInputError(ValueError):
    """A document is not acceptable JSON; ``line``/``column`` are 1-based when known."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"{reason}{where}")


def _refuse_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text[:20] + ("..." if len(text) > 20 else "")
        raise JsonInputError(f"the number {shown} is too large")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _python_parse(raw: bytes | str) -> Any:
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except JsonInputError:
        raise
    except json.JSONDecodeError as error:
        raise JsonInputError(error.msg, error.lineno, error.colno) from None
    except UnicodeDecodeError:
        raise JsonInputError("not UTF-8 text") from None
    except RecursionError:
        raise JsonInputError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # int() refuses numbers of more than 4,300 digits
        if "digits" in str(error):
            raise JsonInputError("a number has too many digits") from None
        raise JsonInputError("not valid JSON") from None


def parse(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``raw``; :class:`JsonInputError` for anything a JSON reader should refuse.

    Cheap on the common case: the depth is only walked when the text holds more
    opening brackets than ``max_depth`` (a flat resource never does).
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    fallback = False
    try:
        value = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        value = _python_parse(raw)
        fallback = True
    except RecursionError:
        raise JsonInputError(f"nested deeper than {MAX_DEPTH} levels") from None
    if data.count(b"[") + data.count(b"{") > max_depth and _depth_exceeds(value, max_depth):
        raise JsonInputError(f"nested deeper than {max_depth} levels")
    if fallback:
        _check_encodable(value)
    return value


def _check_encodable(value: Any) -> None:
    """Refuse escaped lone surrogates (``"\\ud800"``): no UTF-8 file can hold them later."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonInputError("a string holds an unpaired \\u surrogate escape") from None
