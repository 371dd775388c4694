"""A receipt's record counts are JSON integers or the receipt is no proof (decision 0594).

``"5"`` and ``true`` used to be read as 5 and 1, so a receipt that does not say
what the holder counted was taken as proof that it holds what was sent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from aanlevering.deliver.receipt import InvalidReceipt, Receipt, ReceiptMismatch
from aanlevering.errors import DeliveryError


def _raw(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "idempotency_key": "demo-hospital.ldtr.2026-03.v1",
        "receipt_id": "r-1",
        "received_at": "2026-11-22T10:00:00+00:00",
        "receiver": "holder",
        "record_counts": {"patients": 5, "tumours": 0},
        "provider": "demo-hospital",
        "manifest_sha256": "f" * 64,
    }
    raw.update(changes)
    return raw


def test_integer_counts_are_read() -> None:
    receipt = Receipt.from_mapping(_raw(), "https")
    assert dict(receipt.record_counts) == {"patients": 5, "tumours": 0}


@pytest.mark.parametrize(
    ("counts", "named"),
    [
        ({"patients": "5"}, "record_counts.patients"),
        ({"patients": True}, "record_counts.patients"),
        ({"patients": False}, "record_counts.patients"),
        ({"patients": 5.0}, "record_counts.patients"),
        ({"patients": -1}, "record_counts.patients"),
        ({"patients": None}, "record_counts.patients"),
        ({"patients": 2**63}, "record_counts.patients"),
        ([["patients", 5]], "record_counts"),
        ("patients=5", "record_counts"),
        (None, "record_counts"),
    ],
)
def test_counts_that_are_no_json_integer_make_the_receipt_invalid(
    counts: object, named: str
) -> None:
    with pytest.raises(InvalidReceipt, match=re.escape(named)) as caught:
        Receipt.from_mapping(_raw(record_counts=counts), "https")
    assert "non-negative integer" in str(caught.value) or "object" in str(caught.value)
    # Never proof: it is a refusal of the receipt, not a retryable hiccup.
    assert isinstance(caught.value, ReceiptMismatch)
    assert isinstance(caught.value, DeliveryError)


@pytest.mark.parametrize("duplicate", ["false", 1, None])
def test_a_duplicate_flag_that_is_no_boolean_makes_the_receipt_invalid(
    duplicate: object,
) -> None:
    with pytest.raises(InvalidReceipt, match="duplicate"):
        Receipt.from_mapping(_raw(duplicate=duplicate), "https")


def test_a_missing_field_is_still_named() -> None:
    raw = _raw()
    del raw["receipt_id"]
    with pytest.raises(InvalidReceipt, match="receipt_id"):
        Receipt.from_mapping(raw, "https")
