"""CSV exports become typed, period-restricted Arrow tables; bad input stops the run precisely."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from extract_fixtures import (
    DSAA_COMPLICATIE_COLUMNS,
    DSAA_OPERATIE_COLUMNS,
    IDENTIFYING,
    PERSON_A,
    PERSON_B,
    PERSON_C,
    csv_text,
    dsaa_export,
    operatie,
    write_csv,
)

from aanlevering.catalogue import RegistrationConfig
from aanlevering.catalogue.model import IDENTITY_FIELDS, CsvDatasetSource
from aanlevering.errors import ExtractError
from aanlevering.extract import (
    ExtractOptions,
    detect_source_kind,
    extract,
    extract_csv,
)
from aanlevering.extract.model import ARROW_TYPES
from aanlevering.periods import Period

YEAR = Period.parse("2026")


def _no_identifiers(text: str) -> None:
    leaked = [value for value in IDENTIFYING if value in text]
    assert not leaked, f"identity values in output: {leaked}"


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("cp1252", ";"), ("utf-8-sig", ","), ("utf-8", "\t")]
)
def test_dsaa_in_every_encoding_gives_the_same_typed_tables(
    tmp_path: Path, dsaa: RegistrationConfig, encoding: str, delimiter: str
) -> None:
    folder = dsaa_export(tmp_path / encoding, encoding=encoding, delimiter=delimiter)
    result = extract(dsaa, folder, YEAR)

    assert result.source_kind == "csv" and result.period == YEAR
    operaties = result.datasets["operatie"]
    dictionary = dsaa.dictionary.dataset("operatie")
    assert operaties.clinical.schema.names == list(dictionary.variable_names)
    for variable in dictionary.variables:
        assert operaties.clinical.schema.field(variable.name).type == ARROW_TYPES[variable.type]
    rows = operaties.clinical.to_pylist()
    assert [r["operatie_id"] for r in rows] == ["OK-1", "OK-2"]
    first, second = rows
    assert first["datum_operatie"] == date(2026, 2, 3) and first["datum_ontslag"] == date(
        2026, 2, 10
    )
    assert first["geboortejaar"] == 1950 and second["geboortejaar"] == 1944
    assert first["bmi"] == pytest.approx(25.4) and second["bmi"] == 31.0
    assert first["overleden_30d"] is False and second["overleden_30d"] is True
    assert second["datum_overlijden"] == date(2026, 5, 20) and second["techniek"] == "OPEN"
    assert first["diameter_aneurysma"] == 55 and first["geslacht"] == "V"
    assert operaties.row_refs.to_pylist() == [
        "dsaa_operaties_2026.csv:2",
        "dsaa_operaties_2026.csv:3",
    ]
    assert operaties.type_problems == ()
    assert operaties.source_files == ("dsaa_operaties_2026.csv",)

    identity = operaties.identity
    assert identity.schema.names == list(IDENTITY_FIELDS)
    assert all(t == pa.string() for t in identity.schema.types)
    person = identity.to_pylist()[0]
    assert person["own_name"] == "Bruïne" and person["partner_name"] == "Çelik"
    assert person["bsn"] == "999911120" and person["birth_date"] == "02-03-1950"
    assert person["given_names"] is None  # not mapped in this export
    assert identity.to_pylist()[1]["own_prefix"] is None  # empty cell

    # the clinical side never carries identity values
    _no_identifiers(str(operaties.clinical.to_pylist()))
    _no_identifiers(str(result.datasets["complicatie"].clinical.to_pylist()))


def test_year_quarter_and_month_select_on_the_period_variable(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path)
    selections = {
        "2026": ["OK-1", "OK-2"],
        "2026-Q1": ["OK-1"],
        "2026-Q2": ["OK-2"],
        "2025-Q4": ["OK-3"],
        "2026-02": ["OK-1"],
        "2026-03": [],
    }
    for label, expected in selections.items():
        result = extract_csv(dsaa, folder, Period.parse(label))
        operaties = result.datasets["operatie"]
        assert operaties.clinical.column("operatie_id").to_pylist() == expected, label
        assert operaties.rows_outside_period == 3 - len(expected), label


def test_period_bounds_are_half_open(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    rows = [
        operatie("OK-A", PERSON_A, "01-04-2026"),
        operatie("OK-B", PERSON_B, "31-03-2026"),
        operatie("OK-C", PERSON_C, "2026-06-30"),
    ]
    write_csv(tmp_path / "dsaa_operaties.csv", DSAA_OPERATIE_COLUMNS, rows)
    write_csv(tmp_path / "dsaa_complicaties.csv", DSAA_COMPLICATIE_COLUMNS, [])
    q2 = extract_csv(dsaa, tmp_path, Period.parse("2026-Q2")).datasets["operatie"]
    assert q2.clinical.column("operatie_id").to_pylist() == ["OK-A", "OK-C"]


def test_related_records_follow_their_parent_and_orphans_are_listed(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path)
    with (folder / "dsaa_complicaties_2026.csv").open("a", encoding="utf-8") as handle:
        handle.write("C-9;OK-404;ZH-100234;01-03-2026;NIER;1;nee\n")  # its operation is unknown

    q1 = extract_csv(dsaa, folder, Period.parse("2026-Q1"))
    complicaties = q1.datasets["complicatie"]
    assert complicaties.clinical.column("complicatie_id").to_pylist() == ["C-1"]
    assert complicaties.orphan_row_refs == ("dsaa_complicaties_2026.csv:5",)
    assert complicaties.rows_outside_period == 2  # C-2 (Q4 2025) and C-3 (Q2 2026)
    assert q1.rows_outside_period == 2 + 2
    # before or after the period by the parent's date (decision 0466); orphans are neither
    assert complicaties.rows_before_period == 1  # C-2
    assert q1.datasets["operatie"].rows_before_period == 1
    assert q1.rows_before_period == 1 + 1

    q4 = extract_csv(dsaa, folder, Period.parse("2025-Q4")).datasets["complicatie"]
    assert q4.clinical.column("complicatie_id").to_pylist() == ["C-2"]
    assert q4.clinical.to_pylist()[0]["reinterventie"] is False
    assert q4.identity.column("patient_id").to_pylist() == ["ZH-100999"]


def test_ldtr_month_with_datetimes_and_pc4(tmp_path: Path, ldtr: RegistrationConfig) -> None:
    columns = list(ldtr.csv_source.datasets["trauma"].columns) + [  # type: ignore[union-attr]
        c
        for c in ldtr.csv_source.datasets["trauma"].identity
        if c != "GESLACHT"  # type: ignore[union-attr]
    ]
    base = {"MECHANISME": "VK-FIETS", "VERVOER": "AMB", "EMV_TOTAAL": "14", "RR_SYST": "125",
            "AF": "18", "ISS": "9", "IC_OPNAME": "0", "ONTSLAGBESTEMMING": "HUIS"}  # fmt: skip
    rows = [
        {**base, **PERSON_A, "TRAUMA_ID": "T-1", "DATUM_ONGEVAL": "14-03-2026",
         "AANKOMST_SEH": "14-03-2026 22:05", "ONTSLAGDATUM": "20-03-2026"},
        {**base, **PERSON_B, "TRAUMA_ID": "T-2", "DATUM_ONGEVAL": "2026-04-02",
         "AANKOMST_SEH": "2026-04-02T07:40", "ONTSLAGDATUM": "09-04-2026", "IC_OPNAME": "1"},
    ]  # fmt: skip
    write_csv(tmp_path / "ltr_trauma_2026.csv", columns, rows, encoding="cp1252")
    march = extract_csv(ldtr, tmp_path, Period.parse("2026-03")).datasets["trauma"]
    april = extract_csv(ldtr, tmp_path, Period.parse("2026-04")).datasets["trauma"]
    assert march.clinical.column("trauma_id").to_pylist() == ["T-1"]
    assert str(march.clinical.column("aankomst_seh")[0]) == "2026-03-14 22:05:00"
    assert march.clinical.column("pc4_woonplaats").to_pylist() == ["1012"]
    assert april.clinical.column("pc4_woonplaats").to_pylist() == ["9711"]
    assert april.clinical.column("ic_opname").to_pylist() == [True]


def test_nkr_year(tmp_path: Path, nkr: RegistrationConfig) -> None:
    source = nkr.csv_source.datasets["tumor"]  # type: ignore[union-attr]
    columns = list(dict.fromkeys([*source.columns, *source.identity]))
    row = {**PERSON_A, "TUMOR_ID": "TU-1", "INCIDENTIEDATUM": "02-04-2026", "TOPOGRAFIE": "C50.4",
           "LATERALITEIT": "L", "MORFOLOGIE": "8500/3", "GRADERING": "2", "CT": "T2", "CN": "N0",
           "CM": "M0", "ER": "POS", "PR": "NEG", "HER2": "NEG", "TUMORGROOTTE_MM": "18",
           "OPERATIE": "BSO", "OPERATIEDATUM": "01-05-2026", "NEOADJUVANT": "nee"}  # fmt: skip
    old = {**row, "TUMOR_ID": "TU-0", "INCIDENTIEDATUM": "30-12-2025"}
    write_csv(tmp_path / "nkr_tumoren.csv", columns, [row, old])
    result = extract_csv(nkr, tmp_path, YEAR).datasets["tumor"]
    assert result.clinical.column("tumor_id").to_pylist() == ["TU-1"]
    assert result.clinical.column("tumorgrootte_mm").to_pylist() == [18]
    assert result.rows_outside_period == 1


def test_unparseable_values_become_nulls_with_type_problems_without_values(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    bad = operatie("OK-4", {**PERSON_B, "GEBOORTEDATUM": "30-02-1944"}, "10-03-2026",
                   DIAMETER_MM="vijftig", BMI="25.4", OVERLEDEN_30D="misschien",
                   ONTSLAGDATUM="2026/03/20")  # fmt: skip
    folder = dsaa_export(tmp_path, extra_operaties=[bad])
    operaties = extract_csv(dsaa, folder, YEAR).datasets["operatie"]
    row = operaties.clinical.to_pylist()[-1]
    assert row["operatie_id"] == "OK-4"
    assert row["diameter_aneurysma"] is None and row["bmi"] is None
    assert row["overleden_30d"] is None and row["datum_ontslag"] is None
    assert row["geboortejaar"] is None
    problems = {(p.row_ref, p.variable) for p in operaties.type_problems}
    ref = "dsaa_operaties_2026.csv:5"
    assert problems == {
        (ref, "geboortejaar"),
        (ref, "datum_ontslag"),
        (ref, "diameter_aneurysma"),
        (ref, "bmi"),
        (ref, "overleden_30d"),
    }
    expected = {p.variable: p.expected for p in operaties.type_problems}
    assert expected["datum_ontslag"] == "date as %d-%m-%Y or %Y-%m-%d"
    assert expected["bmi"] == "decimal number with comma"
    assert "30-02-1944" not in repr(operaties.type_problems)
    _no_identifiers(repr(operaties.type_problems))


def test_row_refs_count_lines_of_values_with_newlines_and_blank_lines(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    rows = [
        operatie("OK-1", {**PERSON_A, "VOORLETTERS": "J.\nP."}, "03-02-2026"),
        operatie("OK-2", PERSON_B, "04-02-2026"),
    ]
    text = csv_text(DSAA_OPERATIE_COLUMNS, rows)
    (tmp_path / "dsaa_operaties.csv").write_text(text, encoding="utf-8")
    write_csv(tmp_path / "dsaa_complicaties.csv", DSAA_COMPLICATIE_COLUMNS, [])
    refs = extract_csv(dsaa, tmp_path, YEAR).datasets["operatie"].row_refs.to_pylist()
    assert refs == ["dsaa_operaties.csv:2", "dsaa_operaties.csv:4"]

    lines = text.split("\n")
    with_blank = "\n".join([lines[0], "", *lines[1:3], "", "", *lines[3:]])
    (tmp_path / "dsaa_operaties.csv").write_text(with_blank, encoding="utf-8")
    refs = extract_csv(dsaa, tmp_path, YEAR).datasets["operatie"].row_refs.to_pylist()
    assert refs == ["dsaa_operaties.csv:3", "dsaa_operaties.csv:7"]


def test_several_files_per_dataset_are_read_in_name_order(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    write_csv(tmp_path / "dsaa_operaties_2026_b.csv", DSAA_OPERATIE_COLUMNS,
              [operatie("OK-2", PERSON_B, "04-05-2026")])  # fmt: skip
    write_csv(tmp_path / "dsaa_operaties_2026_a.csv", DSAA_OPERATIE_COLUMNS,
              [operatie("OK-1", PERSON_A, "03-02-2026")], encoding="cp1252")  # fmt: skip
    write_csv(tmp_path / "dsaa_complicaties.csv", DSAA_COMPLICATIE_COLUMNS, [])
    operaties = extract_csv(dsaa, tmp_path, YEAR).datasets["operatie"]
    assert operaties.row_refs.to_pylist() == [
        "dsaa_operaties_2026_a.csv:2",
        "dsaa_operaties_2026_b.csv:2",
    ]
    assert operaties.source_files == ("dsaa_operaties_2026_a.csv", "dsaa_operaties_2026_b.csv")


def test_small_read_blocks_give_the_same_extract_as_one_block(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    extra = [
        operatie(f"OK-{n}", PERSON_C, f"{1 + n % 28:02d}-0{1 + n % 9}-2026")
        for n in range(10, 2010)
    ]
    folder = dsaa_export(tmp_path, extra_operaties=extra)
    with (folder / "dsaa_complicaties_2026.csv").open("a", encoding="utf-8") as handle:
        handle.writelines(
            f"C-{n};OK-{n};ZH-100999;01-10-2026;NIER;1;nee\n" for n in range(10, 2010, 7)
        )
    period = Period.parse("2026-Q2")
    whole = extract_csv(dsaa, folder, period)
    blocks = extract_csv(dsaa, folder, period, ExtractOptions(block_size=16 << 10))
    assert whole.datasets["operatie"].clinical.num_rows > 500
    for name in ("operatie", "complicatie"):
        one, many = whole.datasets[name], blocks.datasets[name]
        assert many.clinical.equals(one.clinical), name
        assert many.row_refs.to_pylist() == one.row_refs.to_pylist()
        assert many.rows_outside_period == one.rows_outside_period > 0
        assert list(many.orphan_row_refs) == list(one.orphan_row_refs)


# --- bad input: ExtractError (exit code 2) naming file, row and column; never identity values


def _error(
    config: RegistrationConfig, folder: Path, period: Period = YEAR, **options: object
) -> str:
    with pytest.raises(ExtractError) as raised:
        extract(config, folder, period, ExtractOptions(**options))  # type: ignore[arg-type]
    assert raised.value.exit_code == 2
    message = str(raised.value)
    _no_identifiers(message)
    return message


def test_a_missing_dataset_file_names_the_glob_and_folder(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path)
    (folder / "dsaa_complicaties_2026.csv").unlink()
    message = _error(dsaa, folder)
    assert "'dsaa_complicaties*.csv'" in message and str(folder) in message
    assert "complicatie" in message


def test_missing_and_unknown_columns_are_both_listed(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    columns = [c for c in DSAA_OPERATIE_COLUMNS if c not in {"ASA", "BMI"}] + ["ROOKSTATUS"]
    write_csv(tmp_path / "dsaa_operaties.csv", columns, [operatie("OK-1", PERSON_A, "03-02-2026")])
    write_csv(tmp_path / "dsaa_complicaties.csv", DSAA_COMPLICATIE_COLUMNS, [])
    message = _error(dsaa, tmp_path)
    assert "dsaa_operaties.csv" in message
    assert "missing column(s): ASA, BMI" in message and "unknown column(s): ROOKSTATUS" in message


def test_unknown_columns_can_be_allowed_explicitly(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    columns = [*DSAA_OPERATIE_COLUMNS, "ROOKSTATUS"]
    write_csv(tmp_path / "dsaa_operaties.csv", columns,
              [operatie("OK-1", PERSON_A, "03-02-2026", ROOKSTATUS="nooit")])  # fmt: skip
    write_csv(tmp_path / "dsaa_complicaties.csv", DSAA_COMPLICATIE_COLUMNS, [])
    assert "missing column(s): none; unknown column(s): ROOKSTATUS" in _error(dsaa, tmp_path)
    result = extract(dsaa, tmp_path, YEAR, ExtractOptions(allow_unknown_columns=True))
    assert result.datasets["operatie"].num_rows == 1
    assert "ROOKSTATUS" not in result.datasets["operatie"].clinical.schema.names


def test_a_wrong_delimiter_gets_a_hint(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    config = dataclasses.replace(
        dsaa,
        csv_source=dataclasses.replace(dsaa.csv_source, delimiter=","),  # type: ignore[type-var]
    )
    message = _error(config, dsaa_export(tmp_path))
    assert "is source.csv.delimiter right?" in message


def test_a_record_with_too_few_fields_names_the_line(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path)
    path = folder / "dsaa_operaties_2026.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit(";", 3)[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _error(dsaa, folder)
    assert "dsaa_operaties_2026.csv: line 3: expected 25 fields, found 22" in message


def test_an_unbalanced_quote_names_the_line(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    folder = dsaa_export(tmp_path)
    path = folder / "dsaa_operaties_2026.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("Kuipers", '"Kuipers')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _error(dsaa, folder)
    assert "dsaa_operaties_2026.csv" in message and "unbalanced quote" in message


def test_unreadable_bytes_name_file_offset_and_line(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path)
    path = folder / "dsaa_complicaties_2026.csv"
    path.write_bytes(path.read_bytes() + b"C-4;OK-1;ZH-1;01-03-2026;\x81\x8d;1;nee\n")
    message = _error(dsaa, folder)
    assert "dsaa_complicaties_2026.csv" in message and "line 5" in message and "offset" in message


def test_unparseable_period_dates_name_file_rows_and_column(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    extra = [
        operatie("OK-4", PERSON_A, "32-01-2026"),
        operatie("OK-5", PERSON_B, ""),
    ]
    message = _error(dsaa, dsaa_export(tmp_path, extra_operaties=extra))
    assert "2 record(s)" in message
    assert "operatie.datum_operatie (column OPERATIEDATUM of dsaa_operaties_2026.csv)" in message
    assert "32-01-2026" not in message  # a date is described, never quoted (0733)
    assert (
        "dsaa_operaties_2026.csv:5 (written as 'dd-dd-dddd', not a day on the calendar; "
        "value not shown)" in message
    )
    assert "dsaa_operaties_2026.csv:6 (empty)" in message


def test_a_shifted_bsn_or_name_in_the_period_date_is_never_echoed(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    # a row whose columns shifted puts the BSN, a patient number or a name where the date was
    extra = [
        operatie("OK-4", PERSON_A, "999911120"),
        operatie("OK-5", PERSON_A, "ZH-100234"),
        operatie("OK-6", PERSON_A, "Bruïne"),
        operatie("OK-7", PERSON_A, "31-02-2026"),
    ]
    message = _error(dsaa, dsaa_export(tmp_path, extra_operaties=extra))
    assert "4 record(s)" in message
    for value in ("999911120", "100234", "Bruïne"):
        assert value not in message
    assert "dsaa_operaties_2026.csv:5 (value not shown)" in message
    assert "31-02-2026" not in message  # a date is described, never quoted (0733)
    assert "dsaa_operaties_2026.csv:8 (written as 'dd-dd-dddd', not a day" in message


@pytest.mark.parametrize(
    "written",
    [
        "9999.11.120",  # the BSN as it is printed on documents (4.2.3)
        "999 911 120",
        "999-91-1120",
        "06-1234 5678",  # a phone number
    ],
)
def test_an_identifier_with_separators_in_the_period_date_is_never_echoed(
    tmp_path: Path, dsaa: RegistrationConfig, written: str
) -> None:
    # digits and date separators alone do not make a date: only a date's shape is shown
    extra = [operatie("OK-4", PERSON_A, written)]
    message = _error(dsaa, dsaa_export(tmp_path, extra_operaties=extra))
    assert written not in message
    assert "dsaa_operaties_2026.csv:5 (value not shown)" in message


@pytest.mark.parametrize(
    ("written", "described"),
    [
        ("31-02-2026", "written as 'dd-dd-dddd', not a day on the calendar"),
        ("2026-13-01", "written as 'dddd-dd-dd', not a day on the calendar"),
        ("31.02.2026", "written as 'dd.dd.dddd', not a day on the calendar"),
        ("2026-02-31T10:00", "written as 'dddd-dd-ddTdd:dd', not a day on the calendar"),
        ("2026-02", "written as 'dddd-dd'"),
        ("1-2-26 25:00", "written as 'd-d-dd dd:dd'"),
        ("03/09/1954", "written as 'dd/dd/dddd'"),  # another person's birth date, say
    ],
)
def test_a_date_shaped_period_date_is_described_never_quoted(
    tmp_path: Path, dsaa: RegistrationConfig, written: str, described: str
) -> None:
    """The shape says which format the export wrote; the value may be a birth date (0733)."""
    extra = [operatie("OK-4", PERSON_A, written)]
    message = _error(dsaa, dsaa_export(tmp_path, extra_operaties=extra))
    assert f"dsaa_operaties_2026.csv:5 ({described}" in message
    assert written not in message


def test_a_period_date_from_an_identity_column_is_never_echoed(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    source = dsaa.csv_source
    assert source is not None
    operaties = source.datasets["operatie"]
    columns = {k: v for k, v in operaties.columns.items() if k != "OPERATIEDATUM"}
    columns["GEBOORTEDATUM"] = "datum_operatie"  # a (silly) mapping that reuses an identity column
    config = dataclasses.replace(
        dsaa,
        csv_source=dataclasses.replace(
            source,
            datasets={
                **source.datasets,
                "operatie": CsvDatasetSource(
                    file=operaties.file, columns=columns, identity=operaties.identity
                ),
            },
        ),
    )
    folder = tmp_path / "export"
    rows = [operatie("OK-1", {**PERSON_A, "GEBOORTEDATUM": "2-3-50"}, "03-02-2026")]
    columns_in_file = [c for c in DSAA_OPERATIE_COLUMNS if c != "OPERATIEDATUM"]
    write_csv(folder / "dsaa_operaties.csv", columns_in_file, rows)
    write_csv(folder / "dsaa_complicaties.csv", DSAA_COMPLICATIE_COLUMNS, [])
    message = _error(config, folder)
    assert "dsaa_operaties.csv:2 (value not shown)" in message
    assert "2-3-50" not in message


def test_a_config_without_csv_mapping_cannot_read_csv(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    config = dataclasses.replace(dsaa, csv_source=None)
    folder = dsaa_export(tmp_path)
    with pytest.raises(ExtractError, match=r"no source\.csv mapping"):
        extract_csv(config, folder, YEAR)


def test_detection_refuses_mixed_and_empty_folders(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path / "mixed")
    assert detect_source_kind(dsaa, folder) == "csv"
    (folder / "Patient.ndjson").write_text("{}\n", encoding="utf-8")
    assert "both CSV" in _error(dsaa, folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x", encoding="utf-8")
    message = _error(dsaa, empty)
    assert "'dsaa_operaties*.csv'" in message and "notes.txt" in message
    assert "does not exist" in _error(dsaa, tmp_path / "nowhere")


@pytest.mark.slow
def test_two_hundred_thousand_rows_extract_in_seconds(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    import time

    header = ";".join(DSAA_OPERATIE_COLUMNS) + "\n"
    line = ("OK-{i};ZH-{i};999911120;van;Bruïne;;;J.;02-03-1950;V;1012 NX;12;A;{d};{d};;1;55;1;"
            "EVAR;2;25,4;90;nee;\n")  # fmt: skip
    days = [f"{1 + i % 28:02d}-{1 + i % 12:02d}-2026" for i in range(336)]
    body = "".join(line.format(i=i, d=days[i % 336]) for i in range(200_000))
    (tmp_path / "dsaa_operaties.csv").write_text(header + body, encoding="cp1252")
    write_csv(tmp_path / "dsaa_complicaties.csv", DSAA_COMPLICATIE_COLUMNS, [])
    started = time.process_time()
    result = extract_csv(dsaa, tmp_path, YEAR)
    cpu_seconds = time.process_time() - started
    assert result.datasets["operatie"].num_rows == 200_000
    assert result.datasets["operatie"].type_problems == ()
    assert cpu_seconds < 6, f"{cpu_seconds:.1f} s of CPU for 200k rows"
