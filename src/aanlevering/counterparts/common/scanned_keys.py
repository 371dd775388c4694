"""Which JSON members the reference counterparts do not search for a BSN-like number.

Why one place: the registry holder (decision 0432) and the TTP in local mode
(decision 1020) apply the same rule to what they receive; a key scanned by one
and skipped by the other would make the same record pass one and fail the
other. Terminology codes and canonical addresses are not data about a person,
and a SNOMED code may pass the eleven-test by chance.
"""

from __future__ import annotations

#: Keys whose text is terminology or a canonical address, not data about a person.
NOT_SCANNED = frozenset({"code", "system", "url", "version", "profile", "questionnaire"})
