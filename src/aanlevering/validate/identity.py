"""Identity fields checked before pseudonymisation: BSN elfproef, real birth dates, postcodes, MRNs.

Identity never reaches Great Expectations (it is a separate table of the
extract), so these checks run here, on the identity table, with the same
field rules the normalisation profile applies (``aanlevering.pseudonym.normalise``):
what fails here is exactly what would silently lose its pseudonyms later.
Birth dates must in addition be plausible for a patient: not before 1900.

Only the fields the registration's pseudonym types need are checked (the BSN
for ``B``; the birth date for the name, ``C``, ``RGG`` and ``GG`` types; the
postcode for ``C``, ``RGG`` and ``A``), plus the MRN, which keys every patient
(opt-outs, failure listings, delivery contents). Empty values are not checked
here, except a missing MRN; a missing field shows up in the pseudonymisation
accounting.

Two views of the findings, never with values:

* the registry holder's report gets one check per field and dataset with
  counts and the reasons' counts, and **no** row references (that would say
  which identifier of which record is wrong);
* the hospital's own report (``hospital-report.json``, never delivered) gets
  the failing rows as ``file:line`` or resource location per field.

Work is per distinct value (a million rows hold far fewer distinct birth dates
and postcodes), then spread over the rows in Arrow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.model import ExtractedDataset
from aanlevering.pseudonym.normalise.bsn import normalise_bsn
from aanlevering.pseudonym.normalise.dates import normalise_birth_date
from aanlevering.pseudonym.normalise.failures import MISSING, FieldInvalid
from aanlevering.pseudonym.normalise.mrn import UPPER_CASE_ONLY, normalise_mrn
from aanlevering.pseudonym.normalise.postcode import (
    SURELY_PC4,
    SURELY_PC6,
    normalise_pc4,
    normalise_pc6,
)
from aanlevering.pseudonym_types import PseudonymType
from aanlevering.validate.checks import Check
from aanlevering.validate.results import CheckResult

T = PseudonymType

#: Earliest plausible birth year of a patient delivered from 2026 on.
EARLIEST_PLAUSIBLE_YEAR = 1900
IMPLAUSIBLE_EARLY = "before 1900, which is not a plausible birth date of a patient"

_BIRTH_DATE_TYPES = frozenset({T.NGGV, T.SNGGV, T.NGG, T.SNGG, T.C, T.RGG, T.GG})
_PC6_TYPES = frozenset({T.C, T.A})
_POSTCODE_TYPES = frozenset({T.C, T.RGG, T.A})


def _plausible_birth_date(value: object) -> str:
    canonical = normalise_birth_date(value)
    if int(canonical[:4]) < EARLIEST_PLAUSIBLE_YEAR:
        raise FieldInvalid(IMPLAUSIBLE_EARLY)
    return canonical


@dataclass(frozen=True)
class IdentityRule:
    """One identity field's check: which field, how it is judged, what it is called."""

    field: str
    name: str  # rule id part: identity.<name>
    description: str
    judge: Callable[[object], str]
    missing_fails: bool = False
    #: RE2 pattern of values ``judge`` surely accepts, tested over the distinct values in
    #: Arrow so that only the rest is judged one by one in Python (a million distinct
    #: MRNs took about 2 s). Must never match a value ``judge`` rejects (pinned by
    #: tests/unit/validate/test_identity_fast_path.py).
    surely_valid: str | None = None


def identity_rules(types: Sequence[str]) -> list[IdentityRule]:
    """The identity checks a registration with these pseudonym types needs (MRN always)."""
    wanted = {T(t) for t in types}
    rules = []
    if T.B in wanted:
        rules.append(
            IdentityRule("bsn", "bsn", "BSN is 9 digits and passes the elfproef", normalise_bsn)
        )
    if wanted & _BIRTH_DATE_TYPES:
        rules.append(
            IdentityRule(
                "birth_date",
                "birth_date",
                "birth date is a real, complete date, not in the future and not before 1900",
                _plausible_birth_date,
            )
        )
    if wanted & _POSTCODE_TYPES:
        pc6 = bool(wanted & _PC6_TYPES)
        rules.append(
            IdentityRule(
                "postcode",
                "postcode",
                "postcode is a Dutch postcode (4 digits and 2 letters, as in 1234 AB)"
                if pc6
                else "postcode is a Dutch postcode (1234 or 1234 AB)",
                normalise_pc6 if pc6 else normalise_pc4,
                surely_valid=SURELY_PC6 if pc6 else SURELY_PC4,
            )
        )
    rules.append(
        IdentityRule(
            "mrn",
            "mrn",
            "hospital patient number (MRN) is present and has the shape of one "
            "(letters, digits and - . / _, at most 64)",
            normalise_mrn,
            missing_fails=True,
            surely_valid=UPPER_CASE_ONLY,
        )
    )
    return rules


