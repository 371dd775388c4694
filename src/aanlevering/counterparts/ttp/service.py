"""The TTP's use cases: who may do what, idempotency, auditing, around the pseudonym functions.

Each use case takes the calling organisation and the raw request, and
returns the JSON answer as bytes (what gets cached for idempotent retries).
Every call, served or refused, leaves one audit entry with counts only.
HTTP details stay in :mod:`.api`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from aanlevering.counterparts.ttp.audit import AuditEntry, AuditLog
from aanlevering.counterparts.ttp.auth import (
    Authenticator,
    require_registration,
    require_role,
)
from aanlevering.counterparts.ttp.config import Organisation, Registration, TTPConfig
from aanlevering.counterparts.ttp.dataset import UploadChecks, check_report, pseudonymise_file
from aanlevering.counterparts.ttp.faults import FaultInjector
from aanlevering.counterparts.ttp.forwarder import Forwarder
from aanlevering.counterparts.ttp.idempotency import LEDGER_NAME, IdempotencyCache
from aanlevering.counterparts.ttp.key_checks import SourceKeyChecks
from aanlevering.counterparts.ttp.key_history import check_and_record
from aanlevering.counterparts.ttp.keys import KeyRing
from aanlevering.counterparts.ttp.models import (
    ExchangeRequest,
    MrnReverseRequest,
    PseudonymInputRecord,
    PseudonymRecord,
    SourceKeyCheckBody,
    TemporaryColumnsRequest,
    TemporaryPseudonymRequest,
    TypeDigests,
)
from aanlevering.counterparts.ttp.own_pseudonyms import OwnPseudonyms
from aanlevering.counterparts.ttp.pseudonyms import (
    exchange_temporaries,
    issue_temporaries,
    issue_temporary_columns,
    reverse_mrn,
)
from aanlevering.counterparts.ttp.record_budget import RecordBudget, too_many
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.counterparts.ttp.upload_form import check_upload_fields
from aanlevering.deliver.manifest import Manifest, is_plain_name
from aanlevering.errors import DeliveryError
from aanlevering.pseudonym_types import PseudonymType

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

SERVICE_NAME = "aanlevering-reference-ttp"
PROTOCOL_VERSION = "1"


@dataclass
class AuditFacts:
    """What a use case tells the audit log besides who and where (counts only)."""

    registration: str | None = None
    request_id: str | None = None
    batch_id: str | None = None
    records: int | None = None
    types: dict[str, int] = field(default_factory=dict)
    key_versions: tuple[int, ...] = ()


def batch_id(organisation: str, endpoint: str, request_id: str) -> str:
    """Deterministic id of a served batch, so a retry reports the same id."""
    digest = hashlib.sha256(f"{organisation}\x00{endpoint}\x00{request_id}".encode()).hexdigest()
    return f"ttp-{digest[:24]}"


def _loc(parts: Iterable[int | str], known: frozenset[str]) -> str:
    # Field names and positions only: a dict key could be anything the caller sent.
    return ".".join(str(p) if isinstance(p, int) or p in known else "<key>" for p in parts)


_FIELD_NAMES = frozenset(
    name
    for model in (
        TemporaryPseudonymRequest,
        TemporaryColumnsRequest,
        TypeDigests,
        ExchangeRequest,
        MrnReverseRequest,
    )
    for name in model.model_fields
) | frozenset({"ref", "digests", "mrn_ciphertext", "pseudonyms"})


def parse_body(model: type[ModelT], raw: bytes) -> ModelT:
    """Parse a JSON body; Refusal 422 listing field paths and problems, never values."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        problems = [f"{_loc(e['loc'], _FIELD_NAMES)}: {e['msg']}" for e in error.errors()[:10]]
        more = error.error_count() - len(problems)
        suffix = f" (and {more} more)" if more > 0 else ""
        raise Refusal(
            422, "invalid_request", "invalid request body: " + "; ".join(problems) + suffix
        ) from None


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_of_bytes(data: bytes) -> str:
    """Hex SHA-256 of a file's content, as manifests carry it."""
    return hashlib.sha256(data).hexdigest()


