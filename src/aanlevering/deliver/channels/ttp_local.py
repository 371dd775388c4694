"""ttp-local channel: upload the data set to the TTP, which pseudonymises and forwards it.

In local-client mode the staged files carry the source step's digests as
*pseudonym inputs* (FHIR identifiers with system
``urn:aanlevering:pseudonym-input:<TYPE>``, CSV columns
``pseudonym_input.<TYPE>``); :func:`mark_pseudonym_inputs` puts them in that
form. The TTP replaces them by definitive pseudonyms, forwards the delivery
to the registry holder and returns the registry holder's receipt.

The upload itself (:func:`upload_local`) lives here, not in the TTP client:
it reads manifests and returns receipts, which are the deliver package's, and
the pseudonym package must not depend on deliver.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import (
    InvalidReceipt,
    Receipt,
    ReceiptMismatch,
    RejectedDelivery,
    RetryableDeliveryError,
    VersionTaken,
    is_json_count,
    verify_receipt,
)
from aanlevering.errors import TTPError
from aanlevering.fhir.rewrite import rewrite_resources
from aanlevering.pseudonym.key_check import SourceKeyCheck
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.errors import TTPRefused, TTPUnavailable
from aanlevering.pseudonym.ttp.guards import check_bsn_allowed, check_run_id


class MalformedAnswer(TTPError):
    """The TTP answered a local upload, but not with what proves it: a field missing, a
    count that is no JSON integer, a file of the manifest not reported (decision 0597)."""


INPUT_SYSTEM = "urn:aanlevering:pseudonym-input:{type}"
_OUR_SYSTEM = re.compile(
    r"^https://aanlevering\.example/fhir/NamingSystem/pseudonym/[^/]+/([A-Za-z]+)$"
)
_CSV_COLUMN = re.compile(r"^pseudoniem_([A-Za-z]+)$")
#: output/csv.py's label columns and the TTP's names for them (decision 0387).
_CSV_LABEL_COLUMN = re.compile(r"^pseudoniem_([A-Za-z]+)_(sleutelversie|status)$")
_CSV_LABELS = {"sleutelversie": "key_version", "status": "status"}
_JSON_INPUTS = re.compile(rb'"pseudonym_inputs"\s*:\s*\{([^}]*)\}')
_JSON_KEYS = re.compile(rb'"([A-Za-z]{1,8})"\s*:')
_SYSTEM_INPUT = re.compile(rb"urn:aanlevering:pseudonym-input:([A-Za-z]{1,8})\"")


def _mark_resource(resource: dict[str, Any]) -> None:
    for identifier in resource.get("identifier", ()):
        match = _OUR_SYSTEM.match(str(identifier.get("system", "")))
        if match:
            identifier["system"] = INPUT_SYSTEM.format(type=match.group(1))


def _marked_column(name: str) -> str:
    if match := _CSV_COLUMN.match(name):
        return f"pseudonym_input.{match.group(1)}"
    if match := _CSV_LABEL_COLUMN.match(name):
        return f"pseudonym_input.{match.group(1)}.{_CSV_LABELS[match.group(2)]}"
    return name


def _mark_csv(path: Path) -> None:
    """Name the pseudonym columns and their labels as the TTP's protocol does (0387).

    The labels go along so the TTP sets them to its own key version and
    ``definitive``: left as they were, the registry holder would read the
    hospital's source key version and ``tijdelijk`` next to a definitive value.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    rows[0] = [_marked_column(name) for name in rows[0]]
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
class LocalFileReport:
    """What the TTP did to one uploaded file (counts only)."""

    name: str
    records: int
    pseudonyms: Mapping[str, int]


@dataclass(frozen=True)
class LocalUploadResult:
    """A local-mode delivery: pseudonymised by the TTP, forwarded and receipted."""

    registration: str
    request_id: str
    batch_id: str
    key_version: int
    files: tuple[LocalFileReport, ...]
    forward_attempts: int
    receipt: Receipt


def _input_types(name: str, data: bytes) -> set[str]:
    """Pseudonym types a staged file asks the TTP for (for the local B check)."""
    if name.lower().endswith(".csv"):
        header = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
        return {
            column.strip().strip('"').removeprefix("pseudonym_input.").partition(".")[0]
            for column in re.split(r"[,;\t|]", header)
            if column.strip().strip('"').startswith("pseudonym_input.")
        }
    types = {m.decode() for m in _SYSTEM_INPUT.findall(data)}
    for block in _JSON_INPUTS.findall(data):
        types.update(m.decode() for m in _JSON_KEYS.findall(block))
    return types


def local_request_id(manifest: Manifest) -> str:
    """``<idempotency key>:<manifest digest prefix>``: a retry reuses it, other content never.

    Why the digest: after a wiped home the same key can come with other
    content; the TTP must not answer it from its cache of the earlier
    upload, but forward it, so the registry holder says the version is
    taken (decision 0221).
    """
    return f"{manifest.idempotency_key}:{manifest.sha256()[:16]}"


