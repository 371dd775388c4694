"""Demo people: valid and invalid BSNs, unique identifiers, Dutch names, postcodes, cp1252."""

from __future__ import annotations

import re

import numpy as np
import pytest

from aanlevering.demo import ids, names
from aanlevering.demo.people import IdParameters, join_name, make_people

PARAMS = IdParameters.from_seed(7)
POSTCODE = re.compile(r"^([1-9][0-9]{3}) ?([A-Za-z]{2})$")


def people(n: int, start: int = 0, seed: int = 1, female: bool = False):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    sex = np.full(n, 1 if female else 0, dtype=np.int8)
    age = rng.uniform(20, 90, n)
    return make_people(rng, np.arange(start, start + n, dtype=np.int64), sex, age, PARAMS)


def test_known_bsn_vectors_pass_and_fail_the_elfproef() -> None:
    assert ids.is_valid_bsn("111222333")
    assert ids.is_valid_bsn("123456782")
    assert not ids.is_valid_bsn("123456789")
    assert not ids.is_valid_bsn("000000000")
    assert not ids.is_valid_bsn("12345678A")


def test_valid_bsn_enumeration_is_unique_and_every_number_passes() -> None:
    k = np.arange(0, 50_000, dtype=np.int64)
    bsns = ids.valid_bsn(k)
    assert len(np.unique(bsns)) == len(k)
    assert all(ids.is_valid_bsn(f"{b:09d}") for b in bsns.tolist())
    assert bsns.min() >= 100_000_000  # nine digits, no leading zero
    broken = ids.break_elfproef(bsns)
    assert not any(ids.is_valid_bsn(f"{b:09d}") for b in broken.tolist())


def test_affine_permutation_is_a_bijection() -> None:
    space = 10_000
    mapped = ids.affine_permutation(np.arange(space, dtype=np.int64), space, 7_919, 123)
    assert sorted(mapped.tolist()) == list(range(space))
    with pytest.raises(ValueError, match="coprime"):
        ids.affine_permutation(np.arange(3, dtype=np.int64), 10, 5, 0)


def test_about_one_percent_of_bsns_fail_the_elfproef() -> None:
    crowd = people(20_000)
    valid = [ids.is_valid_bsn(b) for b in crowd.bsn.tolist()]
    assert valid == crowd.bsn_valid.tolist()
    invalid = valid.count(False)
    assert 120 <= invalid <= 290, invalid  # 1% of 20,000, with binomial slack


def test_bsn_and_mrn_never_repeat_across_chunks() -> None:
    first, second = people(5_000, start=0, seed=1), people(5_000, start=5_000, seed=2)
    bsns = [*first.bsn.tolist(), *second.bsn.tolist()]
    mrns = [*first.mrn.tolist(), *second.mrn.tolist()]
    assert len(set(bsns)) == len(bsns)
    assert len(set(mrns)) == len(mrns)
    assert all(len(m) == 8 and m.isdigit() for m in mrns)


def test_postcodes_are_realistic() -> None:
    crowd = people(5_000)
    spaced = 0
    for postcode in crowd.postcode.tolist():
        match = POSTCODE.match(postcode)
        assert match, postcode
        assert match.group(2).upper() not in names.FORBIDDEN_POSTCODE_PAIRS
        assert not set(match.group(2).upper()) & set("FIOQUY")
        spaced += " " in postcode
    assert 0.7 < spaced / 5_000 < 0.9  # mostly "1012 NX", some "1012NX" / "1012nx"


def test_postcode_area_matches_the_place() -> None:
    ranges = {place: (lo, hi) for place, lo, hi, _ in names.PLACES}
    crowd = people(2_000)
    for postcode, city in zip(crowd.postcode.tolist(), crowd.city.tolist(), strict=True):
        lo, hi = ranges[city]
        assert lo <= int(postcode[:4]) <= hi


def test_names_have_tussenvoegsels_diacritics_and_partner_names() -> None:
    crowd = people(20_000, female=True)
    prefixes = set(crowd.own_prefix.tolist())
    assert {"van", "van der", "de", "'t", "van den", "ter"} <= prefixes
    own = set(crowd.own_name.tolist())
    assert {"Çelik", "Özdemir", "Müller"} & own
    assert any(not n.isascii() for n in own)
    usages = crowd.name_usage.tolist()
    in_use = crowd.name_in_use.tolist()
    for i, usage in enumerate(usages):
        own_full = join_name(crowd.own_prefix[i], crowd.own_name[i])
        partner_full = join_name(crowd.partner_prefix[i], crowd.partner_name[i])
        expected = {
            "NL1": own_full,
            "NL2": partner_full,
            "NL3": f"{partner_full}-{own_full}",
            "NL4": f"{own_full}-{partner_full}",
        }[usage]
        assert in_use[i] == expected
    assert any("-" in name and " " in name for name in in_use)  # e.g. van Putten-van der Giessen


def test_join_name_follows_dutch_spelling() -> None:
    assert join_name("van der", "Giessen") == "van der Giessen"
    assert join_name("", "Jansen") == "Jansen"
    assert join_name("'t", "Hart") == "'t Hart"
    assert join_name("d'", "Ancona") == "d'Ancona"


def test_initials_follow_the_given_names() -> None:
    crowd = people(1_000)
    for given, initials in zip(crowd.given_names.tolist(), crowd.initials.tolist(), strict=True):
        assert initials == "".join(f"{part[0]}." for part in given.split(" "))


def test_every_embedded_string_survives_cp1252() -> None:
    strings = [p for p, n, _ in names.SURNAMES] + [n for _, n, _ in names.SURNAMES]
    strings += [n for pair in (*names.MALE_GIVEN, *names.FEMALE_GIVEN) for n in pair]
    strings += [*names.MIDDLE_MALE, *names.MIDDLE_FEMALE, *names.STREETS]
    strings += [p for p, *_ in names.PLACES] + [a for a, _ in names.HOUSE_NUMBER_ADDITIONS]
    for text in strings:
        assert text.encode("cp1252").decode("cp1252") == text
