"""Records delivered only because the registration lists a word as not a name (decision 0910).

Why: the registration's ``not_names`` (:mod:`aanlevering.catalogue.not_names`)
clears a word that is a clinical or ordinary word and only by coincidence a
patient's family name from decisions 0880 and 0881. Such a clearing must never be
silent: the hospital's report and the run's log line say which listed words let
how many records of which variable through. Counts and the listed words only
(configuration, not a value of a record), never a record, row or value; and
nothing of it goes to the registry holder (neither the delivered files, the
manifest nor the report that travels with them) or to the event log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Where a refusal sends the engineer for a word that is not a name (the README section).
HOW_TO_CLEAR = (
    "list it under not_names in the registration's file (registrations/{registration}.yaml; "
    "README, 'A delivery blocked by a word that is not a name', decision 0910)"
)


@dataclass(frozen=True)
class NotNameRecords:
    """Records of one variable that passed 0880 or 0881 only because of listed words."""

    dataset: str
    variable: str
    #: Listed word -> records it let through (a record of a double name counts under each).
    words: Mapping[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        """At least this many records passed only because of the list (most of one word)."""
        return max(self.words.values(), default=0)


def merged(found: Iterable[NotNameRecords]) -> list[NotNameRecords]:
    """One entry per variable: 0880 (whole values) and 0881 (words) see the same record
    of a text variable, so each word keeps the larger of the two counts, not their sum."""
    by_variable: dict[tuple[str, str], dict[str, int]] = {}
    for item in found:
        words = by_variable.setdefault((item.dataset, item.variable), {})
        for word, records in item.words.items():
            words[word] = max(words.get(word, 0), records)
    return [
        NotNameRecords(dataset, variable, dict(sorted(words.items())))
        for (dataset, variable), words in sorted(by_variable.items())
        if any(words.values())
    ]


def report_section(listed: Sequence[str], found: Iterable[NotNameRecords]) -> dict[str, Any]:
    """The hospital report's ``not_names`` section: the listed words and, per variable,
    how many records each let through (words nobody needed this run are in ``unused``)."""
    used = merged(found)
    needed = {word for item in used for word in item.words}
    return {
        "decision": "0910",
        "listed": sorted(listed),
        "unused": sorted(set(listed) - needed),
        "delivered_only_because_listed": {
            f"{item.dataset}.{item.variable}": {"records": item.records, "words": dict(item.words)}
            for item in used
        },
    }


def describe(found: Iterable[NotNameRecords]) -> str:
    """The run's log line: per variable, records and words (counts, never a record)."""
    used = merged(found)
    if not used:
        return "no record needed the registration's not_names words (decision 0910)"
    parts = [
        f"{item.dataset}.{item.variable}: {item.records} record(s) "
        f"({', '.join(f'{word} {n}' for word, n in item.words.items())})"
        for item in used
    ]
    return (
        "delivered only because the registration lists the word under not_names "
        f"(decision 0910): {'; '.join(parts)}"
    )
