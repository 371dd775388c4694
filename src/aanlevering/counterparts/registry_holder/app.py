"""HTTP interface of the reference registry holder (FastAPI).

``PUT .../files/{name}`` streams a data file, ``POST .../commit`` checks the
delivery against its manifest and answers with a receipt, ``GET .../receipt``
returns the receipt of a committed key. Hospitals authenticate with a bearer
API key. A fault-injection endpoint exists only when the config enables it,
for the project's fault tests.
"""

# No `from __future__ import annotations`: FastAPI resolves the local dependency aliases at runtime.

import asyncio
import logging
import re
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from aanlevering.counterparts.common.tls import client_subject
from aanlevering.counterparts.registry_holder.config import ReceiverConfig
from aanlevering.counterparts.registry_holder.store import Conflict, DeliveryStore, Rejected
from aanlevering.deliver.manifest import Manifest
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


class Faults:
    """Failures to inject into the next requests (tests only)."""

    def __init__(self) -> None:
        self.fail_commits = 0
        self.delay_commits = 0
        self.delay_seconds = 0.0
        self.drop_receipt = 0

    async def before_commit(self) -> None:
        """Delay or fail this commit if a fault is armed."""
        if self.delay_commits > 0:
            self.delay_commits -= 1
            await asyncio.sleep(self.delay_seconds)
        if self.fail_commits > 0:
            self.fail_commits -= 1
            raise HTTPException(500, "injected failure")


def _parse_manifest(body: bytes) -> Manifest:
    try:
        return Manifest.from_json(body.decode("utf-8"))
    except (DeliveryError, UnicodeDecodeError) as error:
        raise HTTPException(422, str(error)) from error


def create_app(config: ReceiverConfig, store: DeliveryStore) -> FastAPI:
    """Build the app for one receiver config and store."""
    app = FastAPI(title="aanlevering reference registry holder", version="1")
    faults = Faults()

    def hospital(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
        if not authorization:
            # mTLS: a verified client certificate of a known hospital stands in for the key.
            by_subject = config.hospital_for_subject(client_subject(request))
            if by_subject is not None:
                return by_subject
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "missing bearer API key or known client certificate")
        found = config.hospital_for_key(authorization.removeprefix("Bearer ").strip())
        if found is None:
            raise HTTPException(401, "unknown API key")
        return found

    def registration_known(registration: str) -> str:
        if registration not in config.registrations:
            raise HTTPException(404, f"this receiver does not hold registration {registration!r}")
        return registration

    Caller = Annotated[str, Depends(hospital)]  # noqa: N806 - a type alias
    Registration = Annotated[str, Depends(registration_known)]  # noqa: N806

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "receiver": config.receiver_id}

    @app.put(
        "/registrations/{registration}/deliveries/{key}/files/{name}",
        status_code=201,
        openapi_extra=_BINARY_BODY,
    )
    async def upload(
        registration: Registration, key: str, name: str, request: Request, caller: Caller
    ) -> dict[str, Any]:
        if not _SAFE_NAME.match(name) or not key.startswith(f"{registration}."):
            raise HTTPException(422, "invalid file name or idempotency key")
        target = store.incoming(key) / name
        size = 0
        with target.open("wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                handle.write(chunk)
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
        if manifest.idempotency_key != key or manifest.registration != registration:
            raise HTTPException(422, "manifest does not match the URL's registration and key")
        try:
            receipt = await asyncio.to_thread(store.commit, store.incoming(key), manifest)
        except Conflict as error:
            raise HTTPException(409, str(error)) from error
        except Rejected as error:
            raise HTTPException(422, {"problems": error.problems}) from error
        if faults.drop_receipt > 0:
            # Receipted and stored, but the answer never reaches the hospital.
            faults.drop_receipt -= 1
            raise HTTPException(503, "injected: receipt lost on the way back")
        status = 200 if receipt.duplicate else 201
        return JSONResponse(status_code=status, content=receipt.__dict__)

    @app.get("/registrations/{registration}/deliveries/{key}/receipt")
    def receipt(registration: Registration, key: str, caller: Caller) -> dict[str, Any]:
        found = store.receipt(key)
        if found is None:
            raise HTTPException(404, f"no receipt for {key}")
        return dict(found.__dict__)

    @app.get("/ledger")
    def ledger(caller: Caller) -> list[dict[str, Any]]:
        return store.ledger()

    if config.fault_injection:
        _add_fault_routes(app, faults)

    return app


def _add_fault_routes(app: FastAPI, faults: Faults) -> None:
    @app.post("/_faults")
    def set_faults(settings: dict[str, float]) -> dict[str, float]:
        faults.fail_commits = int(settings.get("fail_commits", 0))
        faults.delay_commits = int(settings.get("delay_commits", 0))
        faults.delay_seconds = float(settings.get("delay_seconds", 0.0))
        faults.drop_receipt = int(settings.get("drop_receipt", 0))
        return settings
