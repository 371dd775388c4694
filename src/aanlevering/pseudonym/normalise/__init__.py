"""Normalisation profiles: source identifiers to canonical pseudonym inputs.

Use :func:`get_profile` with the version string of the registration config
(``pseudonymisation.profile``, default ``nl-2026.1``) and call
``normalise`` (one person) or ``normalise_columns`` (a batch). One module per
field concern (names, dates, sex, postcode, address, BSN, MRN); the rules are
explained in docs/normalisation.md.
"""

from __future__ import annotations

from aanlevering.pseudonym.normalise.base import (
    CanonicalColumns,
    NormalisationProfile,
    NormalisedPerson,
)
from aanlevering.pseudonym.normalise.failures import FieldInvalid, NormalisationFailure
from aanlevering.pseudonym.normalise.profile import NL_PROFILE_2026_1, DutchProfile, clear_caches
from aanlevering.pseudonym.normalise.registry import (
    DEFAULT_VERSION,
    available_profiles,
    get_profile,
    register_profile,
)

__all__ = [
    "DEFAULT_VERSION",
    "NL_PROFILE_2026_1",
    "CanonicalColumns",
    "DutchProfile",
    "FieldInvalid",
    "NormalisationFailure",
    "NormalisationProfile",
    "NormalisedPerson",
    "available_profiles",
    "clear_caches",
    "get_profile",
    "register_profile",
]
