"""The one way the TTP says no: a :class:`Refusal` with an HTTP status and a stable code.

Domain and service code raise it; the HTTP layer turns it into
``{"detail": {"code", "message", "registration", "pseudonym_type", "index"}}``.
Messages name the registration, the pseudonym type and the record position,
never a digest, ciphertext or pseudonym.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A request the TTP will not (or cannot) serve."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        registration: str | None = None,
        pseudonym_type: str | None = None,
        index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.registration = registration
        self.pseudonym_type = pseudonym_type
        self.index = index

    def detail(self) -> dict[str, Any]:
        """The JSON ``detail`` object of the error response."""
        detail: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.registration is not None:
            detail["registration"] = self.registration
        if self.pseudonym_type is not None:
            detail["pseudonym_type"] = self.pseudonym_type
        if self.index is not None:
            detail["index"] = self.index
        return detail
