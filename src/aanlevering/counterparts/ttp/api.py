"""HTTP interface of the reference TTP (FastAPI): routes, authentication, errors, fault injection.

Routes are thin: read the raw body, identify the caller, hand both to
:class:`~.service.TTPService` in a worker thread (the work is CPU-bound), and
return its JSON bytes unchanged, so a replayed idempotent answer is
byte-identical. Request bodies are parsed by the service with pydantic's JSON
parser; the route declares them only for the OpenAPI document
(``schemas/openapi/ttp.openapi.json``, written by ``aanlevering ttp openapi``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Query, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from aanlevering.counterparts.common.limits import (
    EndpointLimit,
    LimitPolicy,
    RequestLimits,
    Scope,
    header,
)
from aanlevering.counterparts.common.reference import ReferenceHeader
from aanlevering.counterparts.common.tls import SUBJECT_STATE, client_subject
from aanlevering.counterparts.ttp.config import Organisation
from aanlevering.counterparts.ttp.models import (
    AuditEntries,
    ErrorResponse,
    ExchangeRequest,
    ExchangeResponse,
    FaultRequest,
    Health,
    LocalUploadResponse,
    MrnReverseRequest,
    MrnReverseResponse,
    TemporaryColumnsRequest,
    TemporaryColumnsResponse,
    TemporaryPseudonymRequest,
    TemporaryPseudonymResponse,
)
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.counterparts.ttp.service import (
    PROTOCOL_VERSION,
    SERVICE_NAME,
    TTPService,
    UploadedFile,
    parse_body,
)

DESCRIPTION = """\
Open protocol of the pseudonymisation service (TTP) for deliveries under the
Wet kwaliteitsregistraties zorg, as implemented by the aanlevering reference TTP.
Hospitals send source digests (never identifiers); the TTP answers with labelled
pseudonyms (`T1:<type>:v<n>:…` temporary, `<type>:v<n>:…` definitive,
`MRN:v<n>:…` reversible by the providing hospital only). Authenticate with
`Authorization: Bearer <API key>`. See docs/ttp.md.
"""

JSON = "application/json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        401: "Missing or unknown API key",
        403: "Role, registry holder or pseudonym type not allowed",
        404: "Unknown registration",
        409: "Request id reused with a different body",
        413: "Too many records or bytes (a declared body over the limit is refused unread)",
        422: "Invalid request (field paths named, values never echoed)",
        429: "Rate limited, too many failed logins or uploads in progress; see Retry-After",
    }.items()
}
_BODY_MODELS: tuple[type[BaseModel], ...] = (
    TemporaryPseudonymRequest,
    ExchangeRequest,
    MrnReverseRequest,
)
_bearer = HTTPBearer(auto_error=False, description="The organisation's API key.")


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


def _service(request: Request) -> TTPService:
    service: TTPService | None = request.app.state.service
    if service is None:
        raise Refusal(503, "not_configured", "this TTP app was built without a configuration")
    return service


def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Organisation:
    service = _service(request)
    try:
        return service.authenticator.authenticate(
            credentials.credentials if credentials else None, client_subject(request)
        )
    except Refusal as refusal:
        service.record(None, request.url.path, refusal.status, f"refused:{refusal.code}")
        raise


Caller = Annotated[Organisation, Depends(_caller)]


def _json_bytes(body: bytes) -> Response:
    return Response(content=body, media_type=JSON)


async def _refused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Refusal)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(
        status_code=error.status, content={"detail": error.detail()}, headers=headers
    )


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()[:10]
    ]
    refusal = Refusal(422, "invalid_request", "invalid request: " + "; ".join(problems))
    return JSONResponse(status_code=422, content={"detail": refusal.detail()})


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in _BODY_MODELS:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            document["components"]["schemas"] = dict(sorted(schemas.items()))
            app.openapi_schema = document
        return app.openapi_schema

    return build


def create_app(service: TTPService | None) -> FastAPI:
    """The ASGI app over one service (None only to render the OpenAPI document)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if service is not None:
            service.audit.close()

    app = FastAPI(
        title="aanlevering reference TTP",
        version=PROTOCOL_VERSION,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_exception_handler(Refusal, _refused)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.openapi = _openapi(app)  # type: ignore[method-assign]

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Liveness probe; needs no API key."""
        return Health(status="ok", service=SERVICE_NAME, version=PROTOCOL_VERSION)

    @app.post(
        "/pseudonyms/temporary",
        response_model=TemporaryPseudonymResponse,
        responses=_ERRORS,
        openapi_extra=_body(TemporaryPseudonymRequest),
        tags=["web mode"],
    )
    async def temporary_pseudonyms(request: Request, caller: Caller) -> Response:
        """Hospital: temporary pseudonyms (and MRN pseudonyms) for a batch of persons.

        Refused whole (403) when any record asks for a type the registration may
        not receive. The same request_id with the same body returns the same
        answer; with another body, 409.
        """
        raw = await request.body()
        return _json_bytes(
            await run_in_threadpool(_service(request).temporary_pseudonyms, caller, raw)
        )

    @app.post(
        "/pseudonyms/temporary/columns",
        response_model=TemporaryColumnsResponse,
        responses=_ERRORS,
        openapi_extra=_body(TemporaryColumnsRequest),
        tags=["web mode"],
    )
    async def temporary_columns(request: Request, caller: Caller) -> Response:
        """Hospital: /pseudonyms/temporary in columns (one field per type, rows for records).

        The same checks and the same pseudonyms as the record form; a batch of
        thousands of persons is a handful of strings each way, so neither side
        spends time per record on the encoding.
        """
        raw = await request.body()
        return _json_bytes(
            await run_in_threadpool(_service(request).temporary_columns, caller, raw)
        )

    @app.post(
        "/pseudonyms/exchange",
        response_model=ExchangeResponse,
        responses=_ERRORS,
        openapi_extra=_body(ExchangeRequest),
        tags=["web mode"],
    )
    async def exchange(request: Request, caller: Caller) -> Response:
        """Registry holder: definitive pseudonyms for temporary ones of a registration it holds.

        Temporary pseudonyms of a transition key version are accepted; retired
        versions are refused. ``target_version`` converts to another key version.
        """
        raw = await request.body()
        return _json_bytes(await run_in_threadpool(_service(request).exchange, caller, raw))

    @app.post(
        "/mrn/reverse",
        response_model=MrnReverseResponse,
        responses=_ERRORS,
        openapi_extra=_body(MrnReverseRequest),
        tags=["MRN"],
    )
    async def mrn_reverse(request: Request, caller: Caller) -> Response:
        """Providing hospital only: its own MRN ciphertexts back; anyone else gets 403."""
        raw = await request.body()
        return _json_bytes(await run_in_threadpool(_service(request).reverse_mrn, caller, raw))

    @app.post(
        "/local/deliveries",
        response_model=LocalUploadResponse,
        responses={
            **_ERRORS,
            502: {"model": ErrorResponse, "description": "Forwarding failed after retries"},
        },
        tags=["local-client mode"],
    )
    async def local_delivery(
        request: Request,
        *,
        caller: Caller,
        registration: Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")],
        request_id: Annotated[str, Form(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,199}$")],
        profile_version: Annotated[str, Form(min_length=1, max_length=64)],
        manifest: Annotated[str, Form(description="The delivery manifest (JSON).")],
        source_key_check: Annotated[
            str,
            Form(
                pattern=r"^v[1-9][0-9]*:[0-9a-f]{16}$",
                description="v<version>:<check value> of the source key that made the digests.",
            ),
        ],
        files: Annotated[
            list[UploadFile],
            File(description="Data files named as in the manifest (.csv, .ndjson, .json)."),
        ],
    ) -> Response:
        """Hospital: upload a delivery whose records carry source digests.

        Exactly the fields below, each once (``files`` once per file): a field
        the API does not define, or one sent twice, is refused (422).

        The TTP replaces every ``pseudonym_inputs`` object (JSON) or
        ``pseudonym_input.<TYPE>`` column (CSV) by definitive pseudonyms,
        updates the manifest's checksums and key versions, forwards the
        delivery to the registration's registry holder (retrying transient
        failures) and answers with the registry holder's receipt.
        """
        uploaded = [UploadedFile(name=f.filename or "", data=await f.read()) for f in files]
        # The form as sent (already read): fields the route does not declare are refused.
        form_fields = [name for name, _ in (await request.form()).multi_items()]
        body = await run_in_threadpool(
            lambda: _service(request).upload_local(
                caller,
                registration_id=registration,
                request_id=request_id,
                profile_version=profile_version,
                manifest_text=manifest,
                files=uploaded,
                source_key_check=source_key_check,
                form_fields=form_fields,
            )
        )
        return _json_bytes(body)

    @app.get("/audit", response_model=AuditEntries, responses=_ERRORS, tags=["admin"])
    def audit(
        request: Request,
        caller: Caller,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> Response:
        """Admin: the last entries of the audit log (counts only, no identifiers)."""
        return _json_bytes(_service(request).audit_tail(caller, limit))

    if service is not None and service.config.fault_injection:
        _add_fault_injection(app, service)
    if service is not None:
        _add_limits(app, service)
    # Outermost: every answer, refusals too, says this is a reference TTP (decision 0710).
    app.add_middleware(ReferenceHeader, service="ttp")

    return app


def _add_limits(app: FastAPI, service: TTPService) -> None:
    """Authenticate, rate-limit and size-check before any route reads a body (limits.py)."""
    limits = service.config.limits
    policy = LimitPolicy(
        endpoints=(
            # Multipart framing and the manifest come on top of the files themselves.
            EndpointLimit(
                "POST",
                re.compile(r"/local/deliveries"),
                limits.max_upload_bytes + 2**20,
                upload=True,
            ),
        ),
        default_max_bytes=limits.max_json_body_bytes,
        requests_per_minute=limits.requests_per_minute,
        failed_auth_per_minute=limits.failed_auth_per_minute,
        max_concurrent_uploads=limits.max_concurrent_uploads,
        public_paths=frozenset({"/health", "/openapi.json"}),
    )
    organisations = service.config.organisations

    def identify(scope: Scope) -> str | None:
        authorization = header(scope, b"authorization") or ""
        key = authorization[7:].strip() if authorization.startswith("Bearer ") else None
        subject = scope.get("state", {}).get(SUBJECT_STATE)
        try:
            return service.authenticator.authenticate(key, subject).id
        except Refusal:
            return None

    def on_refusal(scope: Scope, status: int, reason: str, identity: str | None) -> None:
        organisation = organisations.get(identity) if identity else None
        service.record(organisation, scope["path"], status, f"refused:{reason}")

    app.add_middleware(RequestLimits, policy=policy, identify=identify, on_refusal=on_refusal)


def _add_fault_injection(app: FastAPI, service: TTPService) -> None:
    """Testing only (decision 0046): arm faults, and the middleware that applies them."""

    @app.post("/admin/faults", tags=["admin"])
    async def arm_faults(request: Request, caller: Caller) -> dict[str, Any]:
        """Admin, testing only: make the next requests fail (see faults.py)."""
        if caller.role != "admin":
            raise Refusal(403, "role_not_allowed", "arming faults needs role admin")
        fault = parse_body(FaultRequest, await request.body())
        service.faults.arm(fault.count, fault.mode, fault.hang_seconds, fault.path_prefix)
        return {"armed": fault.count, "mode": fault.mode}

    @app.middleware("http")
    async def inject(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        fault = service.faults.take(request.url.path)
        if fault is None:
            return await call_next(request)
        injected = {"detail": {"code": "injected_fault", "message": f"injected {fault.mode}"}}
        if fault.mode == "hang":
            await asyncio.sleep(fault.hang_seconds)
            return JSONResponse(status_code=503, content=injected)
        if fault.mode == "error_after":
            await call_next(request)
        return JSONResponse(status_code=500, content=injected)
