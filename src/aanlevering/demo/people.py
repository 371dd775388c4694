"""Demo patients of one chunk: identity columns as a Dutch EHR holds them.

Columnwise on purpose: numpy draws every attribute for the whole chunk at
once and only the final string assembly is a Python loop, which keeps a
million patients within seconds. Sex and age come from the registration's
clinical model (aneurysm patients are old men, breast cancer patients women),
everything else from the embedded lists in :mod:`aanlevering.demo.names`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aanlevering.demo import ids, names

SEX_CODES = ("M", "V", "O")

#: nl-core naamgebruik: own name, partner name, partner-own, own-partner.
NAME_USAGES = ("NL1", "NL2", "NL3", "NL4")

_REFERENCE_DAY = np.datetime64("2026-07-01")
_LATEST_BIRTH = np.datetime64("2025-09-01")


@dataclass(frozen=True)
class IdParameters:
    """Seed-derived constants of the identifier permutations of one run."""

    bsn_multiplier: int
    bsn_offset: int
    mrn_multiplier: int
    mrn_offset: int

    @classmethod
    def from_seed(cls, seed: int) -> IdParameters:
        """Derive the permutation constants from the run's seed only."""
        rng = np.random.default_rng([seed, 0x1D5])
        return cls(
            bsn_multiplier=ids.coprime_multiplier(ids.BSN_SPACE, int(rng.integers(1 << 40))),
            bsn_offset=int(rng.integers(ids.BSN_SPACE)),
            mrn_multiplier=ids.coprime_multiplier(ids.MRN_SPACE, int(rng.integers(1 << 40))),
            mrn_offset=int(rng.integers(ids.MRN_SPACE)),
        )


ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class People:
    """Identity of the patients of one chunk; every array has one entry per patient.

    String columns are numpy object arrays so a dataset's rows can pick their
    patient's values by fancy indexing. ``given_names`` are space separated.
    """

    mrn: ObjectArray
    fhir_id: ObjectArray
    bsn: ObjectArray
    bsn_valid: npt.NDArray[np.bool_]
    sex: npt.NDArray[np.int8]
    birth_date: npt.NDArray[np.datetime64]
    own_prefix: ObjectArray
    own_name: ObjectArray
    partner_prefix: ObjectArray
    partner_name: ObjectArray
    name_usage: ObjectArray
    name_in_use: ObjectArray
    given_names: ObjectArray
    call_name: ObjectArray
    initials: ObjectArray
    initials_only: npt.NDArray[np.bool_]
    street: ObjectArray
    house_number: ObjectArray
    house_number_addition: ObjectArray
    postcode: ObjectArray
    city: ObjectArray

    def __len__(self) -> int:
        return len(self.mrn)


def _weights(values: tuple[int, ...]) -> npt.NDArray[np.float64]:
    w = np.asarray(values, dtype=np.float64)
    result: npt.NDArray[np.float64] = w / w.sum()
    return result


def join_name(prefix: str, name: str) -> str:
    """'van der' + 'Giessen' -> 'van der Giessen'; "d'" + 'Ancona' -> "d'Ancona"."""
    if not prefix:
        return name
    if prefix.endswith("'") and not prefix.startswith("'"):
        return prefix + name
    return f"{prefix} {name}"


def initial(name: str) -> str:
    """'Johannes' -> 'J.'; the Dutch digraph IJ stays together ('IJsbrand' -> 'IJ.')."""
    return "IJ." if name.startswith("IJ") else f"{name[0]}."


def _table(values: list[str] | tuple[str, ...]) -> ObjectArray:
    return np.asarray(list(values), dtype=object)


_SURNAME_P = _weights(tuple(w for _, _, w in names.SURNAMES))
_PLACE_P = _weights(tuple(w for *_, w in names.PLACES))
_ADDITION_P = _weights(tuple(w for _, w in names.HOUSE_NUMBER_ADDITIONS))
_PREFIX = _table([p for p, _, _ in names.SURNAMES])
_SURNAME = _table([n for _, n, _ in names.SURNAMES])
_FULL = _table([join_name(p, n) for p, n, _ in names.SURNAMES])
_MALE = _table([o for o, _ in names.MALE_GIVEN])
_MALE_CALL = _table([c for _, c in names.MALE_GIVEN])
_FEMALE = _table([o for o, _ in names.FEMALE_GIVEN])
_FEMALE_CALL = _table([c for _, c in names.FEMALE_GIVEN])
_MID_MALE = _table(names.MIDDLE_MALE)
_MID_FEMALE = _table(names.MIDDLE_FEMALE)
_INITIAL = {name: initial(name) for name in (*_MALE, *_FEMALE, *_MID_MALE, *_MID_FEMALE)}
_LETTERS = _table(list(names.POSTCODE_LETTERS))
_PLACE = _table([p for p, *_ in names.PLACES])
_PLACE_LO = np.array([lo for _, lo, _, _ in names.PLACES], dtype=np.int64)
_PLACE_HI = np.array([hi for _, _, hi, _ in names.PLACES], dtype=np.int64)
_STREET = _table(names.STREETS)
_ADDITION = _table([a for a, _ in names.HOUSE_NUMBER_ADDITIONS])
_USAGE = _table(list(NAME_USAGES))


def _initials_of(names_array: ObjectArray) -> ObjectArray:
    table = _INITIAL
    return np.asarray([table[n] for n in names_array.tolist()], dtype=object)


