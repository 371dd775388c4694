"""Compare the event log with what the receiver holds before a run trusts the log.

Why: "already delivered" and the next version number were decided from the
event log alone, so a log restored from an older backup said "already
delivered v1" while the registry holder's current version was v2 with other
content (decision 0460). One lookup per run asks the channel which versions
of the period the receiver holds receipted; a version later than any the log
knows stops the run (:class:`ReceiverAhead`), after the log records it as
held by the receiver with unknown content, so the next run plans past it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aanlevering.deliver.events import DeliveryVersionTaken, delivery_stream
from aanlevering.deliver.held import (
    HeldVersion,
    Holdings,
    ListingUnavailable,
    ListsHoldings,
    version_of_key,
)
from aanlevering.deliver.ledger import LedgerEntry
from aanlevering.deliver.receipt import RetryableDeliveryError
from aanlevering.errors import ReceiverAhead
from aanlevering.events.store import EventStore
from aanlevering.pipeline.listing_memory import answered_before, remember_answer

__all__ = [
    "ReceiverAhead",
    "ReceiverNotAsked",
    "ask_receiver",
    "check_not_ahead",
    "held_supersedes",
]

log = logging.getLogger(__name__)


class ReceiverNotAsked(RetryableDeliveryError):
    """The receiver could not be asked what it holds; the run does not trust the log alone."""


def ask_receiver(
    channel: object, provider: str, registration: str, period: str, *, store: EventStore
) -> Holdings | None:
    """The receiver's versions of the period (None: the channel cannot be asked).

    A receiver that cannot be reached fails the run as a send would
    (:class:`ReceiverNotAsked`, retried later): "already delivered" is never
    said from the log alone when the receiver could have been asked. A
    receiver that answered the listing once and now answers "no listing"
    (404, 405, 501) is one that could not be asked, not one of the older
    protocol (decision 0455): the log remembers its first answer.
    """
    if not isinstance(channel, ListsHoldings):
        return None
    # Only a channel with an endpoint (HTTPS) can answer "no listing"; the others are
    # not remembered (their listing is a folder, nothing to downgrade).
    endpoint = getattr(channel, "endpoint", None)
    try:
        holdings = channel.held_versions(provider, registration, period)
    except ListingUnavailable as unavailable:
        if isinstance(endpoint, str) and answered_before(store, registration, endpoint):
            raise ReceiverNotAsked(
                f"registration {registration}, period {period}: {unavailable}, but this "
                "receiver answered the listing before (a proxy or middlebox in the way, or a "
                "misconfigured endpoint?); nothing was sent and nothing is reported delivered: "
                "run again when the registry holder answers its listing"
            ) from unavailable
        log.warning("%s; %s %s: the event log alone decides", unavailable, registration, period)
        return None
    except RetryableDeliveryError as error:
        raise ReceiverNotAsked(
            f"registration {registration}, period {period}: the receiver could not be asked "
            f"which versions it holds ({error}); nothing was sent and nothing is reported "
            "delivered: run again when it is reachable"
        ) from error
    if isinstance(endpoint, str):
        remember_answer(store, registration, endpoint)
    return holdings


def check_not_ahead(
    store: EventStore,
    holdings: Holdings | None,
    entries: Sequence[LedgerEntry],
    *,
    provider: str,
    doing: str,
) -> None:
    """ReceiverAhead when the receiver holds a version later than every one the log knows.

    The later versions are first recorded (``DeliveryVersionTaken``, with the
    receiver's receipt) so the log knows them from now on: a rerun numbers
    past them and supersedes the latest, a retraction names it.
    """
    if holdings is None:
        return
    known = max((entry.version for entry in entries), default=0)
    later = holdings.after(known)
    if not later:
        return
    _record_held(store, holdings, later, provider)
    latest = later[-1]
    log_knows = f"v{known}" if known else "no version"
    raise ReceiverAhead(
        f"registration {holdings.registration}, period {holdings.period}: the event log knows "
        f"{log_knows}, but the receiver ({holdings.channel}) holds v{latest.version} "
        f"({latest.idempotency_key}, receipt {latest.receipt_id or 'unnamed'}"
        f"{', received ' + latest.received_at if latest.received_at else ''}), delivered by a "
        "run this log does not know (e.g. the log was restored from an older backup). "
        f"Nothing was {doing}, and nothing is reported delivered. The log now records "
        f"{_versions(later)} as held by the receiver with content it does not know (no command "
        "can fetch that content). Decide which data belongs at the registry holder: run "
        "`aanlevering run` again with that input (it is delivered as the next version, "
        f"superseding v{latest.version}), or `aanlevering retract` the period."
    )


def held_supersedes(
    holdings: Holdings | None, provider: str, version: int, supersedes: str | None
) -> str | None:
    """What a new ``version`` supersedes: the receiver's latest earlier version if later.

    Why: a version sent whose receipt never came back is pending in the log,
    which then named the last receipted one; the receiver holds the pending
    one as current, so that is what the new version replaces (decision 0461).
    """
    if holdings is None:
        return supersedes
    earlier = [held for held in holdings.versions if held.version < version]
    if not earlier:
        return supersedes
    latest = max(earlier, key=lambda held: held.version)
    named = (
        version_of_key(supersedes, provider, holdings.registration, holdings.period)
        if supersedes
        else None
    )
    return latest.idempotency_key if latest.version > (named or 0) else supersedes


def _versions(held: Sequence[HeldVersion]) -> str:
    return ", ".join(f"v{h.version}" for h in held)


def _record_held(
    store: EventStore, holdings: Holdings, later: Sequence[HeldVersion], provider: str
) -> None:
    store.append(
        delivery_stream(holdings.registration, holdings.period),
        [
            DeliveryVersionTaken(
                registration=holdings.registration,
                period=holdings.period,
                version=held.version,
                idempotency_key=held.idempotency_key,
                receipt_id=held.receipt_id,
                receiver=held.receiver,
                received_at=held.received_at,
                provider=provider,
                kind=held.kind,
            )
            for held in later
        ],
        None,
    )
