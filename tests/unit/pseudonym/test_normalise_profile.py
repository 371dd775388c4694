"""The profile port: lookup by version, a TTP's rules swapped in, batches, private results."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.errors import ConfigError, PseudonymisationError
from aanlevering.pseudonym.identifiers import PersonIdentifiers
from aanlevering.pseudonym.normalise import (
    NL_PROFILE_2026_1,
    CanonicalColumns,
    DutchProfile,
    NormalisationProfile,
    NormalisedPerson,
    available_profiles,
    clear_caches,
    get_profile,
    register_profile,
    registry,
)
from aanlevering.pseudonym.normalise.base import ColumnsInput
from aanlevering.pseudonym_types import PseudonymType as T

JAN = PersonIdentifiers(
    bsn="111222333",
    mrn="0012345",
    own_prefix="van der",
    own_name="Zwaluw",
    initials="J.",
    birth_date="31-01-1980",
    sex="M",
    postcode="1012 NX",
    house_number="12",
)


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test disappear after it."""
    monkeypatch.setattr(registry, "_PROFILES", dict(registry._PROFILES))


def test_default_profile_is_registered_under_its_version() -> None:
    assert get_profile() is NL_PROFILE_2026_1
    assert get_profile("nl-2026.1") is NL_PROFILE_2026_1
    assert "nl-2026.1" in available_profiles()
    assert isinstance(NL_PROFILE_2026_1, NormalisationProfile)
    assert NL_PROFILE_2026_1.types == frozenset(T)


def test_unknown_profile_is_a_config_error_naming_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown normalisation profile 'ttp-9'.*nl-2026\.1"):
        get_profile("ttp-9")


@pytest.mark.usefixtures("isolated_registry")
def test_one_version_means_one_set_of_rules() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_profile(DutchProfile(version="nl-2026.1"))
    with pytest.raises(ConfigError, match="must be lower-case"):
        register_profile(DutchProfile(version="NL|2026"))
    with pytest.raises(ConfigError, match="not a NormalisationProfile"):
        register_profile(object())  # type: ignore[arg-type]


@dataclass(frozen=True)
class InitialsFirstProfile:
    """A stand-in for a TTP's rules: NGG with the given names' initial in front, no padding."""

    version: str = "ttp-test.1"
    types: frozenset[T] = frozenset({T.NGG})

    def normalise(self, person: PersonIdentifiers, types: Iterable[T | str]) -> NormalisedPerson:
        ours = NL_PROFILE_2026_1.normalise(person, [T.NGG, T.NGGV])
        name, birth, sex, initial = ours.canonical[T.NGGV].split("|")
        return NormalisedPerson(self.version, {T.NGG: f"{initial}{name.rstrip('#')}:{birth}{sex}"})

    def normalise_columns(
        self, columns: ColumnsInput, types: Iterable[T | str]
    ) -> CanonicalColumns:
        raise NotImplementedError


@pytest.mark.usefixtures("isolated_registry")
def test_another_profile_replaces_ours_by_version_string_only() -> None:
    register_profile(InitialsFirstProfile())
    profile = get_profile("ttp-test.1")
    assert profile.normalise(JAN, ["NGG"]).canonical == {T.NGG: "JZWALUW:19800131M"}
    assert get_profile("nl-2026.1").normalise(JAN, ["NGG"]).canonical == {
        T.NGG: "ZWALUW##|19800131|M"
    }


