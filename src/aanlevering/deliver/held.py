"""What the receiver holds of one provider's period: the versions it receipted.

Why: the event log is the hospital's own memory of what it delivered; a log
restored from a backup, or a receipt that never came back, makes it forget
versions the registry holder keeps. Before a run says "already delivered",
picks a version number or retracts, it asks the receiver once which versions
of the period it holds (decision 0460). Each channel answers from where its
receipts are: the HTTPS holder's deliveries listing, the SFTP inbox's and the
outbox's ``receipt.json`` files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aanlevering.deliver.manifest import idempotency_key


@dataclass(frozen=True)
class HeldVersion:
    """One version the receiver holds receipted (no content, only what the receipt names)."""

    version: int
    idempotency_key: str
    receipt_id: str = ""
    receiver: str = ""
    received_at: str = ""
    #: ``delivery`` or ``retraction`` when the receiver says which, else "".
    kind: str = ""


@dataclass(frozen=True)
class Holdings:
    """The versions of one provider's registration and period the receiver holds."""

    registration: str
    period: str
    versions: tuple[HeldVersion, ...]
    #: Where the answer came from (e.g. ``https``), for messages.
    channel: str

    @property
    def latest(self) -> HeldVersion | None:
        """The highest version held, or None when the receiver holds none."""
        return max(self.versions, key=lambda v: v.version, default=None)

    def after(self, version: int) -> tuple[HeldVersion, ...]:
        """The held versions later than ``version``, oldest first."""
        return tuple(sorted((v for v in self.versions if v.version > version), key=_number))


def _number(held: HeldVersion) -> int:
    return held.version


class ListingUnavailable(Exception):
    """The receiver answers, but offers no listing of what it holds (e.g. HTTP 404 or 405).

    Not a transport error: a registry holder without the listing of
    decision 0462 is asked nothing, and the run keeps the log's answer,
    saying so (decision 0460).
    """


@runtime_checkable
class ListsHoldings(Protocol):
    """A channel that can say which versions of a period the receiver holds."""

    def held_versions(self, provider: str, registration: str, period: str) -> Holdings:
        """The receipted versions of this provider's period; RetryableDeliveryError if down."""
        ...


#: The kinds of version a receiver may name; anything else is read as unknown ("").
KINDS = frozenset({"delivery", "retraction"})


def version_of_key(key: str, provider: str, registration: str, period: str) -> int | None:
    """The version in ``key`` when it is this provider's key of this period, else None."""
    prefix = idempotency_key(provider, registration, period, 0)[: -len("v0")]
    if not key.startswith(prefix):
        return None
    match = re.fullmatch(r"v([1-9][0-9]{0,8})", key[len(prefix) :])
    return int(match.group(1)) if match else None


def keep_own(
    found: Sequence[HeldVersion], provider: str, registration: str, period: str
) -> tuple[HeldVersion, ...]:
    """Only versions whose key is this provider's key of this period, one per version."""
    own: dict[int, HeldVersion] = {}
    for held in found:
        if version_of_key(held.idempotency_key, provider, registration, period) == held.version:
            own.setdefault(held.version, held)
    return tuple(own[v] for v in sorted(own))
