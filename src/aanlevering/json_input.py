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

Both parsers keep the last of two members with the same key, silently: what
one reader of a file sees (the first ``identifier``, a hospital's viewer) and
what we read (the last) could differ. :func:`parse` refuses a key twice in one
object as :class:`DuplicateKeyError` naming the key (a FHIR element name; any
other key is not shown, it may be a value) and where it is (decision 0801).
:func:`duplicate_free` is the cheap test the hot NDJSON reader uses.
"""

from __future__ import annotations

import json
import math
import re
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


class DuplicateKeyError(JsonInputError):
    """An object holds the same key twice; ``key`` as shown (a plain element name, or a note)."""

    def __init__(self, key: str, line: int | None = None, column: int | None = None) -> None:
        self.key = key
        super().__init__(f"the key {key} appears twice in one object", line, column)


_ENCODE = msgspec.json.encode
#: A JSON string (escape-aware) and, when it is an object's key, the colon after it.
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRING_OR_KEY = re.compile(_STRING + rb"([ \t\r\n]*:)?")
#: Tokens for locating a repeated key: keys, other strings, brackets.
_TOKENS = re.compile(rb"(" + _STRING + rb")([ \t\r\n]*:)?|[{}\[\]]")
_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:')
#: Keys shown in a message: FHIR JSON element names (``identifier``, ``_birthDate``).
_ELEMENT_NAME = re.compile(r"[a-z_][A-Za-z0-9_]{0,63}")


def _key_count(text: bytes) -> int:
    """The number of object keys written in valid JSON ``text`` (every string tokenised)."""
    found = _STRING_OR_KEY.findall(text)
    return len(found) - found.count(b"")


def _tight_keys(text: bytes) -> int:
    """Keys directly followed by ``:`` and strings starting with ``:`` (:func:`duplicate_free`)."""
    return text.count(b'":') - text.count(b'\\":')


def duplicate_free(raw: bytes, value: Any) -> bool:
    """Whether valid JSON ``raw`` (decoded to ``value``) has no key twice in one object.

    Exact, and cheap on the common case. A decoder keeps one member per key, so
    ``raw`` repeats a key exactly when it writes more keys than ``value`` holds.
    ``value`` encoded (msgspec, no spaces, canonical escapes) holds as many keys
    as ``value``: when ``raw`` is that text (a compact export), nothing was
    dropped. Otherwise the keys are counted: by counting ``":`` when no escaped
    backslash, space before a colon or ``\\u`` escape at a string's start can
    make the count differ for another reason, else by tokenising every string.
    """
    encoded = _ENCODE(value)
    if raw.startswith(encoded) and not raw[len(encoded) :].strip():
        return True
    if (
        b"\\\\" not in raw
        and b"\\\\" not in encoded
        and b'"\\u' not in raw
        and _SPACED_COLON.search(raw) is None
    ):
        return _tight_keys(raw) == _tight_keys(encoded)
    return _key_count(raw) == _key_count(encoded)


def _shown_key(key: str) -> str:
    return f'"{key}"' if _ELEMENT_NAME.fullmatch(key) else "(not shown: no FHIR element name)"


def repeated_key(text: bytes) -> DuplicateKeyError | None:
    """The first key written twice in one object of valid JSON ``text``, with its line and column.

    A walk over every token in Python: only for text :func:`duplicate_free` refused.
    """
    objects: list[set[str] | None] = []
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        if token in (b"{", b"["):
            objects.append(set() if token == b"{" else None)
        elif token in (b"}", b"]"):
            if objects:
                objects.pop()
        elif match.group(2) is not None and objects and objects[-1] is not None:
            key = json.loads(match.group(1))
            if key in objects[-1]:
                start = match.start()
                line = text.count(b"\n", 0, start) + 1
                column = start - (text.rfind(b"\n", 0, start) + 1) + 1
                return DuplicateKeyError(_shown_key(key), line, column)
            objects[-1].add(key)
    return None


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
    if not duplicate_free(data, value):
        raise repeated_key(data) or DuplicateKeyError("(not shown)")
    return value


def _check_encodable(value: Any) -> None:
    """Refuse escaped lone surrogates (``"\\ud800"``): no UTF-8 file can hold them later."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonInputError("a string holds an unpaired \\u surrogate escape") from None
