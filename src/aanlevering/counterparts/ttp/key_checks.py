"""Which shared source key each registration's hospitals use, checked on every hospital request.

Linkage across hospitals works only when every hospital of a registration
makes its source digests with the same source key. Each request carries the
key's version and check value (:mod:`aanlevering.pseudonym.key_check`). The
reference TTP knows the right value from its config
(``registrations[].source_key_checks``) or, for versions not configured,
learns it from the first hospital that uses it and keeps it in
``source-key-checks.json`` next to the config, so a restart keeps it. A
different value is refused with an error naming the key (decision 0224), and
so is a version older than the newest configured one (decision 1029).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from aanlevering.counterparts.ttp.config import Registration, TTPConfig
from aanlevering.counterparts.ttp.models import SourceKeyCheckBody
from aanlevering.counterparts.ttp.refusal import Refusal

log = logging.getLogger(__name__)
STATE_NAME = "source-key-checks.json"


class SourceKeyChecks:
    """Configured and learned check values per (registration, source key version)."""

    def __init__(self, config: TTPConfig, state_file: Path | None = None) -> None:
        self._config = config
        self._path = state_file or config.path.parent / STATE_NAME
        self._lock = threading.Lock()
        self._learned: dict[str, dict[str, dict[str, str]]] = {}
        if self._path.is_file():
            self._learned = json.loads(self._path.read_text(encoding="utf-8"))

    def check(self, registration: Registration, key: SourceKeyCheckBody, hospital: str) -> None:
        """Refusal 409 naming the key when ``key`` differs from the known value.

        A version older than the newest the configuration names is refused
        too: the TTP hands out the current key, and digests under a key it has
        replaced (perhaps because it leaked) link with nobody's (decision 1029).
        """
        newer = [version for version in registration.source_key_checks if version > key.version]
        if newer:
            raise Refusal(
                409,
                "source_key_superseded",
                f"source key {registration.id!r} version {key.version} of this hospital is "
                f"superseded: the TTP's configuration names version {max(newer)}, and digests "
                "under an older key would link with nobody's. Import the registration's current "
                "shared source key with `aanlevering keys import`.",
                registration=registration.id,
            )
        configured = registration.source_key_checks.get(key.version)
        if configured is not None:
            self._compare(registration.id, key, configured, "the TTP's configuration")
            return
        with self._lock:
            known = self._learned.get(registration.id, {}).get(str(key.version))
            if known is None:
                entry = {"check_value": key.check_value, "first_hospital": hospital}
                self._learned.setdefault(registration.id, {})[str(key.version)] = entry
                self._save()
                log.info(
                    "learned the check value of source key %s v%d from %s",
                    registration.id,
                    key.version,
                    hospital,
                )
                return
        source = f"the first hospital that used it ({known['first_hospital']})"
        self._compare(registration.id, key, known["check_value"], source)

    @staticmethod
    def _compare(registration: str, key: SourceKeyCheckBody, expected: str, source: str) -> None:
        if key.check_value != expected:
            raise Refusal(
                409,
                "source_key_mismatch",
                f"source key {registration!r} version {key.version} of this hospital has check "
                f"value {key.check_value}, but the TTP knows {expected} for that key (from "
                f"{source}): this hospital's digests would never link with the others'. Import "
                f"the registration's shared source key with `aanlevering keys import`.",
                registration=registration,
            )

    def _save(self) -> None:
        temporary = self._path.with_name(f".{self._path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(self._learned, handle, indent=2, sort_keys=True)
        temporary.replace(self._path)
