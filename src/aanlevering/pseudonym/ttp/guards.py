"""Checks made before any call to the TTP, shared by web mode and the local-mode upload.

Why before: a request the TTP must refuse (type B without a justification, a
run id that cannot form request ids) should not leave the hospital at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from aanlevering.errors import TTPError
from aanlevering.pseudonym_types import PseudonymType

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,150}$")
_B = PseudonymType.B.value


def check_bsn_allowed(
    registration: str, types: Iterable[str], bsn_justification: str | None
) -> None:
    """Stop before any call when type B is asked for without a justification.

    Most registrations may not receive a pseudonymised BSN, and those that use
    one are generally not admitted to the register; asking for it must be a
    deliberate, documented choice (the registration config's
    ``bsn_justification``), never a default.
    """
    if _B in {str(t) for t in types} and not (bsn_justification or "").strip():
        raise TTPError(
            f"registration {registration!r} asks for pseudonym type B (pseudonymised BSN) "
            "without a justification; most registrations may not receive B. Pass the "
            "justification from the registration's approval to request it."
        )


def check_run_id(run_id: str) -> None:
    """Refuse a run id that cannot be part of a TTP request id (the TTP's idempotency key)."""
    if not _RUN_ID.match(run_id):
        raise TTPError(
            "run id must be 1-151 characters of letters, digits and ._:@/+- "
            "(it becomes part of the TTP request ids)"
        )
