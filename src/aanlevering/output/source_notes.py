"""The value literals of minimised source resources, noted for the output guard.

Decision 0300 lets the guard check the values a file was joined from instead of
reading it back; decision 0304 extends it to the minimised source resources
(``Observation.ndjson``, ...). Their text is ours (ids, references, the PSEUDED
label) except the leaves of their elements, and the minimiser tells each element
it makes (a remembered element once). Here each element's leaves are noted per
column as the guard's text pass names them (:func:`aanlevering.output.guard.leaf_texts`),
so the guard's value check covers exactly what parsing each line would.
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any

import pyarrow as pa

from aanlevering.output.guard import leaf_texts, only_skipped
from aanlevering.output.result import BuiltValues

#: Files the guard names leaves in differently (answers by item, the Patient's
#: identifiers skipped), or that are noted by their own writers: scanned as text when
#: a source resource goes into them.
UNNOTED_TYPES = frozenset({"Patient", "QuestionnaireResponse"})


class SourceNotes:
    """Collects the leaves of minimised source resources per file and column."""

    def __init__(self, built: BuiltValues) -> None:
        self.built = built
        self._texts: dict[tuple[str, str], set[str]] = {}
        self._files: set[str] = set()
        self._dropped: set[str] = set()
        self._types: set[str] = set()

    def resource(self, resource_type: str) -> None:
        """A resource of ``resource_type`` is written (its file is noted, or scanned)."""
        if resource_type in self._types:
            return  # 5M resources at a million patients, a handful of types
        self._types.add(resource_type)
        file = f"{resource_type}.ndjson"
        if resource_type in UNNOTED_TYPES:
            self._dropped.add(file)
        else:
            self._files.add(file)

    def element(self, resource_type: str, key: str, value: Any) -> None:
        """The element ``key`` of a minimised ``resource_type`` holds ``value``."""
        if resource_type in UNNOTED_TYPES or only_skipped(value):
            return  # most elements told: a reference alone, which the guard skips
        file = f"{resource_type}.ndjson"
        for column, text in leaf_texts(resource_type, key, value):
            noted = self._texts.get((file, column))
            if noted is None:
                noted = self._texts[(file, column)] = set()
            noted.add(text)

    def handed(self) -> tuple[set[str], dict[tuple[str, str], set[str]]]:
        """What was noted, to be merged into another process's notes (:meth:`merge`)."""
        return self._types, self._texts

    def merge(self, types: set[str], texts: dict[tuple[str, str], set[str]]) -> None:
        """Add the notes of another part of the same resources (:meth:`handed`).

        Notes are sets (nothing depends on the order resources were noted in), so the
        union of two parts' notes is what noting every resource in one process gives.
        """
        for resource_type in sorted(types):
            self.resource(resource_type)
        for key, noted in texts.items():
            mine = self._texts.get(key)
            if mine is None:
                self._texts[key] = set(noted)
            else:
                mine |= noted

    def close(self) -> None:
        """Hand the notes to ``built``; files that also got text from elsewhere are dropped."""
        for file in sorted(self._files):
            self.built.expect(file)
        for (file, column), texts in sorted(self._texts.items()):
            if file in self._files:
                literals = [encode_basestring(text) for text in sorted(texts)]
                self.built.add(file, column, pa.array(literals, pa.string()))
        for file in self._dropped:
            self.built.drop(file)