def make_people(
    rng: np.random.Generator,
    global_index: npt.NDArray[np.int64],
    sex: npt.NDArray[np.int8],
    age_years: npt.NDArray[np.float64],
    params: IdParameters,
) -> People:
    """Draw the identity of ``len(global_index)`` patients.

    ``global_index`` numbers every patient of the run uniquely; BSN and MRN
    are bijections of it, so they never repeat across chunks or registrations.
    """
    n = len(global_index)
    bsn_num = ids.valid_bsn(
        ids.affine_permutation(
            global_index, ids.BSN_SPACE, params.bsn_multiplier, params.bsn_offset
        )
    )
    bsn_valid = rng.random(n) >= 0.01
    bsn_num = np.where(bsn_valid, bsn_num, ids.break_elfproef(bsn_num))
    mrn_num = 10_000_000 + ids.affine_permutation(
        global_index, ids.MRN_SPACE, params.mrn_multiplier, params.mrn_offset
    )
    uuid_words = rng.integers(0, np.iinfo(np.int64).max, size=(2, n), dtype=np.int64)
    fhir_id = ids.format_uuid(uuid_words[0].astype(np.uint64), uuid_words[1].astype(np.uint64))

    day_count = np.rint(age_years * 365.25).astype(np.int64) + rng.integers(0, 365, n)
    # nobody is born after the earliest care event (October 2025)
    birth_date = np.minimum(_REFERENCE_DAY - day_count.astype("timedelta64[D]"), _LATEST_BIRTH)

    own = rng.choice(len(names.SURNAMES), size=n, p=_SURNAME_P)
    partner = rng.choice(len(names.SURNAMES), size=n, p=_SURNAME_P)
    female = sex == 1
    has_partner = (age_years >= 23) & (rng.random(n) < np.where(female, 0.6, 0.5))
    usage_draw = rng.random(n)
    usage = np.where(
        female,
        np.select([usage_draw < 0.45, usage_draw < 0.60, usage_draw < 0.90], [0, 1, 2], 3),
        np.select([usage_draw < 0.95, usage_draw < 0.97], [0, 1], 3),
    )
    usage = np.where(has_partner, usage, 0)
    own_full = _FULL[own]
    partner_full = np.where(has_partner, _FULL[partner], "")
    name_in_use = np.select(
        [usage == 1, usage == 2, usage == 3],
        [partner_full, partner_full + "-" + own_full, own_full + "-" + partner_full],
        own_full,
    )

    # O (unknown/other) draws from either list
    male = (sex == 0) | ((sex == 2) & (rng.random(n) < 0.5))
    first_m = rng.integers(0, len(_MALE), n)
    first_f = rng.integers(0, len(_FEMALE), n)
    official = np.where(male, _MALE[first_m], _FEMALE[first_f])
    call_name = np.where(male, _MALE_CALL[first_m], _FEMALE_CALL[first_f])
    n_given = rng.choice(3, size=n, p=[0.4, 0.4, 0.2]) + 1
    middle = rng.integers(0, len(_MID_MALE), size=(2, n))
    second = np.where(male, _MID_MALE[middle[0]], _MID_FEMALE[middle[0]])
    third = np.where(male, _MID_MALE[middle[1]], _MID_FEMALE[middle[1]])
    has_second = (n_given >= 2) & (second != official)
    has_third = (n_given >= 3) & (third != official) & (third != second)
    given_names = (
        official + np.where(has_second, " " + second, "") + np.where(has_third, " " + third, "")
    )
    initials = (
        _initials_of(official)
        + np.where(has_second, _initials_of(second), "")
        + np.where(has_third, _initials_of(third), "")
    )
    initials_only = rng.random(n) < 0.3

    place = rng.choice(len(names.PLACES), size=n, p=_PLACE_P)
    lo, hi = _PLACE_LO[place], _PLACE_HI[place]
    pc4 = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    letters = rng.integers(0, len(_LETTERS), size=(2, n))
    pair = _LETTERS[letters[0]] + _LETTERS[letters[1]]
    forbidden = np.isin(pair.astype(str), sorted(names.FORBIDDEN_POSTCODE_PAIRS))
    pair = np.where(forbidden, _LETTERS[letters[0]] + "T", pair)
    style = rng.random(n)
    pc4_text = pc4.astype(str).astype(object)
    postcode = np.select(
        [style < 0.80, style < 0.95],
        [pc4_text + " " + pair, pc4_text + pair],
        pc4_text + np.asarray([p.lower() for p in pair.tolist()], dtype=object),
    )
    house = 1 + np.minimum(rng.exponential(35.0, n).astype(np.int64), 349)
    addition = rng.choice(len(names.HOUSE_NUMBER_ADDITIONS), size=n, p=_ADDITION_P)
    street = rng.integers(0, len(_STREET), n)

    return People(
        mrn=mrn_num.astype(str).astype(object),
        fhir_id=np.asarray(fhir_id, dtype=object),
        bsn=np.char.zfill(bsn_num.astype(str), 9).astype(object),
        bsn_valid=bsn_valid,
        sex=sex.astype(np.int8),
        birth_date=birth_date,
        own_prefix=_PREFIX[own],
        own_name=_SURNAME[own],
        partner_prefix=np.where(has_partner, _PREFIX[partner], ""),
        partner_name=np.where(has_partner, _SURNAME[partner], ""),
        name_usage=_USAGE[usage],
        name_in_use=name_in_use,
        given_names=given_names,
        call_name=call_name,
        initials=initials,
        initials_only=initials_only,
        street=_STREET[street],
        house_number=house.astype(str).astype(object),
        house_number_addition=_ADDITION[addition],
        postcode=postcode,
        city=_PLACE[place],
    )
