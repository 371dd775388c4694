"""Checks on every TTP answer before anything in it is used.

An answer must hold exactly the refs that were sent, for each exactly the
types asked for, and labels of the right kind, type and key version. An
incomplete or wrong answer raises :class:`TTPError` before anything can be
delivered.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from aanlevering.errors import TTPError
from aanlevering.pseudonym.crypto import LabelError, parse_label
from aanlevering.pseudonym_types import PseudonymType

_MRN = PseudonymType.MRN.value


def check_refs(
    registration: str, request_id: str, sent: Sequence[str], records: Any
) -> list[dict[str, Any]]:
    """The answer's records, if they are exactly the refs sent (in any order)."""
    if not isinstance(records, list):
        raise TTPError(f"TTP answer to {request_id} ({registration}) has no records list")
    got = [record.get("ref") if isinstance(record, dict) else None for record in records]
    if len(got) != len(sent) or set(got) != set(sent):
        missing = len(set(sent) - set(got))
        unexpected = len({g for g in got if g not in set(sent)})
        raise TTPError(
            f"TTP answer to {request_id} ({registration}) is incomplete: {len(got)} records "
            f"for {len(sent)} sent, {missing} missing, {unexpected} unexpected; "
            "nothing from this run may be delivered"
        )
    return records


class LabelCheck:
    """The label check of one batch's answer: every record's labels go through :meth:`check`.

    Why an object per batch: a batch has thousands of records but a handful of
    label heads (``T1:NGGV:v1``, everything before the payload), which say
    kind, type and key version. The first label of each head is parsed and
    checked in full; after that a label is accepted when it starts with a
    head already checked for the same type and has a payload (decision 0121:
    payloads are not decoded on the client). Anything else takes the full
    check, which raises with the reason.
    """

    def __init__(
        self, registration: str, request_id: str, *, kind: str, version: int | None
    ) -> None:
        """``kind``: "temporary" or "definitive" (MRN labels are always "mrn");
        ``version``: the key version every label must have, None for any."""
        self._where = f"TTP answer to {request_id} ({registration})"
        self._kind = kind
        self._version = version
        #: Per type, the heads (with their final colon) checked in full so far.
        self._prefixes: dict[str, tuple[str, ...]] = {}

    def check(
        self, labels: Any, expected: Collection[str], extra: str | None = None
    ) -> dict[str, str]:
        """``labels`` (one record's type -> label), if its types are ``expected`` plus ``extra``.

        ``extra`` saves building a set per record when one type (MRN in web
        mode) is asked for apart from the others. Callers bind the method once
        per batch (``check = LabelCheck(...).check``): it runs per record.
        """
        if type(labels) is dict and len(labels) == len(expected) + (extra is not None):
            prefixes = self._prefixes
            for code, text in labels.items():
                known = prefixes.get(code)
                if (
                    known is None
                    or type(text) is not str
                    or not text.startswith(known)
                    or text[-1] == ":"
                    or (code != extra and code not in expected)
                ):
                    break
            else:
                return labels
        return self._full(labels, expected, extra)

    def _full(self, labels: Any, expected: Collection[str], extra: str | None) -> dict[str, str]:
        wanted = {str(code) for code in expected}
        if extra is not None:
            wanted.add(extra)
        if not isinstance(labels, dict) or labels.keys() != wanted:
            found = sorted(labels) if isinstance(labels, dict) else []
            raise TTPError(f"{self._where} has types {found}, expected {sorted(wanted)}")
        for code, text in labels.items():
            self._label(code, text)
        return labels

    def _label(self, code: str, text: Any) -> None:
        want = "mrn" if code == _MRN else self._kind
        try:
            label = parse_label(text)
        except (LabelError, TypeError, AttributeError):
            raise TTPError(f"{self._where}: malformed {code} label") from None
        if label.kind != want or label.type.value != code:
            raise TTPError(
                f"{self._where}: {code} label is a {label.kind} {label.type.value} pseudonym, "
                f"expected {want} {code}"
            )
        if self._version is not None and label.version != self._version:
            raise TTPError(
                f"{self._where}: {code} label has key version {label.version}, "
                f"expected {self._version}"
            )
        head = text[: text.rindex(":") + 1]
        known = self._prefixes.get(code, ())
        if head not in known:
            self._prefixes[code] = (*known, head)