@dataclass(frozen=True)
class IdentityFinding:
    """What one identity rule found in one dataset; row references are for the hospital only."""

    rule_id: str
    dataset: str
    field: str
    description: str
    checked: int
    failed: int
    reasons: Mapping[str, int]
    failing_row_refs: tuple[str, ...]

    def result(self) -> CheckResult:
        """The registry holder's view: counts and reasons, no rows (see the module docstring)."""
        check = Check(
            rule_id=self.rule_id,
            dataset=self.dataset,
            kind="identity",
            severity="warning",
            description=self.description,
            expectation_type="identity_check",
            engine="extract",
        )
        reasons = "; ".join(f"{reason}: {count}" for reason, count in sorted(self.reasons.items()))
        return CheckResult.of(
            check,
            success=self.failed == 0,
            element_count=self.checked,
            unexpected_count=self.failed,
            note=reasons or None,
        )

    def hospital_view(self) -> dict[str, object]:
        """The hospital's view: the same counts plus the failing rows (no values)."""
        return {
            "rule_id": self.rule_id,
            "dataset": self.dataset,
            "field": self.field,
            "description": self.description,
            "checked": self.checked,
            "failed": self.failed,
            "reasons": dict(sorted(self.reasons.items())),
            "failing_rows": list(self.failing_row_refs),
        }


def _values(dataset: ExtractedDataset, rule: IdentityRule) -> pa.Array | None:
    identity = dataset.identity
    if rule.field not in identity.schema.names:
        return None
    column = identity.column(rule.field).combine_chunks()
    if rule.field == "mrn" and "patient_id" in identity.schema.names:
        # the pseudonymisation falls back on the patient id when the MRN is empty
        column = pc.coalesce(column, identity.column("patient_id").combine_chunks())
    return column


def _judge(rule: IdentityRule, column: pa.Array) -> tuple[pa.Array, Counter[str], int]:
    """Failing rows (mask), their reasons and the rows with a value; each value judged once."""
    trimmed = pc.utf8_trim_whitespace(column.cast(pa.string()))
    blank = pc.fill_null(pc.equal(trimmed, ""), True)
    present = pc.if_else(blank, pa.scalar(None, pa.string()), trimmed)
    counts = pc.value_counts(present)
    values, numbers = counts.field("values"), counts.field("counts")
    if rule.surely_valid is not None:
        unsure = pc.invert(pc.fill_null(pc.match_substring_regex(values, rule.surely_valid), False))
        values, numbers = values.filter(unsure), numbers.filter(unsure)
    failing: list[str] = []
    reasons: Counter[str] = Counter()
    for value, count in zip(values.to_pylist(), numbers.to_pylist(), strict=True):
        if value is None:
            if rule.missing_fails:
                reasons[MISSING] += count
            continue
        try:
            rule.judge(value)
        except FieldInvalid as error:
            failing.append(value)
            reasons[error.reason] += count
    mask = pc.is_in(present, value_set=pa.array(failing, pa.string()))
    mask = pc.fill_null(mask, False)
    if rule.missing_fails:
        mask = pc.or_(mask, pc.is_null(present))
    return mask, reasons, len(present) - present.null_count


def check_identity(dataset: ExtractedDataset, types: Sequence[str]) -> list[IdentityFinding]:
    """Every identity rule the types need, on one dataset's identity table.

    A field the dataset does not carry at all (no column, or only empty values
    while the rule does not count missing values) gives no finding.
    """
    findings: list[IdentityFinding] = []
    for rule in identity_rules(types):
        values = _values(dataset, rule)
        if values is None or len(values) == 0:
            continue
        mask, reasons, present = _judge(rule, values)
        if not present and not rule.missing_fails:
            continue
        failing_refs = pc.filter(dataset.row_refs, mask).to_pylist()
        checked = len(values) if rule.missing_fails else present
        findings.append(
            IdentityFinding(
                rule_id=f"{dataset.name}.identity.{rule.name}",
                dataset=dataset.name,
                field=rule.field,
                description=rule.description,
                checked=checked,
                failed=len(failing_refs),
                reasons=dict(reasons),
                failing_row_refs=tuple(str(ref) for ref in failing_refs),
            )
        )
    return findings
