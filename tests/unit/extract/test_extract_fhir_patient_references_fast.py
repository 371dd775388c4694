"""``patient_references`` without a loop equals the straightforward loop over both links (0990).

The streaming reader asks it for every related and target resource it keeps a row
of. The fast version reads ``subject`` and ``patient`` directly; here it is
compared with the loop it replaced on awkward values of both links, as dicts and as
read-only Mappings that are no dicts, and on ``str`` subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.mapping_proxies import proxied

from aanlevering.extract.fhir_patient_links import PATIENT_LINKS, patient_references


def _straightforward(resource: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The loop ``patient_references`` was before 0990."""
    found: list[str | None] = []
    for link in PATIENT_LINKS:
        value = resource.get(link)
        if isinstance(value, Mapping) and isinstance(value.get("reference"), str):
            found.append(str(value["reference"]).strip())
        else:
            found.append(None)
    return found[0], found[1]


class _Text(str):
    """A ``str`` that is not exactly a ``str`` (what no JSON decoder gives, but a caller may)."""


REFERENCES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(["", " ", "Patient/p1", " Patient/p2 ", "urn:uuid:x", "Group/g\n"]),
    st.text(max_size=12),
    st.builds(_Text, st.sampled_from(["Patient/p3", " Patient/p4 ", ""])),
    st.lists(st.just("Patient/p5"), max_size=2),
)
LINKS = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.just({}),
    st.builds(lambda reference: {"reference": reference}, REFERENCES),
    st.builds(lambda reference: {"display": "x", "reference": reference}, REFERENCES),
    st.lists(st.builds(lambda reference: {"reference": reference}, REFERENCES), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    subject=LINKS, patient=LINKS, present=st.sampled_from(["both", "subject", "patient", "none"])
)
def test_fast_patient_references_equal_the_loop(subject: Any, patient: Any, present: str) -> None:
    resource: dict[str, Any] = {"resourceType": "Observation", "id": "o1"}
    if present in ("both", "subject"):
        resource["subject"] = subject
    if present in ("both", "patient"):
        resource["patient"] = patient
    expected = _straightforward(resource)
    assert patient_references(resource) == expected
    assert [type(part) for part in patient_references(resource)] == [
        type(part) for part in expected
    ]
    assert patient_references(proxied(resource)) == _straightforward(proxied(resource))
