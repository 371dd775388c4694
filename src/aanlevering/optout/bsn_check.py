"""A patient-number column that holds BSNs stops the run: the MRN is never the BSN.

Why (decision 0641): the hospital patient number keys two things, the opt-out
register (patients object under their MRN) and the reversible ``MRN``
pseudonym, which DOMAIN allows only from the local patient number, never from
the BSN. A configuration that takes the BSN as the patient number passes every
other check: a CSV column ``BSN`` listed under ``identity`` as ``mrn``,
``source.fhir.mrn_system`` set to the BSN naming system, or an export whose
patient-number column is the BSN. Nine digits have an MRN's shape, the output
guard never sees them (they leave encrypted) and nothing looked wrong, while
the registry holder received reversible pseudonyms of BSNs and no opt-out
matched.

The test: of a dataset's distinct patient numbers, those of nine digits (or
eight, a BSN that lost its leading zero) passing the BSN eleven-test. By chance
one nine-digit number in eleven passes; a dataset where at least
:data:`MIN_PASSING` pass and they are at least half of its distinct patient
numbers holds BSNs. Counts only in the message; no number is logged or raised.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ConfigError
from aanlevering.events.guard import elfproef_mask

#: Fewer passing numbers than this say nothing (a small extract, a chance match).
MIN_PASSING = 10
_BSN_SHAPED = r"^[0-9]{8,9}$"
_SOURCES = {
    "csv": "the column listed under identity as 'mrn', else 'patient_id'",
    "fhir": "the identifier of source.fhir.mrn_system or typed MR, else Patient.id",
}


def bsn_passing_count(numbers: pa.Array) -> tuple[int, int]:
    """(distinct patient numbers, how many of them pass the BSN eleven-test)."""
    text = pc.utf8_trim_whitespace(pc.cast(numbers, pa.string()))
    distinct = pc.drop_null(pc.unique(text))
    distinct = pc.filter(distinct, pc.not_equal(distinct, ""))
    shaped = pc.filter(distinct, pc.match_substring_regex(distinct, _BSN_SHAPED))
    if not len(shaped):
        return len(distinct), 0
    passing = elfproef_mask(pc.utf8_lpad(shaped, 9, "0"))
    return len(distinct), int(passing.sum())


def check_patient_numbers_are_no_bsns(
    registration: str,
    period: str,
    numbers: Mapping[str, pa.Array],
    source_kind: str,
) -> None:
    """ConfigError when a dataset's patient numbers are BSNs (see the module docstring).

    ``numbers``: per dataset, the patient number of every record, as the run keys
    opt-outs and MRN pseudonyms by them; ``source_kind`` (``csv``, ``fhir``) says
    in the message where the configuration takes that number from.
    """
    where = _SOURCES.get(source_kind, _SOURCES["csv"])
    for name, column in numbers.items():
        distinct, passing = bsn_passing_count(column)
        if passing >= MIN_PASSING and 2 * passing >= distinct:
            raise ConfigError(
                f"registration {registration}, period {period}, dataset {name}: {passing} of "
                f"its {distinct} patient numbers are numbers passing the BSN eleven-test "
                f"(by chance about 1 in 11 would): the patient number ({where}) "
                "holds BSNs. Opt-outs and the reversible MRN pseudonym are keyed by the "
                "hospital's own patient number, never the BSN: map the MRN column (CSV "
                "identity 'mrn' or 'patient_id') or source.fhir.mrn_system to the hospital's "
                "patient number; nothing of this run was pseudonymised or sent"
            )