@pytest.mark.usefixtures("isolated_registry")
def test_profile_from_an_installed_package_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TTP profile shipped as its own package is found with no change to this code base."""
    (tmp_path / "ttp_profile_demo.py").write_text(
        textwrap.dedent(
            """
            from aanlevering.pseudonym.normalise import DutchProfile

            PROFILE = DutchProfile(version="ttp-demo.2027")
            """
        ),
        "utf-8",
    )
    dist_info = tmp_path / "ttp_profile_demo-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ttp-profile-demo\nVersion: 1.0\n", "utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[aanlevering.normalisation_profiles]\nttp-demo.2027 = ttp_profile_demo:PROFILE\n",
        "utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "ttp-demo.2027" not in available_profiles()

    profile = get_profile("ttp-demo.2027")

    assert profile.version == "ttp-demo.2027"
    assert "ttp-demo.2027" in available_profiles()
    assert profile.normalise(JAN, ["GG"]).canonical == {T.GG: "19800131|M"}


def test_requested_types_are_checked() -> None:
    with pytest.raises(ConfigError, match="unknown pseudonym type 'XYZ'"):
        NL_PROFILE_2026_1.normalise(JAN, ["XYZ"])
    limited = DutchProfile(version="nl-limited", types=frozenset({T.GG}))
    with pytest.raises(ConfigError, match="cannot make type NGG"):
        limited.normalise(JAN, [T.NGG])


def test_repeated_types_are_made_once_in_request_order() -> None:
    result = NL_PROFILE_2026_1.normalise(JAN, ["GG", T.NGG, "GG"])
    assert list(result.canonical) == [T.GG, T.NGG]


def test_batch_accepts_typed_arrow_columns() -> None:
    table = pa.table(
        {
            "own_name": pa.array(["Zwaluw", None, "Bos"]),
            "initials": pa.array(["J.", "K.", "k"]),
            "birth_date": pa.array([date(1980, 1, 31), date(1990, 5, 5), None], pa.date32()),
            "sex": pa.array(["M", "V", "1"]),
            "house_number": pa.array([12, 7, None], pa.int64()),
            "postcode": pa.array(["1012 NX", "3511AB", "1234 ab"]),
            "clinical_value": pa.array([1, 2, 3]),  # other columns of the table are ignored
        }
    )
    batch = NL_PROFILE_2026_1.normalise_columns(table, ["NGG", "A"])
    assert batch.values[T.NGG] == ["ZWALUW##|19800131|M", None, None]
    assert batch.values[T.A] == ["1012NX|12|", "3511AB|7|", None]
    assert [(f.row, f.type, f.field) for f in batch.failures] == [
        (1, T.NGG, "own_name"),
        (2, T.NGG, "birth_date"),
        (2, T.A, "house_number"),
    ]
    assert batch.failed_rows() == {1, 2}
    assert batch.failed_rows(T.A) == {2}


def test_batch_column_mistakes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"unknown identity column.*postcod"):
        NL_PROFILE_2026_1.normalise_columns({"postcod": ["1012NX"]}, ["RGG"])
    with pytest.raises(ConfigError, match="differ in length"):
        NL_PROFILE_2026_1.normalise_columns({"postcode": ["1012NX"], "sex": []}, ["RGG"])
    with pytest.raises(ConfigError, match="pyarrow Table or a mapping"):
        NL_PROFILE_2026_1.normalise_columns([["1012NX"]], ["RGG"])  # type: ignore[arg-type]


def test_empty_batch() -> None:
    batch = NL_PROFILE_2026_1.normalise_columns({}, ["GG"])
    assert batch.num_rows == 0
    assert batch.values == {T.GG: []}


def test_failure_messages_name_file_row_column_and_type_but_no_values() -> None:
    columns = {
        "bsn": ["111222333", "123456789"],
        "birth_date": ["1980-01-31", "30-02-1975"],
        "sex": ["M", "V"],
        "postcode": ["1012 NX", "1012 SS"],
    }
    batch = NL_PROFILE_2026_1.normalise_columns(columns, ["B", "C"])
    messages = [
        f.describe(
            "dsaa_operaties_2026.csv",
            first_row=2,
            column_names={"bsn": "BSN", "birth_date": "GEBOORTEDATUM"},
        )
        for f in batch.failures
    ]
    assert messages[0] == (
        "dsaa_operaties_2026.csv, row 3, column BSN: fails the elfproef (11-test), so it is "
        "not a valid BSN (needed for pseudonym type B)"
    )
    assert any("column GEBOORTEDATUM: not a real calendar date" in m for m in messages)
    assert any("column postcode: not a Dutch postcode" in m for m in messages)
    with pytest.raises(PseudonymisationError) as raised:
        batch.raise_for_failures("dsaa_operaties_2026.csv", first_row=2, limit=1)
    text = str(raised.value)
    assert "3 normalisation failure(s) in 1 row(s)" in text
    assert "... and 2 more" in text
    for value in ("123456789", "30-02-1975", "19750230", "1012 SS", "1012SS"):
        assert value not in text
        assert all(value not in m for m in messages)
    NL_PROFILE_2026_1.normalise_columns(
        {"sex": ["M"], "birth_date": ["1980-01-31"]}, ["GG"]
    ).raise_for_failures()


def test_reprs_never_show_identifiers() -> None:
    single = NL_PROFILE_2026_1.normalise(JAN, list(T))
    batch = NL_PROFILE_2026_1.normalise_columns({"own_name": ["Zwaluw"], "sex": ["M"]}, ["NGG"])
    texts = [repr(JAN), str(JAN), repr(single), repr(batch), repr(single.canonical.keys())]
    for text in texts:
        for value in ("111222333", "0012345", "Zwaluw", "ZWALUW", "1980", "1012", "van der"):
            assert value not in text, text
    assert repr(JAN) == (
        "PersonIdentifiers(<present: bsn, mrn, own_prefix, own_name, initials, birth_date, "
        "sex, postcode, house_number>)"
    )
    assert "made=[A, B, C, GG, MRN, NGG, NGGV, RGG, sNGG, sNGGV]" in repr(single)


def test_person_from_mapping_ignores_other_columns() -> None:
    person = PersonIdentifiers.from_mapping({"own_name": "Bos", "diagnosis": "x", "sex": "V"})
    assert person == PersonIdentifiers(own_name="Bos", sex="V")


def test_birth_name_never_uses_partner_name() -> None:
    married = PersonIdentifiers(
        own_name="Zwaluw",
        partner_prefix="de",
        partner_name="Vries",
        initials="A",
        birth_date="1980-01-31",
        sex="V",
    )
    without_partner = PersonIdentifiers(
        own_name="Zwaluw", initials="A", birth_date="1980-01-31", sex="V"
    )
    types = [T.NGGV, T.SNGGV, T.NGG, T.SNGG]
    assert (
        NL_PROFILE_2026_1.normalise(married, types).canonical
        == NL_PROFILE_2026_1.normalise(without_partner, types).canonical
    )
    only_partner = PersonIdentifiers(
        partner_name="Vries", initials="A", birth_date="1980-01-31", sex="V"
    )
    result = NL_PROFILE_2026_1.normalise(only_partner, types)
    assert result.canonical == {}
    assert {f.field for f in result.failures} == {"own_name"}


def test_clear_caches_forgets_identifiers_but_not_results() -> None:
    from aanlevering.pseudonym.normalise.names import birth_name_letters

    before = NL_PROFILE_2026_1.normalise(JAN, ["NGG"]).canonical
    assert birth_name_letters.cache_info().currsize > 0
    clear_caches()
    assert birth_name_letters.cache_info().currsize == 0
    assert NL_PROFILE_2026_1.normalise(JAN, ["NGG"]).canonical == before
