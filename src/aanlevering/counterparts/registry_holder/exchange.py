"""Web mode at the registry holder: swap temporary pseudonyms for definitive ones.

The hospital delivers temporary pseudonyms (``T1:<TYPE>:v<n>:...``) that only
the TTP can turn into definitive ones, and only for this registry holder.
The exchanger collects every distinct temporary label of a delivery, asks the
TTP in batches, and rewrites the accepted files: FHIR identifiers get the
definitive value and status, CSV pseudonym columns likewise.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from aanlevering.deliver.manifest import Manifest
from aanlevering.fhir.rewrite import rewrite_resources
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.models import RecordPseudonyms

log = logging.getLogger(__name__)
TEMPORARY_LABEL = re.compile(r"T\d+:([A-Za-z]+):v\d+:[A-Za-z0-9_-]+")
STATUS_URL = "https://aanlevering.example/fhir/StructureDefinition/pseudonym-status"

#: registration -> client authenticated as that registration's registry holder.
ClientFor = Callable[[str], TTPClient]


def _labels_in(folder: Path, manifest: Manifest) -> set[str]:
    labels: set[str] = set()
    for item in manifest.files:
        text = (folder / item.name).read_text(encoding="utf-8-sig")
        labels.update(match.group(0) for match in TEMPORARY_LABEL.finditer(text))
    return labels


def _rewrite_identifier(identifier: dict[str, Any], definitive: Mapping[str, str]) -> None:
    value = identifier.get("value")
    if not isinstance(value, str) or value not in definitive:
        return
    identifier["value"] = definitive[value]
    identifier.pop("use", None)
    for extension in identifier.get("extension", ()):
        if extension.get("url") == STATUS_URL:
            extension["valueCode"] = "definitive"


def _rewrite_resource(resource: dict[str, Any], definitive: Mapping[str, str]) -> None:
    for identifier in resource.get("identifier", ()):
        _rewrite_identifier(identifier, definitive)


def _rewrite_csv(path: Path, definitive: Mapping[str, str]) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header = rows[0]
    for row in rows[1:]:
        for index, value in enumerate(row):
            if value in definitive:
                row[index] = definitive[value]
                status = (
                    header.index(f"{header[index]}_status")
                    if (f"{header[index]}_status" in header)
                    else None
                )
                if status is not None:
                    row[status] = "definitief"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(rows)


def exchange_run_id(manifest: Manifest) -> str:
    """Request-id prefix of one delivery's exchange: provider, key and content all count.

    Why: two deliveries must never share request ids at the TTP (it would
    answer the second from its idempotency cache, or refuse it with 409),
    and a retry of the same delivery must reuse them.
    """
    digest = hashlib.sha256(
        f"{manifest.provider_id}\x00{manifest.idempotency_key}\x00{manifest.sha256()}".encode()
    ).hexdigest()
    readable = re.sub(r"[^A-Za-z0-9._-]", "-", manifest.idempotency_key)[:100]
    return f"{readable}-{digest[:24]}"


def make_exchanger(client_for: ClientFor) -> Callable[[Path, Manifest], None]:
    """An exchanger for :class:`DeliveryStore` that uses the TTP's exchange endpoint."""

    def exchange(folder: Path, manifest: Manifest) -> None:
        labels = sorted(_labels_in(folder, manifest))
        if not labels:
            return
        records = [
            RecordPseudonyms(ref=f"x{index}", pseudonyms={match.group(1): label})
            for index, label in enumerate(labels)
            if (match := TEMPORARY_LABEL.fullmatch(label))
        ]
        result = client_for(manifest.registration).exchange(
            manifest.registration, records, run_id=exchange_run_id(manifest)
        )
        definitive = {
            label: next(iter(result.pseudonyms[record.ref].values()))
            for label, record in zip(labels, records, strict=True)
        }
        for item in manifest.files:
            path = folder / item.name
            if item.name.endswith(".csv"):
                _rewrite_csv(path, definitive)
            else:
                rewrite_resources(path, partial(_rewrite_resource, definitive=definitive))
        log.info("exchanged %d temporary pseudonyms for %s", len(labels), manifest.idempotency_key)

    return exchange