def upload_local(
    client: TTPClient,
    registration: str,
    folder: Path,
    manifest: Manifest,
    *,
    profile_version: str,
    request_id: str | None = None,
    bsn_justification: str | None = None,
    source_key_check: SourceKeyCheck | None = None,
) -> LocalUploadResult:
    """Local-client mode: upload a staged delivery; the TTP pseudonymises and forwards it.

    The files in ``folder`` are those of ``manifest``; records carry source
    digests in ``pseudonym_inputs`` (JSON) or ``pseudonym_input.<TYPE>``
    columns (CSV). ``request_id`` defaults to the manifest's idempotency
    key, so a retried delivery is answered, not served twice. Returns the
    registry holder's receipt.
    """
    request_id = request_id or local_request_id(manifest)
    check_run_id(request_id)
    files = []
    declared = set(manifest.pseudonym_types)
    for entry in manifest.files:
        data = (folder / entry.name).read_bytes()
        declared |= _input_types(entry.name, data)
        files.append(("files", (entry.name, data, entry.media_type)))
    for entry in manifest.reports:  # passed on untouched to the registry holder
        files.append(("files", (entry.name, (folder / entry.name).read_bytes(), entry.media_type)))
    check_bsn_allowed(registration, declared, bsn_justification)
    answer = client.local_delivery(
        registration,
        request_id=request_id,
        profile_version=profile_version,
        manifest_json=manifest.to_json(),
        files=files,
        source_key_check=source_key_check,
    )
    try:
        return _result(answer, manifest, registration, request_id)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedAnswer(
            f"TTP answer to local upload {request_id} ({registration}) is malformed: "
            f"{type(error).__name__} {error}"
        ) from error


def _result(
    answer: Mapping[str, Any], manifest: Manifest, registration: str, request_id: str
) -> LocalUploadResult:
    """The TTP's answer read strictly: every field present, every count a JSON integer."""
    reports = tuple(
        LocalFileReport(
            name=str(item["name"]),
            records=_count(item["records"], "records"),
            pseudonyms=MappingProxyType(
                {str(k): _count(v, f"pseudonyms.{k}") for k, v in item["pseudonyms"].items()}
            ),
        )
        for item in answer["files"]
    )
    if sorted(r.name for r in reports) != sorted(e.name for e in manifest.files):
        raise MalformedAnswer(
            f"TTP answer to local upload {request_id} ({registration}) does not cover "
            "every file of the manifest"
        )
    return LocalUploadResult(
        registration=registration,
        request_id=request_id,
        batch_id=str(answer["batch_id"]),
        key_version=_count(answer["key_version"], "key_version"),
        files=reports,
        forward_attempts=_count(answer["forward_attempts"], "forward_attempts"),
        receipt=Receipt.from_mapping(answer["receipt"], "ttp-local"),
    )


@dataclass(frozen=True)
class TtpLocalChannel:
    """Upload through the TTP client; the receipt is the registry holder's, via the TTP."""

    client: TTPClient
    profile_version: str
    name: str = "ttp-local"
    #: The hospital's source key check value (default: the client's for the registration).
    source_key_check: SourceKeyCheck | None = None

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Upload; the TTP dedupes on the idempotency key, so a retry is answered, not redone.

        The registry holder's receipt (through the TTP) must name this
        provider, key, manifest sha256 and record counts.
        """
        try:
            result = upload_local(
                self.client,
                manifest.registration,
                folder,
                manifest,
                profile_version=self.profile_version,
                source_key_check=self.source_key_check,
            )
        except TTPUnavailable as error:
            raise RetryableDeliveryError(f"TTP unavailable for local upload: {error}") from error
        except TTPRefused as error:
            if error.code == "version_taken":
                raise VersionTaken(
                    f"{error.server_message} This content was NOT delivered; the ledger now "
                    "records that version, and the next run delivers this content as the next "
                    "version, superseding it.",
                    None,
                ) from error
            raise RejectedDelivery(f"TTP refused the local upload: {error}") from error
        except MalformedAnswer as error:
            # Forwarded or not, an answer that is no proof is a failed attempt, recorded
            # as such: never delivered, never an attempt missing from the log (0597).
            raise InvalidReceipt(
                f"{error}. The registry holder's receipt is no proof of this delivery; it is "
                "NOT recorded as delivered (decision 0597)."
            ) from error
        problems = count_problems(result.files, manifest)
        if problems:
            raise ReceiptMismatch(
                f"the TTP's answer to local upload {result.request_id} does not count what was "
                f"sent: {'; '.join(problems)}. The registry holder's receipt is no proof of "
                "this delivery; it is NOT recorded as delivered (decision 0596)."
            )
        return verify_receipt(result.receipt, manifest)


def count_problems(reports: tuple[LocalFileReport, ...], manifest: Manifest) -> list[str]:
    """How the TTP's per-file record counts differ from the manifest's (empty: they agree).

    Why: the TTP pseudonymises and forwards the files itself; a file whose
    records it counts otherwise than the manifest was not forwarded as sent,
    whatever receipt comes back with it (decision 0596).
    """
    sent = {entry.name: entry.records for entry in manifest.files}
    return [
        f"{report.name}: the TTP processed {report.records} record(s), the manifest says "
        f"{sent[report.name]}"
        for report in reports
        if report.name in sent and report.records != sent[report.name]
    ]


def _count(value: object, field: str) -> int:
    """A count of the TTP's answer: a JSON integer, never ``"5"`` or ``true``; else raises."""
    if not is_json_count(value):
        raise MalformedAnswer(
            f"TTP answer to a local upload: {field} is not a non-negative integer"
        )
    return value
