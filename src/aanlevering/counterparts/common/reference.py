"""Every answer of a reference counterpart says that it is one (decision 0710).

Why on every answer, errors and refusals included: the hospital side must be
able to stop at the first answer it gets (a health check, a receipt lookup, a
listing), before it sends patient data, and whatever route or middleware
answered. The header is set outermost, so no route can forget it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aanlevering.demo_mode import REFERENCE_HEADER


class ReferenceHeader:
    """ASGI middleware adding ``Aanlevering-Reference-Service: <service>`` to every response."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self._header = (REFERENCE_HEADER.lower().encode("latin-1"), service.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; mark the response's start with the header."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self._header]}
            await send(message)

        await self.app(scope, receive, marked)
