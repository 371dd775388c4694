"""Whether a new version is in order with the versions the holder holds of its period.

A registry holder keeps one current version per provider, registration and
period: the latest. A version numbered at or below one it holds would be
receipted beside a later one, and which is current would differ between the
hospital's books and the holder's. A retraction withdraws the current
version: one naming a version a later one already replaced, or naming a
retraction, withdraws nothing current, yet its receipt tells the hospital
the period is withdrawn. A new version naming no version it replaces while
the holder holds one would leave two current (decision 1036). The product numbers a version after
every version the holder holds and retracts the latest held delivery
(:mod:`aanlevering.retract`), so it never meets these refusals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aanlevering.deliver.manifest import Manifest


@dataclass(frozen=True)
class HeldVersion:
    """One receipted version of a period, as the holder's ledger records it."""

    version: int
    kind: str

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> HeldVersion:
        """The version and kind of a ledger entry (an entry without them: v0, a delivery)."""
        version = entry.get("version")
        kind = entry.get("kind")
        return cls(
            version=version if isinstance(version, int) else 0,
            kind=kind if isinstance(kind, str) else "delivery",
        )


def version_problems(manifest: Manifest, held: Mapping[str, HeldVersion]) -> list[str]:
    """Why ``manifest``'s version is out of order with the ``held`` ones (by key)."""
    if not held:
        return []
    latest_key = max(held, key=lambda key: held[key].version)
    latest = held[latest_key].version
    where = f"{manifest.provider_id}'s {manifest.registration} {manifest.period}"
    problems = []
    if manifest.version <= latest:
        problems.append(
            f"version {manifest.version} is not later than v{latest}, which this registry "
            f"holder holds of {where}: a new version is numbered after every version held"
        )
    if manifest.supersedes is None and manifest.kind == "delivery":
        # Receipted beside the held one, two versions would be current (decision 1036).
        problems.append(
            f"supersedes names no version, but this registry holder holds {where} "
            f"({latest_key}): a new version names the version it replaces"
        )
    named = held.get(manifest.supersedes or "")
    if manifest.kind != "retraction" or named is None:
        return problems  # naming a version never held is said by its own check (0720)
    if named.kind == "retraction":
        problems.append(
            f"supersedes names {manifest.supersedes}, itself a retraction: a retraction "
            "withdraws a delivered version"
        )
    elif manifest.supersedes != latest_key:
        problems.append(
            f"supersedes names {manifest.supersedes}, which a later version replaced: a "
            f"retraction withdraws the current version of {where} ({latest_key})"
        )
    return problems
