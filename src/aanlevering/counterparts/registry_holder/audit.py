"""The registry holder's audit trail: each request, who, from where, what, outcome (NEN 7513).

An outer ASGI middleware, so it also sees what the limits middleware
refused (failed logins, floods, oversized bodies). Each request becomes one
hash-chained, fsynced line (:mod:`aanlevering.counterparts.common.audit`)
holding only checked values: the hospital id from the config (or
``(unauthenticated)``), the credential kind, the peer address, the route
template, a registration only if this receiver holds it, a delivery key only
if it has the key's shape, and counts the routes add to
``request.state.audit``. File names, manifests and API keys never go in.
"""

from __future__ import annotations

import re
from typing import Any

from aanlevering.counterparts.common.audit import ChainedAuditLog
from aanlevering.counterparts.common.limits import (
    ASGIApp,
    Identify,
    Message,
    Receive,
    Scope,
    Send,
    credential_of,
    header,
    peer_of,
)

_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (template, re.compile(pattern))
    for template, pattern in (
        (
            "/registrations/{registration}/deliveries/{key}/files/{name}",
            r"/registrations/(?P<registration>[^/]+)/deliveries/(?P<key>[^/]+)/files/[^/]+",
        ),
        (
            "/registrations/{registration}/deliveries/{key}/commit",
            r"/registrations/(?P<registration>[^/]+)/deliveries/(?P<key>[^/]+)/commit",
        ),
        (
            "/registrations/{registration}/deliveries/{key}/receipt",
            r"/registrations/(?P<registration>[^/]+)/deliveries/(?P<key>[^/]+)/receipt",
        ),
        (
            "/registrations/{registration}/deliveries",
            r"/registrations/(?P<registration>[^/]+)/deliveries/?",
        ),
        ("/ledger", r"/ledger"),
        ("/_faults", r"/_faults"),
    )
)
#: Facts routes may add (``request.state.audit[...] = n``); anything else is dropped.
FACT_NAMES = frozenset({"bytes", "files", "records", "duplicate"})


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 401:
        return "refused:unauthenticated"
    return "error" if status >= 500 else f"refused:{status}"


class AuditTrail:
    """ASGI middleware appending one audit line per request (not for ``/health``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        log: ChainedAuditLog,
        identify: Identify,
        registrations: frozenset[str],
        providers: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.log = log
        self.identify = identify
        self.registrations = registrations
        self.providers = providers

    def _what(self, path: str) -> dict[str, Any]:
        for template, pattern in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            what: dict[str, Any] = {"endpoint": template}
            registration = match.groupdict().get("registration")
            if registration is not None:
                known = registration in self.registrations
                what["registration"] = registration if known else "(unknown)"
                key = match.groupdict().get("key")
                if key is not None:  # the listing of held versions names no delivery
                    what["delivery"] = self._key(key, registration if known else None)
            return what
        return {"endpoint": "(other)"}

    def _key(self, key: str, registration: str | None) -> str:
        """The idempotency key if it has the shape ``<provider>.<registration>.<period>.v<n>``."""
        provider, _, rest = key.partition(".")
        shape = rf"{re.escape(registration or '')}\.[A-Za-z0-9-]{{1,16}}\.v[0-9]{{1,6}}"
        if registration and provider in self.providers and re.fullmatch(shape, rest):
            return key
        return "(invalid)"

    def _on_behalf_of(self, scope: Scope) -> dict[str, str]:
        value = header(scope, b"on-behalf-of")
        if value is None:
            return {}
        return {"on_behalf_of": value if value in self.providers else "(unknown)"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then append its line (also when the app failed)."""
        if scope["type"] != "http" or scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        facts: dict[str, Any] = {}
        scope.setdefault("state", {})["audit"] = facts
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.log.append(
                {
                    "who": self.identify(scope) or "(unauthenticated)",
                    **self._on_behalf_of(scope),
                    "credential": credential_of(scope),
                    "peer": peer_of(scope),
                    "method": scope["method"] if scope["method"].isalpha() else "(other)",
                    **self._what(scope["path"]),
                    **{
                        k: v
                        for k, v in facts.items()
                        if k in FACT_NAMES and isinstance(v, int | bool)
                    },
                    "status": status,
                    "outcome": _outcome(status),
                }
            )
