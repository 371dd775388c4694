"""A refusal names every problem found, bounded per file and in all, saying how many more (0985)."""

from __future__ import annotations

from pathlib import Path

from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.counterparts.registry_holder.refusal import IN_ALL, PER_FILE
from aanlevering.deliver.manifest import Manifest, describe_files
from support.holder_manifests import ldtr_manifest

#: The documented layout: the pseudonym columns of the manifest's type first (decision 1006).
_HEADER = "pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd\n"


def _csv_delivery(folder: Path, bodies: dict[str, str], claimed: dict[str, int]) -> Manifest:
    folder.mkdir()
    for name, body in bodies.items():
        (folder / name).write_text(body)
    files = describe_files(folder, claimed, {name: "text/csv" for name in bodies})
    return ldtr_manifest(
        files,
        format="csv",
        record_counts={name.removesuffix(".csv"): claimed[name] for name in bodies},
    )


def _damaged(rows: int) -> str:
    """A CSV of ``rows`` rows, each cut short (one cell under a four-column header)."""
    return _HEADER + "".join(f"NGG:v1:r{n}\n" for n in range(rows))


def test_a_file_lists_its_first_problems_and_says_how_many_more(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    problems = check_delivery(
        folder, _csv_delivery(folder, {"trauma.csv": _damaged(PER_FILE + 10)}, {"trauma.csv": 30})
    )
    assert len(problems) == PER_FILE + 1
    assert problems[0].startswith("trauma.csv line 2: expected 4 cells as the header, found 1")
    assert problems[-1] == "trauma.csv: 10 more problem(s) in this file not listed"


def test_a_refusal_is_bounded_and_keeps_the_counts_of_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    damaged = {f"d{n}.csv": _damaged(PER_FILE + 5) for n in range(8)}
    bodies = {**damaged, "z.csv": _HEADER + "NGG:v1:a;1;definitief;61\n"}
    claimed = {**{name: PER_FILE + 5 for name in damaged}, "z.csv": 2}
    problems = check_delivery(folder, _csv_delivery(folder, bodies, claimed))
    assert len(problems) == IN_ALL
    # The counts of a readable file are named even when rows' problems fill the refusal.
    assert "z.csv: 1 records, manifest says 2" in problems
    assert "record_counts says 2 record(s) of dataset 'z', the files hold 1" in problems
    listed = IN_ALL - 1 - 2
    assert problems[-1] == (
        f"{8 * (PER_FILE + 1) - listed} more line(s) of problems not listed "
        f"(at most {IN_ALL} per refusal)"
    )
    assert not [p for p in problems if "NGG:v1:" in p]  # never a value
