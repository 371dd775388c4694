"""Whether a delivery's pseudonyms are of the key versions its manifest says (decision 1061).

The manifest's ``key_versions`` says, per pseudonym type, the newest key
version the delivery's pseudonyms of that type carry (the product writes the
newest it used, ``aanlevering.pipeline.operations``; the TTP in local mode
the one it pseudonymised with). A pseudonym's value says its own version
(``<type>:v<n>:…``, ``T1:<type>:v<n>:…``), and so do a CSV's
``pseudoniem_<type>_sleutelversie`` column and an identifier's key-version
extension. A run during a key rotation's transition may carry two versions
of one type (decision 0041): older ones than the manifest's are taken; a
newer one, one of a type the manifest names no version for, or a manifest
version newer than every pseudonym of its type, is a manifest that does not
describe its pseudonyms. Problems name type and version numbers only, never a value.
"""

from __future__ import annotations

import re

from aanlevering.deliver.manifest import Manifest

_VERSION = re.compile(r"(?:T\d+:)?[A-Za-z]{1,8}:v([1-9][0-9]{0,8}):")


def version_of(value: str) -> int | None:
    """The key version a pseudonym's value is written with, None for no pseudonym."""
    match = _VERSION.match(value)
    return int(match.group(1)) if match else None


class KeyVersions:
    """The key versions one delivery's pseudonyms carry, held against its manifest."""

    def __init__(self, manifest: Manifest) -> None:
        self.declared = dict(manifest.key_versions)
        self.types = tuple(manifest.pseudonym_types)
        self.delivery = manifest.kind == "delivery"
        self.newest: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"KeyVersions(declared={self.declared!r}, newest={self.newest!r})"

    def value_problem(self, code: str, value: str) -> str | None:
        """Why a ``code`` pseudonym ``value`` is of a version the manifest does not say, or
        None; every version seen is noted for :meth:`problems`."""
        version = version_of(value)
        if version is None or code not in self.types:
            return None  # no pseudonym, or of no type listed: their own refusals (1009, 1033)
        self.newest[code] = max(version, self.newest.get(code, 0))
        declared = self.declared.get(code)
        if declared is None:
            return (
                f"of key version {version}, and the manifest's key_versions names no {code} version"
            )
        if version > declared:
            return (
                f"of key version {version}, newer than the {declared} the manifest's "
                f"key_versions says for {code} (the newest its {code} pseudonyms carry)"
            )
        return None

    def manifest_problems(self) -> list[str]:
        """``key_versions`` names the manifest's pseudonym types only, each by a version."""
        problems = [
            f"key_versions names {_shown(code)}, a type pseudonym_types does not list"
            for code in self.declared
            if code not in self.types
        ]
        problems += [
            f"key_versions says {version} for {_shown(code)}: key versions are numbered from 1"
            for code, version in self.declared.items()
            if version < 1
        ]
        return problems

    def problems(self, all_read: bool) -> list[str]:
        """A declared version newer than every pseudonym of its type carries; only when every
        file was read (one not read may hold it, decision 0970).

        A declared type without any pseudonym is not refused here: a CSV without the
        pseudonym columns has its own refusal (decision 1006), and one without them
        said twice helps nobody.
        """
        if not (all_read and self.delivery):
            return []
        return [
            f"key_versions says {declared} for {code}, and the newest {code} pseudonym of the "
            f"delivery is of key version {newest}"
            for code, declared in self.declared.items()
            if (newest := self.newest.get(code)) is not None and newest < declared
        ]


def _shown(code: str) -> str:
    """A type as a manifest wrote it, cut: it may hold anything (decision 1039's rule)."""
    return repr(code[:40])
