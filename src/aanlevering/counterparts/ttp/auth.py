"""Who is calling: API keys per organisation, and what each role may do.

Keys are random 32-byte tokens handed to clients out of band; the config keeps
only their SHA-256 (decision 0042: a slow password hash buys nothing for
high-entropy keys). The presented key is hashed and compared with every
configured hash in constant time, so timing tells nothing about which
organisation (if any) nearly matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

from aanlevering.counterparts.ttp.config import Organisation, Role
from aanlevering.counterparts.ttp.refusal import Refusal


def new_api_key() -> str:
    """A fresh client API key (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """The hex SHA-256 that a config stores instead of the key."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class Authenticator:
    """Maps a presented API key to its organisation."""

    def __init__(self, organisations: Mapping[str, Organisation]) -> None:
        self._organisations = tuple(organisations.values())

    def authenticate(self, api_key: str | None, subject: str | None = None) -> Organisation:
        """The calling organisation; Refusal 401 for a missing or unknown key.

        Without an API key, a verified client certificate whose subject an
        organisation names (``certificate_subject``) identifies the caller;
        with both, they must name the same organisation.
        """
        if not api_key and subject is not None:
            by_subject = [o for o in self._organisations if o.certificate_subject == subject]
            if len(by_subject) == 1:
                return by_subject[0]
        if not api_key:
            raise Refusal(
                401,
                "unauthenticated",
                "missing API key (Authorization: Bearer <key>) or known client certificate",
            )
        presented = hash_api_key(api_key).encode("ascii")
        found: Organisation | None = None
        for organisation in self._organisations:
            if hmac.compare_digest(presented, organisation.api_key_sha256.encode("ascii")):
                found = organisation
        if found is None:
            raise Refusal(401, "unauthenticated", "unknown API key")
        if subject is not None:
            self._check_same_party(found, subject)
        return found

    def _check_same_party(self, keyed: Organisation, subject: str) -> None:
        """Refusal 401 when the client certificate belongs to another party than the key.

        Why: a verified certificate is a credential too. A request with one
        organisation's API key over a connection whose certificate another
        organisation (or, for an organisation bound to its own certificate,
        anybody else) holds is somebody using a key that is not theirs
        (decision 1027). Like any unknown credential, it is a plain 401: the
        answer tells a caller nothing about whose key or certificate it holds.
        """
        owners = [o for o in self._organisations if o.certificate_subject == subject]
        bound = keyed.certificate_subject is not None and keyed.certificate_subject != subject
        if bound or (owners and keyed not in owners):
            raise Refusal(
                401,
                "unauthenticated",
                "the API key and the client certificate are not of one organisation: a "
                "request carries the credentials of one party",
            )


def require_role(organisation: Organisation, roles: Iterable[Role], action: str) -> None:
    """Refusal 403 unless the organisation has one of the roles."""
    allowed = tuple(roles)
    if organisation.role not in allowed:
        raise Refusal(
            403,
            "role_not_allowed",
            f"organisation {organisation.id!r} has role {organisation.role}; "
            f"{action} needs role {' or '.join(allowed)}",
        )


def require_registration(organisation: Organisation, registration: str) -> None:
    """Refusal 403 unless the hospital is configured to deliver to ``registration``.

    Why: a hospital key must not get pseudonyms (or deliver) for
    registrations it has no part in (decision 0223).
    """
    if registration not in organisation.registrations:
        raise Refusal(
            403,
            "registration_not_allowed",
            f"organisation {organisation.id!r} is not configured to deliver to registration "
            f"{registration!r}",
            registration=registration,
        )
