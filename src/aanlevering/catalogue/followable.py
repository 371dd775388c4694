"""Which records of a registration a run cannot follow across periods, known before any run.

A run looks its records up in the other periods by their key (decision 0465).
A key variable the dictionary does not require lets a record through with an
empty key: it is delivered, but no other period can be checked for it (the
run counts it as ``not_followable``, decision 0495). ``registrations check``
says so beforehand, as a warning: the dictionary is the registry holder's, and
an optional key is its choice, not an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import get_args

from aanlevering.catalogue.model import ProviderType, RegistrationConfig

#: The provider types a dictionary can make a variable required for.
PROVIDER_TYPES: tuple[str, ...] = get_args(ProviderType)


def optional_key_warnings(config: RegistrationConfig) -> Iterator[str]:
    """One line per key variable some provider type may leave empty (counts nothing, names none)."""
    for dataset in config.dictionary.datasets:
        variables = {v.name: v for v in dataset.variables}
        for key in dataset.key:
            variable = variables.get(key)
            if variable is None:
                continue  # an unknown key variable is a catalogue problem of its own
            optional = [t for t in PROVIDER_TYPES if not variable.is_required_for(t)]
            if optional:
                yield (
                    f"{config.id} {dataset.name}: key variable {key} is not required for "
                    f"{', '.join(optional)} providers; their records with an empty {key} are "
                    "delivered but cannot be followed across periods (counted as "
                    "not_followable in the run's accounting, decision 0495)"
                )
