"""Each field rule of profile nl-2026.1 on its own, including the error paths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from aanlevering.periods import run_day
from aanlevering.pseudonym.normalise import failures as reasons
from aanlevering.pseudonym.normalise.address import normalise_house_number
from aanlevering.pseudonym.normalise.bsn import normalise_bsn, passes_elfproef
from aanlevering.pseudonym.normalise.dates import normalise_birth_date
from aanlevering.pseudonym.normalise.failures import FieldInvalid
from aanlevering.pseudonym.normalise.mrn import normalise_mrn
from aanlevering.pseudonym.normalise.names import birth_name_letters, first_initial, fit
from aanlevering.pseudonym.normalise.postcode import normalise_pc4, normalise_pc6
from aanlevering.pseudonym.normalise.sex import normalise_sex


def _fails(fn: Callable[[object], object], value: object) -> FieldInvalid:
    """Call ``fn`` expecting a FieldInvalid that does not carry the value anywhere."""
    with pytest.raises(FieldInvalid) as raised:
        fn(value)
    error = raised.value
    assert error.reason in reasons.ALL_REASONS
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    text = str(value).strip()
    if len(text) >= 3:
        assert text not in str(error) and text not in repr(error)
    return error


# --- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own_name", "letters"),
    [
        ("Jansen", "JANSEN"),
        ("  jansen ", "JANSEN"),
        ("van den Berg", "BERG"),
        ("Van Den Berg", "BERG"),
        ("Berg, van den", "BERG"),
        ("Berg,van den", "BERG"),
        ("in 't Veld", "VELD"),
        ("Veld, in \u2019t", "VELD"),
        ("d'Ancona", "ANCONA"),
        ("D\u2019Ancona", "ANCONA"),
        ("de la Fuente", "FUENTE"),
        ("Smit-Jansen", "SMITJANSEN"),
        ("Smit\u2013Jansen", "SMITJANSEN"),
        ("van Putten-van der Giessen", "PUTTENVANDERGIESSEN"),
        ("IJzerman", "IJZERMAN"),
        ("Ijzerman", "IJZERMAN"),
        ("IJZERMAN", "IJZERMAN"),
        ("ĳzerman", "IJZERMAN"),
        ("Dijkstra", "DIJKSTRA"),
        ("Dykstra", "DYKSTRA"),
        ("Müller", "MULLER"),
        ("Muller", "MULLER"),
        ("Çelik", "CELIK"),
        ("Øberg", "OBERG"),
        ("Strauß", "STRAUSS"),
        ("Ærø", "AERO"),
        ("Łukasz", "LUKASZ"),
        ("Nguyễn", "NGUYEN"),
        ("O'Brien", "OBRIEN"),
        ("St. Jago", "STJAGO"),
        ("De", "DE"),
        ("van De", "DE"),
    ],
)
def test_birth_name_letters(own_name: str, letters: str) -> None:
    assert birth_name_letters(own_name) == letters


def test_fit_pads_with_hash_and_cuts() -> None:
    assert fit("BOS", 8) == "BOS#####"
    assert fit("BOS", 4) == "BOS#"
    assert fit("SMITJANSEN", 8) == "SMITJANS"
    assert fit("SMITJANSEN", 4) == "SMIT"


@pytest.mark.parametrize(
    ("own_name", "reason"),
    [
        ("Jansen3", reasons.NAME_CHARACTERS),
        ("Jan(sen)", reasons.NAME_CHARACTERS),
        ("Иванов", reasons.NAME_NON_LATIN),
        ("Jansen, Jan", reasons.NAME_INVERTED_FORM),
        ("-'.", reasons.NAME_NO_LETTERS),
        ("   ", reasons.MISSING),
        (None, reasons.MISSING),
    ],
)
def test_birth_name_errors(own_name: object, reason: str) -> None:
    assert _fails(birth_name_letters, own_name).reason == reason


@pytest.mark.parametrize(
    ("text", "initial"),
    [
        ("J.P.", "J"),
        ("Jan Peter", "J"),
        ("j p", "J"),
        ("Ülrich", "U"),
        ("ü.", "U"),
        ("IJ.", "I"),
        ("IJsbrand", "I"),
        ("Th.", "T"),
        (" .Anna", "A"),
        ("Øyvind", "O"),
    ],
)
def test_first_initial(text: str, initial: str) -> None:
    assert first_initial(text) == initial


def test_first_initial_errors() -> None:
    assert _fails(first_initial, "1.").reason == reasons.INITIAL_NO_LETTER
    assert _fails(first_initial, "Ωmega").reason == reasons.INITIAL_NO_LETTER
    assert _fails(first_initial, " . ").reason == reasons.MISSING


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1980-01-31",
        " 1980-01-31 ",
        "1980-01-31T00:00:00",
        "1980-01-31 00:00",
        "31-01-1980",
        "31/01/1980",
        "31.01.1980",
        "31-1-1980",
        "19800131",
        19800131,
        date(1980, 1, 31),
        datetime(1980, 1, 31),
    ],
)
def test_birth_date_formats(value: object) -> None:
    assert normalise_birth_date(value) == "19800131"


def test_slash_dates_are_day_first() -> None:
    assert normalise_birth_date("02/03/1980") == "19800302"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("31-02-1980", reasons.DATE_IMPOSSIBLE),
        ("1981-02-29", reasons.DATE_IMPOSSIBLE),
        ("12/31/1980", reasons.DATE_IMPOSSIBLE),
        ("1980-13-01", reasons.DATE_IMPOSSIBLE),
        ("00-00-1980", reasons.DATE_INCOMPLETE),
        ("00-01-1980", reasons.DATE_INCOMPLETE),
        ("1980-00-00", reasons.DATE_INCOMPLETE),
        ("1980", reasons.DATE_INCOMPLETE),
        ("1980-01", reasons.DATE_INCOMPLETE),
        ("31011980", reasons.DATE_IMPOSSIBLE),
        ("1889-12-31", reasons.DATE_TOO_EARLY),
        ("1980-01-31T13:45:00", reasons.DATE_HAS_TIME),
        (datetime(1980, 1, 31, 13, 45), reasons.DATE_HAS_TIME),
        ("31 januari 1980", reasons.DATE_FORMAT),
        ("31-01/1980", reasons.DATE_FORMAT),
        (3.5, reasons.DATE_FORMAT),
        ("", reasons.MISSING),
        (None, reasons.MISSING),
    ],
)
def test_birth_date_errors(value: object, reason: str) -> None:
    assert _fails(normalise_birth_date, value).reason == reason


def test_birth_date_in_the_future_is_an_error_and_today_is_not() -> None:
    today = run_day()  # Amsterdam's today, as the check uses (UTC's is a day behind at night)
    assert normalise_birth_date(today) == today.strftime("%Y%m%d")
    tomorrow = today + timedelta(days=1)
    assert _fails(normalise_birth_date, tomorrow.isoformat()).reason == reasons.DATE_FUTURE


# --- sex -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "canonical"),
    [
        (["M", "m", " man ", "Male", "mannelijk", "1", 1], "M"),
        (["V", "F", "f", "vrouw", "Female", "vrouwelijk", "2", 2], "F"),
        (["O", "U", "UN", "UNK", "unknown", "other", "onbekend", "X", "0", "9", 0], "U"),
    ],
)
def test_sex_code_sets_map_to_one_canonical_set(codes: list[object], canonical: str) -> None:
    assert {normalise_sex(code) for code in codes} == {canonical}


@pytest.mark.parametrize(
    ("value", "reason"), [("Q", reasons.SEX_CODE), ("", reasons.MISSING), (True, reasons.SEX_CODE)]
)
def test_sex_errors(value: object, reason: str) -> None:
    assert _fails(normalise_sex, value).reason == reason


# --- postcode --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["1012 NX", "1012NX", "1012nx", "1012-NX", " 1012 nx ", "1012\tNx"]
)
def test_postcode_spellings(value: str) -> None:
    assert normalise_pc6(value) == "1012NX"
    assert normalise_pc4(value) == "1012"


def test_pc4_from_four_digits() -> None:
    assert normalise_pc4("1012") == "1012"
    assert normalise_pc4(1012) == "1012"
    assert _fails(normalise_pc6, "1012").reason == reasons.POSTCODE_PC4_ONLY


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0123 AB", reasons.POSTCODE_FORMAT),
        ("1012 SA", reasons.POSTCODE_LETTERS),
        ("1012 sd", reasons.POSTCODE_LETTERS),
        ("1012 SS", reasons.POSTCODE_LETTERS),
        ("101 NX", reasons.POSTCODE_FORMAT),
        ("1012 N", reasons.POSTCODE_FORMAT),
        ("B-1000", reasons.POSTCODE_FORMAT),
        ("SW1A 1AA", reasons.POSTCODE_FORMAT),
        ("1012 ÑX", reasons.POSTCODE_FORMAT),
        ("", reasons.MISSING),
    ],
)
def test_postcode_errors(value: str, reason: str) -> None:
    assert _fails(normalise_pc6, value).reason == reason
    assert _fails(normalise_pc4, value).reason == reason


# --- address ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "addition", "canonical"),
    [
        ("12", None, ("12", "")),
        (12, "", ("12", "")),
        (12.0, None, ("12", "")),
        ("0012", "a", ("12", "A")),
        ("12", " A ", ("12", "A")),
        ("12a", None, ("12", "A")),
        ("12 A", "", ("12", "A")),
        ("12-a", None, ("12", "A")),
        ("12", "-a", ("12", "A")),
        ("12", "2 hg", ("12", "2HG")),
        ("12", "bis", ("12", "BIS")),
        ("12", "t/o", ("12", "TO")),
        ("12", 3, ("12", "3")),
        ("99999", None, ("99999", "")),
    ],
)
def test_house_number_and_addition(
    number: object, addition: object, canonical: tuple[str, str]
) -> None:
    assert normalise_house_number(number, addition) == canonical


@pytest.mark.parametrize(
    ("number", "addition", "field", "reason"),
    [
        ("0", None, "house_number", reasons.HOUSE_NUMBER_FORMAT),
        (0, None, "house_number", reasons.HOUSE_NUMBER_FORMAT),
        ("100000", None, "house_number", reasons.HOUSE_NUMBER_FORMAT),
        ("a12", None, "house_number", reasons.HOUSE_NUMBER_FORMAT),
        (12.5, None, "house_number", reasons.HOUSE_NUMBER_FORMAT),
        ("12a", "b", "house_number", reasons.HOUSE_NUMBER_TWO_ADDITIONS),
        ("12", "bovenwoning", "house_number_addition", reasons.ADDITION_FORMAT),
        ("12", "a#", "house_number_addition", reasons.ADDITION_FORMAT),
        ("12 (achter)", None, "house_number", reasons.ADDITION_FORMAT),
        ("", None, "house_number", reasons.MISSING),
        (None, "A", "house_number", reasons.MISSING),
    ],
)
def test_house_number_errors(number: object, addition: object, field: str, reason: str) -> None:
    with pytest.raises(FieldInvalid) as raised:
        normalise_house_number(number, addition)
    assert (raised.value.field, raised.value.reason) == (field, reason)
    assert raised.value.__cause__ is None


# --- BSN -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("111222333", "111222333"),
        (" 111 222 333 ", "111222333"),
        ("1112.22.333", "111222333"),
        ("111-222-333", "111222333"),
        ("12345672", "012345672"),
        (12345672, "012345672"),
        (111222333, "111222333"),
    ],
)
def test_bsn(value: object, canonical: str) -> None:
    assert normalise_bsn(value) == canonical


def test_elfproef() -> None:
    assert passes_elfproef("111222333")
    assert passes_elfproef("123456782")
    assert not passes_elfproef("123456789")
    assert not passes_elfproef("111222334")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("123456789", reasons.BSN_ELFPROEF),
        (123456789, reasons.BSN_ELFPROEF),
        ("1234567", reasons.BSN_LENGTH),
        ("1234567890", reasons.BSN_LENGTH),
        (10**9, reasons.BSN_LENGTH),
        (12, reasons.BSN_LENGTH),
        ("12", reasons.BSN_LENGTH),
        ("11122233X", reasons.BSN_CHARACTERS),
        ("١١١٢٢٢٣٣٣", reasons.BSN_CHARACTERS),
        ("000000000", reasons.BSN_ZERO),
        ("", reasons.MISSING),
        (None, reasons.MISSING),
    ],
)
def test_bsn_errors(value: object, reason: str) -> None:
    assert _fails(normalise_bsn, value).reason == reason


# --- MRN -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("0012345", "0012345"),
        (" 0012345\n", "0012345"),
        ("ab-12/3.x_y", "AB-12/3.X_Y"),
        (12345, "12345"),
    ],
)
def test_mrn_keeps_leading_zeros_and_upper_cases(value: object, canonical: str) -> None:
    assert normalise_mrn(value) == canonical


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("AB 123", reasons.MRN_CHARACTERS),
        ("AB|123", reasons.MRN_CHARACTERS),
        ("ÅB123", reasons.MRN_CHARACTERS),
        ("X" * 65, reasons.MRN_LENGTH),
        (" ", reasons.MISSING),
    ],
)
def test_mrn_errors(value: object, reason: str) -> None:
    assert _fails(normalise_mrn, value).reason == reason
