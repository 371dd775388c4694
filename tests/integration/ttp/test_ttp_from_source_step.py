"""From identifiers at two hospitals to linked definitive pseudonyms, through the real TTP.

Normalisation and the source step are the hospital side's (not the TTP's);
this test checks the contract between them and the TTP: digests and MRN
ciphertexts in, labelled pseudonyms out, nothing identifying in the TTP's
audit log or server log.
"""

from __future__ import annotations

from datetime import date

from aanlevering.pseudonym.normalise import get_profile
from aanlevering.pseudonym.source_step import MrnKey, SourceKey, apply_source_step, reveal_mrn
from aanlevering.pseudonym.ttp.models import RecordPseudonyms, inputs_from_columns
from aanlevering.pseudonym_types import PseudonymType
from support.pseudonyms import patient_pseudonyms
from support.ttp import TTPSetup

TYPES = (PseudonymType.NGGV, PseudonymType.RGG, PseudonymType.MRN)


def identity(mrn: str, name: str) -> dict[str, list[object]]:
    return {
        "mrn": [mrn, f"{mrn}-2"],
        "own_prefix": ["van der", None],
        "own_name": [name, "Jansen"],
        "initials": ["J.P.", "A."],
        "birth_date": [date(1951, 3, 14), date(1988, 11, 2)],
        "sex": ["V", "M"],
        "postcode": ["1012 NX", "9711AB"],
    }


def test_same_person_at_two_hospitals_links_through_the_ttp(ttp: TTPSetup) -> None:
    profile = get_profile("nl-2026.1")
    source_key = SourceKey("dica-dsaa", 1, bytes(range(64)))  # shared by all hospitals
    mrn_keys = {
        "demo-hospital": MrnKey(1, bytes(64)),
        "demo-hospital-b": MrnKey(1, bytes([7]) * 64),
    }
    sources = {
        "demo-hospital": identity("A-100234", "Berg"),
        "demo-hospital-b": identity("B-88", "Berg"),
    }
    definitive = {}
    for hospital, columns in sources.items():
        canonical = profile.normalise_columns(columns, TYPES)
        batch = apply_source_step(canonical, source_key, mrn_keys[hospital])
        records = inputs_from_columns(batch, ["p0", "p1"])
        temporary = ttp.client(hospital).temporary_pseudonyms(
            "dica-dsaa", records, run_id=f"e2e-{hospital}", profile_version="nl-2026.1"
        )
        # The hospital reverses its own MRN pseudonym back to its patient number.
        mrn_label = temporary.pseudonyms["p0"]["MRN"]
        token = ttp.client(hospital).reverse_mrn("dica-dsaa", [mrn_label])[0]
        assert reveal_mrn(mrn_keys[hospital], "dica-dsaa", "nl-2026.1", token) == columns["mrn"][0]

        exchanged = ttp.client("dica").exchange(
            "dica-dsaa",
            [
                RecordPseudonyms(ref, {t: v for t, v in labels.items() if t != "MRN"})
                for ref, labels in temporary.pseudonyms.items()
            ],
            run_id=f"e2e-{hospital}-x",
        )
        delivered = patient_pseudonyms(
            exchanged, {"p0": "patient-0", "p1": "patient-1"}, "nl-2026.1"
        )
        assert [p.patient_id for p in delivered] == ["patient-0", "patient-1"]
        nggv = delivered[0].get(PseudonymType.NGGV)
        assert nggv is not None and not nggv.temporary and nggv.key_version == 1
        definitive[hospital] = exchanged.pseudonyms

    assert definitive["demo-hospital"] == definitive["demo-hospital-b"]
    assert definitive["demo-hospital"]["p0"] != definitive["demo-hospital"]["p1"]

    logs = ttp.audit_log.read_text() + (ttp.folder / "server.log").read_text()
    for columns in sources.values():
        for field in ("mrn", "own_name", "postcode"):
            for value in columns[field]:
                assert str(value) not in logs
    # Full birth dates are identifiers (a year alone is not; it also occurs in hex hashes).
    audit = ttp.audit_log.read_text()
    assert "1951-03-14" not in audit and "14-03-1951" not in audit and "19510314" not in audit
