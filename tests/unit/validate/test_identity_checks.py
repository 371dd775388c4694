"""Identity fields are checked with the normalisation's own rules, per distinct value.

Rows with an invalid BSN (elfproef), an impossible or implausible birth date,
a malformed postcode or a missing or misshapen MRN are flagged and counted:
the registry holder's view has counts and reasons only, the hospital's view
the failing rows too.
"""

from __future__ import annotations

import json

import pyarrow as pa

from aanlevering.catalogue.model import IDENTITY_FIELDS
from aanlevering.extract.model import ExtractedDataset
from aanlevering.pseudonym.normalise.failures import BSN_ELFPROEF, DATE_IMPOSSIBLE, MISSING
from aanlevering.validate.identity import IMPLAUSIBLE_EARLY, check_identity

ROWS = [
    # bsn, birth_date, postcode, mrn
    ("999911120", "02-03-1950", "1012 NX", "ZH-1"),  # all fine
    ("999911121", "31-02-1970", "1012NX", "ZH-2"),  # elfproef fails, impossible date
    ("999911120", "1899-12-31", "ABCD", "ZH 3$"),  # before 1900, bad postcode, bad MRN
    (None, "2999-01-01", "9711", None),  # future birth date, PC4 only, no MRN
    ("12345678", "02-03-1950", "", ""),  # 8 digits: a lost leading zero, fails elfproef
    ("999911121", "31-02-1970", "1012 NX", "ZH-6"),  # the same bad values again
]


def _dataset() -> ExtractedDataset:
    columns = {name: [None] * len(ROWS) for name in IDENTITY_FIELDS}
    for index, (bsn, birth, postcode, mrn) in enumerate(ROWS):
        columns["bsn"][index] = bsn
        columns["birth_date"][index] = birth
        columns["postcode"][index] = postcode
        columns["mrn"][index] = mrn
    identity = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    refs = pa.array([f"export.csv:{i + 2}" for i in range(len(ROWS))])
    return ExtractedDataset("operatie", pa.table({"x": range(len(ROWS))}), identity, refs)


def _by_field(types: list[str]) -> dict[str, object]:
    return {f.field: f for f in check_identity(_dataset(), types)}


def test_every_identity_rule_flags_and_counts_its_rows() -> None:
    found = _by_field(["B", "C", "MRN"])

    bsn = found["bsn"]
    assert bsn.failing_row_refs == ("export.csv:3", "export.csv:6", "export.csv:7")
    assert (bsn.checked, bsn.failed) == (5, 3)
    assert bsn.reasons == {BSN_ELFPROEF: 3}

    birth = found["birth_date"]
    assert birth.failing_row_refs == (
        "export.csv:3",
        "export.csv:4",
        "export.csv:5",
        "export.csv:7",
    )
    assert birth.reasons[DATE_IMPOSSIBLE] == 2 and birth.reasons[IMPLAUSIBLE_EARLY] == 1
    assert sum(birth.reasons.values()) == 4

    postcode = found["postcode"]  # C needs all six positions: the PC4 fails too
    assert postcode.failing_row_refs == ("export.csv:4", "export.csv:5")
    assert postcode.checked == 5  # the empty value is not judged

    mrn = found["mrn"]  # missing MRNs fail: the MRN keys the patient
    assert mrn.failing_row_refs == ("export.csv:4", "export.csv:5", "export.csv:6")
    assert mrn.reasons[MISSING] == 2


def test_only_the_fields_the_types_need_are_checked() -> None:
    assert set(_by_field(["NGGV", "RGG", "MRN"])) == {"birth_date", "postcode", "mrn"}
    assert set(_by_field(["MRN"])) == {"mrn"}
    rgg = _by_field(["RGG"])["postcode"]  # RGG takes a PC4
    assert rgg.failing_row_refs == ("export.csv:4",)


def test_the_registry_holders_view_has_counts_but_no_rows_or_values() -> None:
    for finding in check_identity(_dataset(), ["B", "C", "MRN"]):
        result = finding.result()
        assert result.failing_row_refs == () and result.kind == "identity"
        assert result.severity == "warning" and result.unexpected_count == finding.failed
        text = json.dumps([result.note, result.description, result.rule_id])
        for bsn, birth, postcode, mrn in ROWS:
            for value in (bsn, birth, postcode, mrn):
                if value and len(value) >= 4:
                    assert value not in text
        hospital = json.dumps(finding.hospital_view())
        assert "export.csv:" in hospital or finding.failed == 0
        assert "999911121" not in hospital and "31-02-1970" not in hospital


def test_many_rows_are_judged_per_distinct_value() -> None:
    n = 200_000
    identity = pa.table(
        {
            "bsn": pa.array(["999911121", "999911120"] * (n // 2)),
            "mrn": pa.array(["ZH-1", "ZH-2", "ZH-3", "ZH-4"] * (n // 4)),
        }
    )
    refs = pa.array([f"x.csv:{i}" for i in range(n)])
    dataset = ExtractedDataset("d", pa.table({"x": pa.nulls(n)}), identity, refs)

    (bsn, mrn) = check_identity(dataset, ["B", "MRN"])

    assert bsn.failed == n // 2 and bsn.failing_row_refs[:2] == ("x.csv:0", "x.csv:2")
    assert mrn.failed == 0