def _requested_counts(records: Sequence[PseudonymInputRecord]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(record.digests.keys())
        if record.mrn_ciphertext is not None:
            counts[PseudonymType.MRN.value] += 1
    return dict(counts)


def _type_counts(records: Sequence[PseudonymRecord]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(record.pseudonyms.keys())
    return dict(counts)


def _parse_key_check(text: str, registration: str) -> SourceKeyCheckBody:
    """``v<version>:<check value>`` of a local-mode upload; Refusal 422 when malformed."""
    version, _, value = text.partition(":")
    try:
        return SourceKeyCheckBody(version=int(version.removeprefix("v")), check_value=value)
    except ValueError:  # pydantic's ValidationError is a ValueError
        raise Refusal(
            422,
            "invalid_request",
            "source_key_check must be v<version>:<16 hex digits> (the source key's check value)",
            registration=registration,
        ) from None


def _manifest_refusal(registration: Registration, message: str) -> Refusal:
    return Refusal(422, "invalid_manifest", message, registration=registration.id)


def _check_manifest_matches(
    manifest: Manifest, registration: Registration, profile_version: str
) -> None:
    """Refuse a local upload whose manifest says something else than the upload is.

    Why: the TTP forwards the manifest as the registry holder's account of the
    delivery; one naming another registry holder, web mode, or another
    normalisation profile than the digests were made with would be receipted
    as a delivery it is not (decision 1022).
    """
    if manifest.registry_holder != registration.registry_holder:
        raise _manifest_refusal(
            registration,
            f"the manifest names registry holder {manifest.registry_holder!r}; registration "
            f"{registration.id!r} is held by {registration.registry_holder!r}",
        )
    if manifest.ttp_mode != "local":
        raise _manifest_refusal(
            registration,
            f"the manifest says TTP mode {manifest.ttp_mode!r}; an upload to the TTP is 'local'",
        )
    if manifest.normalisation_profile != profile_version:
        raise _manifest_refusal(
            registration,
            f"the manifest says normalisation profile {manifest.normalisation_profile!r}, the "
            f"upload {profile_version!r}",
        )


def _check_types_declared(
    manifest: Manifest, registration: Registration, made: Counter[str]
) -> None:
    """Refuse when the data holds pseudonym types the manifest does not declare (decision 1022)."""
    undeclared = sorted(set(made) - set(manifest.pseudonym_types))
    if undeclared:
        raise _manifest_refusal(
            registration,
            f"the data holds pseudonym type(s) {', '.join(undeclared)} that the manifest's "
            "pseudonym_types do not declare",
        )


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a local-mode upload."""

    name: str
    data: bytes


class TTPService:
    """All use cases of one TTP process, over its config, keys, audit log and caches."""

    def __init__(
        self,
        config: TTPConfig,
        *,
        forwarder: Forwarder | None = None,
    ) -> None:
        self.config = config
        check_and_record(config)  # no key version rolled back by an older config (1028)
        self.keyring = KeyRing(config)
        self.authenticator = Authenticator(config.organisations)
        self.audit = AuditLog(config.audit_log)
        self.cache = IdempotencyCache(
            config.limits.idempotency_cache_bytes, config.path.parent / LEDGER_NAME
        )
        self.faults = FaultInjector()
        self.key_checks = SourceKeyChecks(config)
        self.forwarder = forwarder or Forwarder(config.forwarding)

    # -- plumbing -------------------------------------------------------------------------

    def registration(self, registration_id: str) -> Registration:
        """The registration; Refusal 404 when the TTP does not know it."""
        try:
            return self.config.registrations[registration_id]
        except KeyError:
            raise Refusal(
                404,
                "unknown_registration",
                f"the TTP has no registration {registration_id!r}",
                registration=registration_id,
            ) from None

    def run(
        self,
        organisation: Organisation,
        endpoint: str,
        work: Callable[[AuditFacts], bytes],
    ) -> bytes:
        """Run one use case and audit it, served or refused."""
        facts = AuditFacts()
        try:
            body = work(facts)
        except Refusal as refusal:
            self.record(organisation, endpoint, refusal.status, f"refused:{refusal.code}", facts)
            raise
        except Exception:
            self.record(organisation, endpoint, 500, "error", facts)
            raise
        self.record(organisation, endpoint, 200, "ok", facts)
        return body

    def record(
        self,
        organisation: Organisation | None,
        endpoint: str,
        status: int,
        outcome: str,
        facts: AuditFacts | None = None,
    ) -> None:
        """Append one audit entry (``organisation`` None: the caller could not be identified)."""
        facts = facts or AuditFacts()
        self.audit.record(
            AuditEntry(
                organisation=organisation.id if organisation else "(unauthenticated)",
                role=organisation.role if organisation else "-",
                endpoint=endpoint,
                outcome=outcome,
                status=status,
                registration=facts.registration,
                request_id=facts.request_id,
                batch_id=facts.batch_id,
                records=facts.records,
                types=facts.types,
                key_versions=facts.key_versions,
            )
        )

    def _idempotent(
        self,
        organisation: Organisation,
        endpoint: str,
        request_id: str,
        fingerprint: str,
        compute: Callable[[], bytes],
    ) -> bytes:
        key = (organisation.id, endpoint, request_id)
        with self.cache.one_at_a_time(key):  # a second request waits for the first (1052)
            stored = self.cache.lookup(key, fingerprint)
            if stored is not None:
                log.info("replayed stored answer for a repeated request id on %s", endpoint)
                return stored
            body = compute()
            self.cache.store(key, fingerprint, body)
            return body

    def _check_size(self, registration: str, count: int) -> None:
        limit = self.config.limits.max_batch_records
        if count > limit:
            raise Refusal(
                413,
                "batch_too_large",
                f"{count} records in one request; the limit is {limit}",
                registration=registration,
            )

    @staticmethod
    def _check_profile(registration: Registration, profile: str) -> None:
        if profile not in registration.profiles:
            raise Refusal(
                422,
                "profile_not_accepted",
                f"registration {registration.id!r} accepts digests of normalisation profile(s) "
                f"{', '.join(registration.profiles)}, not {profile!r}",
                registration=registration.id,
            )

    # -- use cases ------------------------------------------------------------------------

    def temporary_pseudonyms(self, organisation: Organisation, raw: bytes) -> bytes:
        """Web mode: a hospital gets temporary (and MRN) pseudonyms for a batch."""
        endpoint = "/pseudonyms/temporary"

        def work(facts: AuditFacts) -> bytes:
            require_role(organisation, ["hospital"], "requesting temporary pseudonyms")
            request = parse_body(TemporaryPseudonymRequest, raw)
            facts.registration, facts.request_id = request.registration, request.request_id
            facts.records = len(request.records)
            registration = self.registration(request.registration)
            require_registration(organisation, registration.id)
            self._check_size(registration.id, len(request.records))
            self._check_profile(registration, request.profile_version)
            self.key_checks.check(registration, request.source_key, organisation.id)
            keys = self.keyring.active(registration.id)
            facts.key_versions = (keys.version,)
            facts.batch_id = batch_id(organisation.id, endpoint, request.request_id)
            facts.types = _requested_counts(request.records)

            def compute() -> bytes:
                records = issue_temporaries(registration, keys, organisation.id, request.records)
                return _json(
                    {
                        "registration": registration.id,
                        "request_id": request.request_id,
                        "batch_id": facts.batch_id,
                        "key_version": keys.version,
                        "record_count": len(records),
                        "records": records,
                    }
                )

            fingerprint = hashlib.sha256(raw).hexdigest()
            return self._idempotent(
                organisation, endpoint, request.request_id, fingerprint, compute
            )

        return self.run(organisation, endpoint, work)

    def temporary_columns(self, organisation: Organisation, raw: bytes) -> bytes:
        """Web mode in columns: :meth:`temporary_pseudonyms` with one field per type.

        Every check of the record form applies (role, registration, size,
        profile, source key, types, inputs); only the encoding differs, so a
        hospital spends no Python per record on building or reading it.
        """
        endpoint = "/pseudonyms/temporary/columns"

        def work(facts: AuditFacts) -> bytes:
            require_role(organisation, ["hospital"], "requesting temporary pseudonyms")
            request = parse_body(TemporaryColumnsRequest, raw)
            facts.registration, facts.request_id = request.registration, request.request_id
            facts.records = request.count
            registration = self.registration(request.registration)
            require_registration(organisation, registration.id)
            self._check_size(registration.id, request.count)
            self._check_profile(registration, request.profile_version)
            self.key_checks.check(registration, request.source_key, organisation.id)
            keys = self.keyring.active(registration.id)
            facts.key_versions = (keys.version,)
            facts.batch_id = batch_id(organisation.id, endpoint, request.request_id)
            counts = {
                code: request.count - len(column.missing) for code, column in request.types.items()
            }
            if request.mrn_ciphertexts is not None:
                counts[PseudonymType.MRN.value] = sum(
                    1 for text in request.mrn_ciphertexts if text is not None
                )
            facts.types = {code: n for code, n in counts.items() if n}

            def compute() -> bytes:
                payloads = issue_temporary_columns(
                    registration,
                    keys,
                    organisation.id,
                    count=request.count,
                    digests={code: (c.digests, c.missing) for code, c in request.types.items()},
                    mrn_ciphertexts=request.mrn_ciphertexts,
                )
                return _json(
                    {
                        "registration": registration.id,
                        "request_id": request.request_id,
                        "batch_id": facts.batch_id,
                        "key_version": keys.version,
                        "record_count": request.count,
                        "payloads": payloads,
                    }
                )

            fingerprint = hashlib.sha256(raw).hexdigest()
            return self._idempotent(
                organisation, endpoint, request.request_id, fingerprint, compute
            )

        return self.run(organisation, endpoint, work)

    def exchange(self, organisation: Organisation, raw: bytes) -> bytes:
        """Registry holder: definitive pseudonyms for temporary ones of its own registration."""
        endpoint = "/pseudonyms/exchange"

        def work(facts: AuditFacts) -> bytes:
            require_role(organisation, ["registry_holder"], "exchanging pseudonyms")
            request = parse_body(ExchangeRequest, raw)
            facts.registration, facts.request_id = request.registration, request.request_id
            facts.records = len(request.records)
            registration = self.registration(request.registration)
            if registration.registry_holder != organisation.id:
                raise Refusal(
                    403,
                    "not_registry_holder",
                    f"organisation {organisation.id!r} does not hold registration "
                    f"{registration.id!r}; only its registry holder may exchange its pseudonyms",
                    registration=registration.id,
                )
            self._check_size(registration.id, len(request.records))
            facts.batch_id = batch_id(organisation.id, endpoint, request.request_id)
            facts.types = _type_counts(request.records)

            def compute() -> bytes:
                records, versions = exchange_temporaries(
                    registration, self.keyring, request.records, request.target_version
                )
                facts.key_versions = tuple(sorted(versions))
                return _json(
                    {
                        "registration": registration.id,
                        "request_id": request.request_id,
                        "batch_id": facts.batch_id,
                        "source_key_versions": sorted(versions),
                        "target_version": request.target_version,
                        "record_count": len(records),
                        "records": records,
                    }
                )

            fingerprint = hashlib.sha256(raw).hexdigest()
            return self._idempotent(
                organisation, endpoint, request.request_id, fingerprint, compute
            )

        return self.run(organisation, endpoint, work)

    def reverse_mrn(self, organisation: Organisation, raw: bytes) -> bytes:
        """A hospital gets its own MRN ciphertexts back (and nobody else can)."""
        endpoint = "/mrn/reverse"

        def work(facts: AuditFacts) -> bytes:
            require_role(organisation, ["hospital"], "reversing MRN pseudonyms")
            request = parse_body(MrnReverseRequest, raw)
            facts.registration = request.registration
            facts.records = len(request.pseudonyms)
            registration = self.registration(request.registration)
            require_registration(organisation, registration.id)
            self._check_size(registration.id, len(request.pseudonyms))
            ciphertexts, versions = reverse_mrn(
                registration, self.keyring, organisation.id, request.pseudonyms
            )
            facts.types = {PseudonymType.MRN.value: len(ciphertexts)}
            facts.key_versions = tuple(sorted(versions))
            return _json(
                {
                    "registration": registration.id,
                    "key_versions": sorted(versions),
                    "ciphertexts": ciphertexts,
                }
            )

        return self.run(organisation, endpoint, work)

    def upload_local(
        self,
        organisation: Organisation,
        *,
        registration_id: str,
        request_id: str,
        profile_version: str,
        manifest_text: str,
        files: Sequence[UploadedFile],
        source_key_check: str = "",
        form_fields: Sequence[str] | None = None,
    ) -> bytes:
        """Local-client mode: pseudonymise an uploaded delivery and forward it.

        ``source_key_check`` is ``v<version>:<check value>`` of the source key
        that made the uploaded digests; ``form_fields`` the names of every
        field of the upload as sent (None: not a multipart form).
        """
        endpoint = "/local/deliveries"

        def work(facts: AuditFacts) -> bytes:
            require_role(organisation, ["hospital"], "uploading a local-mode delivery")
            facts.registration, facts.request_id = registration_id, request_id
            if form_fields is not None:
                check_upload_fields(form_fields)
            registration = self.registration(registration_id)
            require_registration(organisation, registration.id)
            self._check_profile(registration, profile_version)
            self.key_checks.check(
                registration, _parse_key_check(source_key_check, registration.id), organisation.id
            )
            manifest = self._upload_manifest(organisation, registration, manifest_text, files)
            _check_manifest_matches(manifest, registration, profile_version)
            keys = self.keyring.active(registration.id)
            facts.key_versions = (keys.version,)
            facts.batch_id = batch_id(organisation.id, endpoint, request_id)
            fingerprint = hashlib.sha256(
                "\x00".join(
                    [registration_id, profile_version, manifest_text]
                    + [f"{f.name}:{hashlib.sha256(f.data).hexdigest()}" for f in files]
                ).encode()
            ).hexdigest()

            report_names = {entry.name for entry in manifest.reports}

            def compute() -> bytes:
                checks = UploadChecks(
                    own=OwnPseudonyms(self.keyring, registration.id, organisation.id),
                    budget=RecordBudget(registration.id, self.config.limits.max_upload_records),
                )
                hospital = organisation.id
                done = [
                    pseudonymise_file(registration, keys, hospital, f.name, f.data, checks=checks)
                    for f in files
                    if f.name not in report_names
                ]
                counts: Counter[str] = Counter()
                for item in done:
                    counts.update(item.type_counts)
                _check_types_declared(manifest, registration, counts)
                facts.types = dict(counts)
                facts.records = sum(item.records for item in done)
                by_name = {item.name: item for item in done}
                forwarded_manifest = replace(
                    manifest,
                    files=tuple(
                        replace(
                            entry,
                            sha256=sha256_of_bytes(by_name[entry.name].data),
                            bytes=len(by_name[entry.name].data),
                        )
                        for entry in manifest.files
                    ),
                    key_versions={code: keys.version for code in sorted(counts)},
                    source_manifest_sha256=manifest.sha256(),
                )
                reports = [(f.name, f.data) for f in files if f.name in report_names]
                for name, data in reports:
                    check_report(registration, keys, organisation.id, name, data, checks=checks)
                forwarded = self.forwarder.forward(
                    registration, forwarded_manifest, [(i.name, i.data) for i in done] + reports
                )
                return _json(
                    {
                        "registration": registration.id,
                        "request_id": request_id,
                        "batch_id": facts.batch_id,
                        "key_version": keys.version,
                        "files": [
                            {"name": i.name, "records": i.records, "pseudonyms": i.type_counts}
                            for i in done
                        ],
                        "forward_attempts": forwarded.attempts,
                        "receipt": json.loads(forwarded.receipt.to_json()),
                    }
                )

            return self._idempotent(organisation, endpoint, request_id, fingerprint, compute)

        return self.run(organisation, endpoint, work)

    def _upload_manifest(
        self,
        organisation: Organisation,
        registration: Registration,
        manifest_text: str,
        files: Sequence[UploadedFile],
    ) -> Manifest:
        try:
            manifest = Manifest.from_json(manifest_text)
        except DeliveryError as error:
            raise Refusal(
                422, "invalid_manifest", str(error), registration=registration.id
            ) from None
        if manifest.registration != registration.id:
            raise Refusal(
                422,
                "invalid_manifest",
                f"the manifest is for registration {manifest.registration!r}, "
                f"the upload for {registration.id!r}",
                registration=registration.id,
            )
        if manifest.provider_id != organisation.id:
            raise Refusal(
                403,
                "provider_mismatch",
                f"the manifest names provider {manifest.provider_id!r}, "
                f"but the caller is {organisation.id!r}",
                registration=registration.id,
            )
        unsafe = manifest.unsafe_file_names()
        if unsafe or any(not is_plain_name(f.name) for f in files):
            raise Refusal(
                400,
                "unsafe_file_name",
                "file names must be plain names (no folders, no '..')",
                registration=registration.id,
            )
        named = Counter(entry.name for entry in manifest.transferred())
        twice = sorted(name for name, count in named.items() if count > 1)
        if twice:  # the rewrite would drop one of them (it was an HTTP 500)
            raise Refusal(
                422,
                "invalid_manifest",
                f"the manifest lists file {twice[0]!r} {named[twice[0]]} times; files and "
                "reports are listed once each",
                registration=registration.id,
            )
        uploaded = {f.name: f for f in files}
        expected = {entry.name: entry for entry in manifest.transferred()}
        if len(uploaded) != len(files) or set(uploaded) != set(expected):
            raise Refusal(
                422,
                "files_mismatch",
                f"uploaded files {sorted(uploaded)} do not match the manifest's {sorted(expected)}",
                registration=registration.id,
            )
        total = sum(len(f.data) for f in files)
        if total > self.config.limits.max_upload_bytes:
            raise Refusal(
                413,
                "upload_too_large",
                f"{total} bytes uploaded; the limit is {self.config.limits.max_upload_bytes}",
                registration=registration.id,
            )
        counted = sum(entry.records for entry in manifest.files)
        if counted > self.config.limits.max_upload_records:  # refused before any work (1051)
            raise too_many(registration.id, self.config.limits.max_upload_records, "the manifest")
        for name, entry in expected.items():
            data = uploaded[name].data
            if len(data) != entry.bytes or sha256_of_bytes(data) != entry.sha256:
                raise Refusal(
                    422,
                    "checksum_mismatch",
                    f"{name}: size or sha256 differs from the manifest",
                    registration=registration.id,
                )
        return manifest

    def audit_tail(self, organisation: Organisation, limit: int) -> bytes:
        """Admin: the last audit entries."""

        def work(facts: AuditFacts) -> bytes:
            require_role(organisation, ["admin"], "reading the audit log")
            return _json({"entries": self.audit.tail(limit)})

        return self.run(organisation, "/audit", work)
