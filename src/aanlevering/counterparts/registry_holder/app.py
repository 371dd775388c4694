"""HTTP interface of the reference registry holder (FastAPI).

``PUT .../files/{name}`` streams a data file, ``POST .../commit`` checks the
delivery against its manifest and answers with a receipt, ``GET .../receipt``
returns the receipt of a committed key, ``GET .../deliveries?period=`` lists
the caller's receipted versions of a period. Hospitals authenticate with a bearer
API key; a forwarder (the TTP) adds ``On-Behalf-Of: <provider>``. A caller
only ever touches its own provider's deliveries (:mod:`.access`). A
fault-injection endpoint exists only when the config enables it, for the
project's fault tests.
"""

# No `from __future__ import annotations`: FastAPI resolves the local dependency aliases at runtime.

import asyncio
import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from aanlevering.counterparts.common.audit import ChainedAuditLog
from aanlevering.counterparts.common.limits import (
    EndpointLimit,
    LimitPolicy,
    RequestLimits,
    Scope,
    header,
)
from aanlevering.counterparts.common.reference import ReferenceHeader
from aanlevering.counterparts.common.tls import SUBJECT_STATE, client_subject
from aanlevering.counterparts.registry_holder import access
from aanlevering.counterparts.registry_holder.audit import AuditTrail
from aanlevering.counterparts.registry_holder.config import ReceiverConfig, ReceiverLimits
from aanlevering.counterparts.registry_holder.store import Conflict, DeliveryStore, Rejected
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import Receipt
from aanlevering.errors import DeliveryError

log = logging.getLogger(__name__)
_BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _manifest_body() -> dict[str, Any]:
    from pydantic import TypeAdapter

    # OpenAPI 3.1 schemas are JSON Schema 2020-12: local $defs resolve in place.
    schema = TypeAdapter(Manifest).json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _http(denied: access.Denied) -> HTTPException:
    return HTTPException(denied.status, str(denied))


def _allow(check: Callable[..., None], *args: Any) -> None:
    """Run an :mod:`.access` check; its refusal becomes the HTTP error."""
    try:
        check(*args)
    except access.Denied as denied:
        raise _http(denied) from None


class Faults:
    """Failures to inject into the next requests (tests only)."""

    def __init__(self) -> None:
        self.fail_commits = 0
        self.delay_commits = 0
        self.delay_seconds = 0.0
        self.drop_receipt = 0
        #: Answer the next commits with a receipt of other record counts (stored as sent).
        self.miscount_receipt = 0

    async def before_commit(self) -> None:
        """Delay or fail this commit if a fault is armed."""
        if self.delay_commits > 0:
            self.delay_commits -= 1
            await asyncio.sleep(self.delay_seconds)
        if self.fail_commits > 0:
            self.fail_commits -= 1
            raise HTTPException(500, "injected failure")

    def answer(self, receipt: Receipt) -> Receipt:
        """The receipt of a stored commit to answer with, as the armed faults make it."""
        if self.drop_receipt > 0:
            # Receipted and stored, but the answer never reaches the hospital.
            self.drop_receipt -= 1
            raise HTTPException(503, "injected: receipt lost on the way back")
        if self.miscount_receipt > 0:
            # Stored as sent, but the answer names other counts: the client's check refuses it.
            self.miscount_receipt -= 1
            counts = {name: count + 1 for name, count in receipt.record_counts.items()}
            return replace(receipt, record_counts=counts)
        return receipt


def _audit(request: Request, **counts: int | bool) -> None:
    """Add counts to this request's audit line (see audit.py; only known names are kept)."""
    facts = getattr(request.state, "audit", None)
    if isinstance(facts, dict):
        facts.update(counts)


def _parse_manifest(body: bytes) -> Manifest:
    try:
        return Manifest.from_json(body.decode("utf-8"))
    except (DeliveryError, UnicodeDecodeError) as error:
        raise HTTPException(422, str(error)) from error


def _room_for(incoming: Path, name: str, limits: ReceiverLimits) -> int:
    """Bytes ``name`` may take in this delivery; HTTP 413 when it may hold no more files.

    Why: without a bound per delivery, one hospital key fills the holder's disk
    with uploads it never commits (decision 0433). A file uploaded again
    replaces itself, so its old size and place do not count.
    """
    others = [
        entry
        for entry in os.scandir(incoming)
        if not entry.name.startswith(".") and entry.name != name
    ]
    if len(others) >= limits.max_files_per_delivery:
        raise HTTPException(413, f"a delivery holds at most {limits.max_files_per_delivery} files")
    return limits.max_delivery_bytes - sum(entry.stat().st_size for entry in others)


