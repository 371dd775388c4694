"""Key check values of shared source keys: prove two hospitals hold the same key without showing it.

Linkage across hospitals needs every hospital of a registration to make its
source digests with the same source key (the TTP hands it out). A key check
value is ``HMAC-SHA256(secret, "aanlevering-source-key-check|<registration>|v<version>")``
cut to 16 hex characters: equal keys give equal values, and the value tells
nothing usable about the secret. Every TTP request of a hospital carries it
and the TTP refuses a value that differs from the one it knows for that
registration and key version (decision 0224).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.source_step import SourceKey

CHECK_VALUE = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class SourceKeyCheck:
    """Which source key version a request's digests were made with, and its check value."""

    version: int
    check_value: str

    def __post_init__(self) -> None:
        if self.version < 1 or not CHECK_VALUE.match(self.check_value):
            raise ConfigError("a source key check is a version >= 1 and 16 lowercase hex digits")

    def as_json(self) -> dict[str, object]:
        """The form in TTP request bodies."""
        return {"version": self.version, "check_value": self.check_value}

    def as_form(self) -> str:
        """The form in the local-mode upload (``v<version>:<check value>``)."""
        return f"v{self.version}:{self.check_value}"


def key_check_value(key: SourceKey) -> str:
    """The 16-hex-digit check value of a source key."""
    message = f"aanlevering-source-key-check|{key.registration}|v{key.version}".encode()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()[:16]


def source_key_check(key: SourceKey) -> SourceKeyCheck:
    """What a TTP request carries for ``key``."""
    return SourceKeyCheck(key.version, key_check_value(key))
