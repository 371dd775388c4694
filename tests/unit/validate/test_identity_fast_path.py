"""The identity checks' Arrow fast path never passes a value the normalisation rejects.

Why: ``IdentityRule.surely_valid`` lets a million distinct MRNs and postcodes skip the
per-value Python judge. A pattern that matched one value the judge rejects would let an
unusable identifier through the check; so every pattern is tried against awkward values
and random ones, and the findings are compared with the judge-only version.
"""

from __future__ import annotations

import dataclasses
import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aanlevering.catalogue.model import IDENTITY_FIELDS
from aanlevering.extract.model import ExtractedDataset
from aanlevering.pseudonym.normalise.failures import FieldInvalid
from aanlevering.validate import identity
from aanlevering.validate.identity import IdentityRule, check_identity, identity_rules

AWKWARD = [
    "1012NX", "1012 NX", "1012  NX", "1012-NX", "1012nx", "1012 sa", "1012SA", "1012 Sd",
    "1012ss", "1012 SB", "0123AB", "1012", "0123", "101", "10123", "1012 N", "1012 NXY",
    "\u0661\u0660\u0661\u0662NX", "1012 ÑX", "1012\u00a0NX", "1012\tNX", " 1012NX",
    "ZH-1", "zh-1", "ZH 1",
    "ZH_1/2.3", "a" * 64, "a" * 65, "ab$", "ÅB12", "", "-", ".", "_", "0012345",
    "3087ed", "9999zz", "1000AA", "1000Sz", "1000sZ",
]  # fmt: skip

_ALPHABET = "0123456789 -_./AaBbDdSsXxZzÑ\u00a0\t$"


def _random_values(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(_ALPHABET, k=rng.randint(0, 8))) for _ in range(count)]


def _fast_rules() -> list[IdentityRule]:
    rules = {
        rule.name + str(rule.judge): rule
        for types in (["C", "MRN"], ["RGG", "MRN"])
        for rule in identity_rules(types)
        if rule.surely_valid is not None
    }
    return list(rules.values())


def test_the_mrn_and_both_postcode_rules_have_a_fast_path() -> None:
    assert sorted(r.name for r in _fast_rules()) == ["mrn", "postcode", "postcode"]


@pytest.mark.parametrize("rule", _fast_rules(), ids=lambda r: f"{r.name}-{r.judge.__name__}")
def test_every_value_the_pattern_passes_the_judge_accepts(rule: IdentityRule) -> None:
    values = AWKWARD + _random_values(18, 20_000)
    assert rule.surely_valid is not None
    matched = pc.match_substring_regex(pa.array(values, pa.string()), rule.surely_valid)
    passed = [v for v, m in zip(values, matched.to_pylist(), strict=True) if m]
    rejected = []
    for value in passed:
        try:
            rule.judge(value)
        except FieldInvalid:
            rejected.append(value)
    assert rejected == []
    assert len(passed) > 5  # the pattern does take the common shapes


def _dataset(values: list[str | None]) -> ExtractedDataset:
    columns = {name: pa.array([None] * len(values), pa.string()) for name in IDENTITY_FIELDS}
    columns["postcode"] = pa.array(values, pa.string())
    columns["mrn"] = pa.array(values, pa.string())
    refs = pa.array([f"export.csv:{i + 2}" for i in range(len(values))])
    return ExtractedDataset(
        "operatie", pa.table({"x": range(len(values))}), pa.table(columns), refs
    )


@pytest.mark.parametrize("types", [["C", "MRN"], ["RGG", "MRN"]])
def test_findings_are_those_of_judging_every_value(
    types: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    values: list[str | None] = [*AWKWARD, None, "  ", *_random_values(5, 3000), *AWKWARD]
    dataset = _dataset(values)
    fast = check_identity(dataset, types)
    slow_rules = [dataclasses.replace(r, surely_valid=None) for r in identity_rules(types)]
    monkeypatch.setattr(identity, "identity_rules", lambda _types: slow_rules)
    slow = check_identity(dataset, types)
    assert fast == slow
    assert all(f.failed > 0 for f in fast)  # the sample holds failing values of each field
