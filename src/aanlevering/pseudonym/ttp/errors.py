"""The two ways a TTP call fails besides a wrong answer: refused (4xx) or unreachable.

Separate classes because callers act differently on them: a refusal is final
(the delivery is rejected), unavailability may pass (the delivery is retried).
"""

from __future__ import annotations

from aanlevering.errors import TTPError


class TTPRefused(TTPError):
    """The TTP answered 4xx: the request is wrong or not allowed; retrying will not help."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        registration: str | None,
        pseudonym_type: str | None,
        server_message: str,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.registration = registration
        self.pseudonym_type = pseudonym_type
        self.server_message = server_message


class TTPUnavailable(TTPError):
    """The TTP could not be reached or kept failing (5xx) through every retry."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts
