"""The pseudonym types of the central pseudonymisation service (DOMAIN.md).

A registration's approval lists which of these it may receive; most may not
receive ``B`` (pseudonymised BSN).

A leaf module without project imports: the catalogue (approvals), FHIR,
output and the TTP all name these types, and the ``pseudonym`` package itself
depends on the catalogue, so the types cannot live inside it without a cycle
(tests/unit/test_layers.py).
"""

from __future__ import annotations

from enum import StrEnum


class PseudonymType(StrEnum):
    """Pseudonym type codes as the TTP and registry holders name them."""

    B = "B"  # BSN
    NGGV = "NGGV"  # birth name (8 letters), birth date, sex, first initial
    SNGGV = "sNGGV"  # birth name (4 letters), birth date, sex, first initial
    NGG = "NGG"  # birth name (8 letters), birth date, sex
    SNGG = "sNGG"  # birth name (4 letters), birth date, sex
    C = "C"  # postcode (6 positions), birth date, sex
    RGG = "RGG"  # postcode (4 digits), birth date, sex
    GG = "GG"  # birth date, sex
    A = "A"  # postcode, house number, house number addition
    MRN = "MRN"  # local patient number, reversible only by the providing hospital


#: Types whose input is the birth name: these must use the own (birth) name,
#: never the name in use.
BIRTH_NAME_TYPES = frozenset(
    {PseudonymType.NGGV, PseudonymType.SNGGV, PseudonymType.NGG, PseudonymType.SNGG}
)

#: The BSN's FHIR identifier system (Nictiz); one spelling for every reader and check.
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
