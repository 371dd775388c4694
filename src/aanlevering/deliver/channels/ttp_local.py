"""ttp-local channel: upload the data set to the TTP, which pseudonymises and forwards it.

In local-client mode the staged files carry the source step's digests as
*pseudonym inputs* (FHIR identifiers with system
``urn:aanlevering:pseudonym-input:<TYPE>``, CSV columns
``pseudonym_input.<TYPE>``); :func:`mark_pseudonym_inputs` puts them in that
form. The TTP replaces them by definitive pseudonyms, forwards the delivery
to the registry holder and returns the registry holder's receipt.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import Receipt, RejectedDelivery, RetryableDeliveryError
from aanlevering.fhir.rewrite import rewrite_resources
from aanlevering.pseudonym.ttp_client import TTPClient, TTPRefused, TTPUnavailable

INPUT_SYSTEM = "urn:aanlevering:pseudonym-input:{type}"
_OUR_SYSTEM = re.compile(
    r"^https://aanlevering\.example/fhir/NamingSystem/pseudonym/[^/]+/([A-Za-z]+)$"
)
_CSV_COLUMN = re.compile(r"^pseudoniem_([A-Za-z]+)$")


def _mark_resource(resource: dict[str, Any]) -> None:
    for identifier in resource.get("identifier", ()):
        match = _OUR_SYSTEM.match(str(identifier.get("system", "")))
        if match:
            identifier["system"] = INPUT_SYSTEM.format(type=match.group(1))


def _mark_csv(path: Path) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    rows[0] = [
        f"pseudonym_input.{m.group(1)}" if (m := _CSV_COLUMN.match(name)) else name
        for name in rows[0]
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(rows)


def mark_pseudonym_inputs(folder: Path, file_names: list[str]) -> None:
    """Rewrite staged files so the TTP recognises the digests it must replace."""
    for name in file_names:
        path = folder / name
        if name.endswith(".csv"):
            _mark_csv(path)
        else:
            rewrite_resources(path, _mark_resource)


@dataclass(frozen=True)
class TtpLocalChannel:
    """Upload through the TTP client; the receipt is the registry holder's, via the TTP."""

    client: TTPClient
    profile_version: str
    name: str = "ttp-local"

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Upload; the TTP dedupes on the idempotency key, so a retry is answered, not redone."""
        try:
            result = self.client.upload_local(
                manifest.registration, folder, manifest, profile_version=self.profile_version
            )
        except TTPUnavailable as error:
            raise RetryableDeliveryError(f"TTP unavailable for local upload: {error}") from error
        except TTPRefused as error:
            raise RejectedDelivery(f"TTP refused the local upload: {error}") from error
        return result.receipt
