"""``registrations new`` on a damaged sample: an input error by line, no row in a log (0681).

A sample export is real patient data. pyarrow's CSV reader quotes the whole
offending row in its error ("Expected 25 columns, got 26: <the row>"); before
0681 that error escaped as an internal error and its text, with the patient
number, BSN, name, birth date and postcode of the row, went into
``$AANLEVERING_HOME/logs/aanlevering.log``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.cli.main import main
from aanlevering.errors import ExtractError
from aanlevering.extract.csv_layout import sniff_layout
from aanlevering.onboard.csv_match import whole_column

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


def _sample(demo: Path, target: Path) -> Path:
    registration = yaml.safe_load(
        (CATALOGUE / "registrations" / "dica-dsaa.yaml").read_text(encoding="utf-8")
    )
    target.mkdir()
    for dataset in registration["source"]["csv"]["datasets"].values():
        for path in (demo / "csv-utf8").glob(dataset["file"]):
            shutil.copy(path, target / path.name)
    return target


def _damage(sample: Path, how: str) -> tuple[int, set[str]]:
    """Damage the operations file's fourth record ``how``: (its line, the values it holds)."""
    file = next(sample.glob("dsaa_operaties*.csv"))
    raw = file.read_bytes()
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(newline)
    fields = lines[4].decode("utf-8").split(";")
    planted = {value for value in fields if len(value) >= 5}
    if how == "extra-field":
        lines[4] += b";Vliet-Kwaadsteniet"
        planted.add("Vliet-Kwaadsteniet")
    else:  # a quote left open in the middle of the record
        lines[4] = lines[4].replace(b";", b';"', 3).replace(b';"', b";", 2)
    file.write_bytes(newline.join(lines))
    return 5, planted


@pytest.mark.parametrize("how", ["extra-field", "open-quote"])
def test_a_damaged_sample_is_an_input_error_that_quotes_no_value(
    demo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    sample = _sample(demo, tmp_path / "sample")
    line, planted = _damage(sample, how)
    out = tmp_path / "new.yaml"

    code = main(
        [
            *("registrations", "--catalogue", str(CATALOGUE), "new", "--dictionary", "dsaa"),
            *("--id", "dsaa-new", "--sample", str(sample), "--out", str(out)),
        ]
    )

    captured = capsys.readouterr()
    assert code == 2, captured.err  # unusable input, not "a bug" (exit 4)
    assert f"line {line}" in captured.err and "malformed CSV" in captured.err
    assert not out.exists()
    logs = [p.read_text(encoding="utf-8") for p in home.rglob("*.log")]
    for text in [captured.out, captured.err, *logs]:
        assert not [value for value in planted if value in text]


def test_reading_a_parents_whole_key_column_quotes_no_value_of_a_damaged_record(
    demo: Path, tmp_path: Path
) -> None:
    """The keys of a parent file are read whole, past the sample's rows: the same refusal."""
    sample = _sample(demo, tmp_path / "sample")
    line, planted = _damage(sample, "extra-field")
    file = next(sample.glob("dsaa_operaties*.csv"))
    layout = sniff_layout(file, "auto", "auto", '"')

    with pytest.raises(ExtractError) as raised:
        whole_column(layout, layout.header[0])

    text = str(raised.value)
    assert f"line {line}: expected" in text
    assert not [value for value in planted if value in text]
    assert raised.value.__suppress_context__  # pyarrow's message (the row) is not chained
