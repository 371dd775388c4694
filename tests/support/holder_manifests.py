"""The manifest of a small ldtr delivery for March 2026, as the holder's unit tests check it.

Why: the reference holder's checks are tested on hand-written files; each
test needs a manifest that is right in everything but what the test is about
(the files, their format and the record counts claimed).
"""

from __future__ import annotations

from collections.abc import Mapping

from aanlevering.deliver.manifest import Manifest, ManifestFile, idempotency_key


def ldtr_manifest(
    files: tuple[ManifestFile, ...], *, format: str, record_counts: Mapping[str, int]
) -> Manifest:
    """Version 1 of ldtr's 2026-03 delivery by hospital ``h`` of ``files``."""
    return Manifest(
        idempotency_key=idempotency_key("h", "ldtr", "2026-03", 1),
        registration="ldtr",
        registry_holder="lnaz",
        period="2026-03",
        period_start="2026-03-01",
        period_end="2026-04-01",
        version=1,
        dictionary_id="ltr",
        dictionary_version="2026.1",
        format=format,
        normalisation_profile="nl-2026.1",
        pseudonym_types=("NGG",),
        key_versions={"NGG": 1},
        ttp_mode="web",
        provider_id="h",
        files=files,
        record_counts=dict(record_counts),
    )
