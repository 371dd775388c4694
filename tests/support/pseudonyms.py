"""Per-person forms of the pseudonymisation results, for tests only.

The product works on columns (:class:`SourceBatch`, :class:`PseudonymTable`);
these helpers give the same results one person at a time, so tests can state
expectations per person and check the columnar code against a simple one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.crypto import parse_label
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym.source_step import (
    MrnKey,
    SourceKey,
    encrypt_mrn,
    hash_canonical,
    reveal_mrn,
)
from aanlevering.pseudonym.ttp.models import PseudonymResult
from aanlevering.pseudonym_types import PseudonymType


@dataclass(frozen=True, slots=True, repr=False)
class SourcePseudonym:
    """One pseudonym after the source step, labelled with everything needed to use it later."""

    type: PseudonymType
    registration: str
    profile_version: str
    key_version: int
    value: str

    def __repr__(self) -> str:
        return (
            f"SourcePseudonym({self.type}, registration={self.registration}, "
            f"profile={self.profile_version}, key_version={self.key_version})"
        )


def pseudonymise_person(
    canonical: Mapping[PseudonymType, str],
    profile_version: str,
    source_key: SourceKey,
    mrn_key: MrnKey | None = None,
) -> dict[PseudonymType, SourcePseudonym]:
    """The source step for one person's canonical inputs, as labelled pseudonyms."""
    result: dict[PseudonymType, SourcePseudonym] = {}
    registration = source_key.registration
    for type_, value in canonical.items():
        if type_ is PseudonymType.MRN:
            if mrn_key is None:
                raise ConfigError(f"registration {registration} asks for MRN but no MRN key is set")
            token = encrypt_mrn(mrn_key, registration, profile_version, value)
            version = mrn_key.version
        else:
            token = hash_canonical(source_key, profile_version, type_, value)
            version = source_key.version
        result[type_] = SourcePseudonym(type_, registration, profile_version, version, token)
    return result


def reveal_mrn_column(
    key: MrnKey, registration: str, profile_version: str, tokens: Iterable[str | None]
) -> list[str | None]:
    """``reveal_mrn`` over a column; ``None`` stays ``None``."""
    return [
        None if token is None else reveal_mrn(key, registration, profile_version, token)
        for token in tokens
    ]


def patient_pseudonyms(
    result: PseudonymResult, patient_ids: Mapping[str, str], profile: str
) -> list[PatientPseudonyms]:
    """A TTP result in the delivery model, one entry per ref.

    ``patient_ids`` maps each ref to the source patient number. A pseudonym's
    ``value`` is its full label; kind, type and key version come from parsing it.
    """
    out: list[PatientPseudonyms] = []
    for ref, labels in result.pseudonyms.items():
        pseudonyms = []
        for label in labels.values():
            parsed = parse_label(label)
            pseudonyms.append(
                Pseudonym(
                    type=parsed.type,
                    value=label,
                    key_version=parsed.version,
                    temporary=parsed.kind == "temporary",
                    profile=profile,
                )
            )
        out.append(PatientPseudonyms(patient_ids[ref], tuple(pseudonyms)))
    return out
