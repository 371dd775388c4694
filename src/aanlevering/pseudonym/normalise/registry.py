"""Find a normalisation profile by the version string a registration config names.

Built-in profiles are registered here; other profiles (a TTP's official
rules, say) come in either by :func:`register_profile` or, without touching
this code base at all, as a package that declares an entry point in the
group ``aanlevering.normalisation_profiles`` whose name is the version
string and whose object is the profile (or a callable returning it).
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import entry_points

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.normalise.base import NormalisationProfile
from aanlevering.pseudonym.normalise.profile import NL_PROFILE_2026_1

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "aanlevering.normalisation_profiles"
DEFAULT_VERSION = NL_PROFILE_2026_1.version

#: Version strings go in front of every hashed input, separated by "|": keep
#: them short and free of separators.
_VERSION = re.compile(r"[a-z0-9][a-z0-9.\-]{0,63}")

_PROFILES: dict[str, NormalisationProfile] = {}


def register_profile(profile: NormalisationProfile, *, replace: bool = False) -> None:
    """Make ``profile`` available under its version string.

    Registering a different profile under a version that is taken is a
    :class:`ConfigError` unless ``replace``: one version must always mean one
    set of rules, or old pseudonyms stop matching new ones unnoticed.
    """
    if not isinstance(profile, NormalisationProfile):
        raise ConfigError(f"{type(profile).__name__} is not a NormalisationProfile")
    version = profile.version
    if not _VERSION.fullmatch(version):
        raise ConfigError(
            f"normalisation profile version {version!r} must be lower-case letters, digits, "
            "'.' and '-' (at most 64)"
        )
    existing = _PROFILES.get(version)
    if existing is not None and existing is not profile and not replace:
        raise ConfigError(f"normalisation profile {version} is already registered")
    _PROFILES[version] = profile
    log.debug("normalisation profile %s registered", version)


def _from_entry_points(version: str) -> NormalisationProfile | None:
    for entry_point in entry_points(group=ENTRY_POINT_GROUP, name=version):
        loaded = entry_point.load()
        profile = loaded if isinstance(loaded, NormalisationProfile) else loaded()
        if not isinstance(profile, NormalisationProfile) or profile.version != version:
            raise ConfigError(
                f"entry point {entry_point.value} for normalisation profile {version} "
                "does not give a profile of that version"
            )
        register_profile(profile)
        log.info("normalisation profile %s loaded from %s", version, entry_point.value)
        return profile
    return None


def get_profile(version: str = DEFAULT_VERSION) -> NormalisationProfile:
    """The profile registered under ``version``; :class:`ConfigError` if none is."""
    profile = _PROFILES.get(version) or _from_entry_points(version)
    if profile is None:
        known = ", ".join(available_profiles())
        raise ConfigError(f"unknown normalisation profile {version!r}; known: {known}")
    return profile


def available_profiles() -> tuple[str, ...]:
    """Versions registered so far (entry-point profiles appear once loaded)."""
    return tuple(sorted(_PROFILES))


register_profile(NL_PROFILE_2026_1)
