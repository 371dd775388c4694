"""Request limits in front of a counterparty app: who first, then how much, how often, how many.

An ASGI middleware, so it runs before FastAPI reads or parses a body:

1. public paths (``/health``) pass;
2. the caller is identified from the headers and the TLS client certificate
   only; an unidentified caller gets 401 without its body being read, and
   after ``failed_auth_per_minute`` such answers per peer address, 429;
3. each identity gets ``requests_per_minute`` (token bucket; 429 with
   ``Retry-After``);
4. a declared ``Content-Length`` above the endpoint's limit is 413 at once; a
   body without one is counted as it streams and cut off at the limit (413);
5. uploads take one of ``max_concurrent_uploads`` slots for their whole
   duration; none free is 429 with ``Retry-After``.

Every refusal is reported through ``on_refusal`` so the service can audit it.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from aanlevering.counterparts.common.audit import REQUEST, RequestFacts
from aanlevering.counterparts.common.tls import SUBJECT_STATE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The identity of the caller from headers and certificate, or None (unauthenticated).
Identify = Callable[[Scope], str | None]
#: Called for every refusal: (scope, status, reason, identity or None).
OnRefusal = Callable[[Scope, int, str, str | None], None]


@dataclass(frozen=True)
class EndpointLimit:
    """The largest body a route accepts, and whether it is an upload (concurrency-capped)."""

    method: str
    path: re.Pattern[str]
    max_bytes: int
    upload: bool = False


@dataclass(frozen=True)
class LimitPolicy:
    """All limits of one service (the services build it from their config)."""

    endpoints: tuple[EndpointLimit, ...]
    default_max_bytes: int
    requests_per_minute: int
    failed_auth_per_minute: int
    max_concurrent_uploads: int
    public_paths: frozenset[str] = frozenset({"/health"})

    def endpoint(self, method: str, path: str) -> EndpointLimit | None:
        """The first endpoint rule matching the request."""
        for rule in self.endpoints:
            if rule.method == method and rule.path.fullmatch(path):
                return rule
        return None


class RateLimiter:
    """Token buckets per key (``per_minute`` tokens, refilled evenly); thread-safe, bounded."""

    def __init__(
        self, per_minute: int, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed (a token taken), else the seconds until the next token."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.pop(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - last) * self._rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self._rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return wait


def peer_of(scope: Scope) -> str:
    """The peer's IP address (``-`` when the server does not say)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


def credential_of(scope: Scope) -> str:
    """How the request authenticates: ``api-key``, ``certificate`` or ``none``."""
    if header(scope, b"authorization") is not None:
        return "api-key"
    if scope.get("state", {}).get(SUBJECT_STATE):
        return "certificate"
    return "none"


def header(scope: Scope, name: bytes) -> str | None:
    """One request header, decoded as latin-1 (ASGI headers are bytes)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class RequestLimits:
    """The ASGI middleware; see the module docstring for the order of checks."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        policy: LimitPolicy,
        identify: Identify,
        on_refusal: OnRefusal | None = None,
    ) -> None:
        self.app = app
        self.policy = policy
        self.identify = identify
        self.on_refusal = on_refusal
        self.per_identity = RateLimiter(policy.requests_per_minute)
        self.failed = RateLimiter(policy.failed_auth_per_minute)
        self._uploads = threading.BoundedSemaphore(policy.max_concurrent_uploads)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        reason: str,
        identity: str | None,
        *,
        retry_after: float | None = None,
    ) -> None:
        if self.on_refusal is not None:
            self.on_refusal(scope, status, reason, identity)
        headers = [(b"content-type", b"application/json")]
        if retry_after is not None:
            headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        body = json.dumps({"detail": {"code": reason, "message": _MESSAGES[reason]}}).encode()
        headers.append((b"content-length", str(len(body)).encode()))
        # Connection: close, so an unread request body is never parsed as the next request.
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request before the app sees it; see the module docstring."""
        if scope["type"] != "http" or scope["path"] in self.policy.public_paths:
            await self.app(scope, receive, send)
            return
        token = REQUEST.set(RequestFacts(peer=peer_of(scope), credential=credential_of(scope)))
        try:
            await self._check(scope, receive, send)
        finally:
            REQUEST.reset(token)

    async def _check(self, scope: Scope, receive: Receive, send: Send) -> None:
        identity = self.identify(scope)
        if identity is None:
            wait = self.failed.take(peer_of(scope))
            if wait > 0:
                await self._refuse(
                    scope, send, 429, "too_many_failed_logins", None, retry_after=wait
                )
            else:
                await self._refuse(scope, send, 401, "unauthenticated", None)
            return
        wait = self.per_identity.take(identity)
        if wait > 0:
            await self._refuse(scope, send, 429, "rate_limited", identity, retry_after=wait)
            return
        rule = self.policy.endpoint(scope["method"], scope["path"])
        limit = rule.max_bytes if rule is not None else self.policy.default_max_bytes
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, 413, "body_too_large", identity)
            return
        upload = rule is not None and rule.upload
        if upload and not self._uploads.acquire(blocking=False):
            await self._refuse(scope, send, 429, "too_many_uploads", identity, retry_after=1.0)
            return
        try:
            await self._run(scope, receive, send, limit, identity)
        finally:
            if upload:
                self._uploads.release()

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, limit: int, identity: str
    ) -> None:
        seen = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # The app sees the client go away; nothing past the limit is read.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of the cut-off body, the answer is 413
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(scope, send, 413, "body_too_large", identity)


_MESSAGES = {
    "unauthenticated": "missing or unknown API key or client certificate",
    "too_many_failed_logins": "too many unauthenticated requests from this address; retry later",
    "rate_limited": "too many requests for this credential; retry after the given seconds",
    "body_too_large": "request body larger than this endpoint accepts",
    "too_many_uploads": "too many uploads in progress; retry after the given seconds",
}