async def _receive_file(request: Request, incoming: Path, name: str, room: int) -> int:
    """Stream the body to ``incoming/name``; its size. HTTP 413 past ``room`` bytes.

    Written aside and renamed whole: a commit never reads a half-written file,
    and two uploads of one name never interleave (decision 0430). The aside
    name starts with a dot, which no uploaded name does.
    """
    partial = incoming / f".upload-{uuid.uuid4().hex}"
    size = 0
    try:
        with partial.open("xb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > room:
                    raise HTTPException(
                        413, "the delivery's files together exceed max_delivery_bytes"
                    )
                handle.write(chunk)
        partial.replace(incoming / name)
    finally:
        partial.unlink(missing_ok=True)
    return size


def _caller_of(config: ReceiverConfig) -> Callable[..., access.Caller]:
    """The dependency that identifies the caller (bearer key or client certificate).

    A forwarder also names the provider it acts for in ``On-Behalf-Of``.
    """

    def hospital(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        on_behalf_of: Annotated[str | None, Header()] = None,
    ) -> access.Caller:
        bearer = authorization is not None and authorization.startswith("Bearer ")
        key = authorization.removeprefix("Bearer ").strip() if bearer and authorization else None
        # mTLS: a verified client certificate of a known hospital stands in for the key.
        subject = None if authorization else client_subject(request)
        try:
            return access.identify(config, key, on_behalf_of, subject=subject)
        except access.Denied as denied:
            raise _http(denied) from None

    return hospital


def create_app(
    config: ReceiverConfig, store: DeliveryStore, audit: ChainedAuditLog | None = None
) -> FastAPI:
    """Build the app for one receiver config and store.

    ``audit``: the process's one audit log (shared with the SFTP watcher); by
    default one is opened at ``config.audit_log``.
    """
    app = FastAPI(title="aanlevering reference registry holder", version="1")
    faults = Faults()

    hospital = _caller_of(config)

    def registration_known(registration: str) -> str:
        if registration not in config.registrations:
            raise HTTPException(404, f"this receiver does not hold registration {registration!r}")
        return registration

    Caller = Annotated[access.Caller, Depends(hospital)]  # noqa: N806 - a type alias
    Registration = Annotated[str, Depends(registration_known)]  # noqa: N806

    @app.get("/health")
    def health() -> dict[str, Any]:
        # A reference service, not a registry (decision 0710).
        return {"status": "ok", "receiver": config.receiver_id, "reference": True}

    @app.put(
        "/registrations/{registration}/deliveries/{key}/files/{name}",
        status_code=201,
        openapi_extra=_BINARY_BODY,
    )
    async def upload(
        registration: Registration, key: str, name: str, request: Request, caller: Caller
    ) -> dict[str, Any]:
        _allow(access.check_name, name)
        _allow(access.check_key, caller, registration, key)
        if not _SAFE_NAME.match(name):
            raise HTTPException(400, "file names are letters, digits, '.', '_' and '-'")
        if store.receipt(caller.provider, key) is not None:
            raise HTTPException(409, f"{key} is already receipted; its files cannot change")
        incoming = store.incoming(caller.provider, key)
        room = _room_for(incoming, name, config.limits)
        size = await _receive_file(request, incoming, name, room)
        _audit(request, bytes=size)
        return {"file": name, "bytes": size}

    @app.post(
        "/registrations/{registration}/deliveries/{key}/commit",
        openapi_extra=_manifest_body(),
        responses={
            200: {"description": "Already receipted: the original receipt, duplicate=true"},
            201: {"description": "Receipt"},
            409: {"description": "Idempotency key used for another delivery"},
            422: {"description": "Checksums, record counts or FHIR content rejected"},
        },
    )
    async def commit(
        registration: Registration, key: str, request: Request, caller: Caller
    ) -> JSONResponse:
        await faults.before_commit()
        manifest = _parse_manifest(await request.body())
        _allow(access.check_key, caller, registration, key)
        _allow(access.check_manifest, caller, registration, key, manifest)
        if len(manifest.transferred()) > config.limits.max_files_per_delivery:
            raise HTTPException(
                413, f"a delivery holds at most {config.limits.max_files_per_delivery} files"
            )
        incoming = store.incoming(caller.provider, key)
        try:
            receipt = await asyncio.to_thread(store.commit, incoming, manifest)
        except Conflict as error:
            raise HTTPException(409, str(error)) from error
        except Rejected as error:
            raise HTTPException(422, {"problems": error.problems}) from error
        receipt = faults.answer(receipt)
        status = 200 if receipt.duplicate else 201
        _audit(
            request,
            files=len(manifest.files),
            records=sum(item.records for item in manifest.files),
            duplicate=receipt.duplicate,
        )
        return JSONResponse(status_code=status, content=receipt.__dict__)

    @app.get("/registrations/{registration}/deliveries/{key}/receipt")
    def receipt(registration: Registration, key: str, caller: Caller) -> dict[str, Any]:
        _allow(access.check_key, caller, registration, key)
        found = store.receipt(caller.provider, key)
        if found is None:
            raise HTTPException(404, f"no receipt for {key}")
        return dict(found.__dict__)

    @app.get("/registrations/{registration}/deliveries")
    def held(registration: Registration, period: str, caller: Caller) -> dict[str, Any]:
        return _held_listing(config, store, caller, registration, period)

    @app.get("/ledger")
    def ledger(caller: Caller) -> list[dict[str, Any]]:
        """The caller's own receipted deliveries (never another provider's).

        A forwarder sees only the registrations it delivers to (decision 0439).
        """
        return access.visible(caller, store.ledger(provider=caller.provider))

    _add_guards(app, config, faults, audit)
    return app


def _held_listing(
    config: ReceiverConfig,
    store: DeliveryStore,
    caller: access.Caller,
    registration: str,
    period: str,
) -> dict[str, Any]:
    """The caller's own receipted versions of one period (decision 0460).

    Why: a hospital whose event log was restored, or whose receipt never
    came back, asks here before it says "already delivered", numbers a new
    version or retracts. Only the caller's provider's versions, and a
    forwarder only for the registrations it delivers to.
    """
    _allow(access.check_period, caller, registration, period)
    return {
        "registration": registration,
        "period": period,
        "receiver": config.receiver_id,
        "reference": True,  # decision 0710
        "versions": access.held_versions(
            store.ledger(provider=caller.provider), registration, period
        ),
    }


def _add_guards(
    app: FastAPI, config: ReceiverConfig, faults: Faults, audit: ChainedAuditLog | None
) -> None:
    """Fault routes (tests only), limits and the audit trail, the reference header (0710)."""
    if config.fault_injection:
        _add_fault_routes(app, faults)
    if audit is None and config.audit_log is not None:
        audit = ChainedAuditLog(config.audit_log)
    _add_limits(app, config, audit)
    # Outermost: every answer, a refusal of the limits too, says this is a reference holder.
    app.add_middleware(ReferenceHeader, service="registry-holder")


def _add_limits(app: FastAPI, config: ReceiverConfig, audit: ChainedAuditLog | None) -> None:
    """Authenticate, rate-limit and size-check before any route reads a body (limits.py)."""
    limits = config.limits
    delivery = r"/registrations/[^/]+/deliveries/[^/]+"
    files = re.compile(delivery + r"/files/[^/]+")
    policy = LimitPolicy(
        endpoints=(
            EndpointLimit("PUT", files, limits.max_file_bytes, upload=True),
            EndpointLimit("POST", re.compile(delivery + r"/commit"), limits.max_manifest_bytes),
        ),
        default_max_bytes=limits.max_manifest_bytes,
        requests_per_minute=limits.requests_per_minute,
        failed_auth_per_minute=limits.failed_auth_per_minute,
        max_concurrent_uploads=limits.max_concurrent_uploads,
        public_paths=frozenset(
            {"/health", "/openapi.json", *(("/_faults",) if config.fault_injection else ())}
        ),
    )

    def identify(scope: Scope) -> str | None:
        # Authentication only (who holds the key or certificate); what the caller may
        # do, including On-Behalf-Of, is the routes' business (access.py).
        authorization = header(scope, b"authorization")
        if authorization is None:
            subject = scope.get("state", {}).get(SUBJECT_STATE)
            return config.hospital_for_subject(subject if isinstance(subject, str) else None)
        if not authorization.startswith("Bearer "):
            return None
        key = authorization.removeprefix("Bearer ").strip()
        hospital = config.hospital_for_key(key)
        if hospital is not None:
            return hospital
        forwarder = config.forwarder_for_key(key)
        return f"forwarder:{forwarder}" if forwarder is not None else None

    app.add_middleware(RequestLimits, policy=policy, identify=identify)
    if audit is not None:
        # Added last, so outermost: it also records what the limits refused.
        app.add_middleware(
            AuditTrail,
            log=audit,
            identify=identify,
            registrations=config.registrations,
            providers=frozenset(config.hospital_key_hashes),
        )


def _add_fault_routes(app: FastAPI, faults: Faults) -> None:
    @app.post("/_faults")
    def set_faults(settings: dict[str, float]) -> dict[str, float]:
        faults.fail_commits = int(settings.get("fail_commits", 0))
        faults.delay_commits = int(settings.get("delay_commits", 0))
        faults.delay_seconds = float(settings.get("delay_seconds", 0.0))
        faults.drop_receipt = int(settings.get("drop_receipt", 0))
        faults.miscount_receipt = int(settings.get("miscount_receipt", 0))
        return settings
