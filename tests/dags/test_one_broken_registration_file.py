"""One broken registration file breaks only its own DAG (decision 0420).

Before, ``dags/registrations.py`` raised on the first bad file, so the DAG
processor dropped every delivery DAG and the supporting DAGs with it: one
typo in one registration stopped opt-out ingestion and receipt retries for all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowFailException

from aanlevering.airflow.factory import build_dags
from aanlevering.errors import ConfigError
from conftest import REPO

CATALOGUE = REPO / "schemas" / "catalogue"
SUPPORT = {
    "ingest-register-decisions",
    "ingest-optouts",
    "retry-unreceipted",
    "rebuild-projections",
}


@pytest.fixture
def broken_catalogue(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    ldtr = target / "registrations" / "ldtr.yaml"
    ldtr.write_text(
        ldtr.read_text(encoding="utf-8").replace("frequency: month", "frequency: weekly"),
        encoding="utf-8",
    )
    (target / "registrations" / "latin.yaml").write_bytes(b"id: latin\nname: caf\xe9\n")
    (target / "registrations" / "kring.yaml").write_text("id: &a [*a]\n", encoding="utf-8")
    (target / "registrations" / "pad.yaml").write_text(
        "id: ../pad\nname: x\nfrequency: year\nregistry_holder: {id: x}\n"
        "delivery: {format: csv, channel: outbox}\n",
        encoding="utf-8",
    )
    return target


def test_the_other_registrations_and_the_support_dags_still_build(broken_catalogue: Path) -> None:
    with pytest.warns(UserWarning) as warned:
        dags = build_dags(broken_catalogue)
    assert set(dags) >= SUPPORT
    for healthy in ("dica-dsaa", "nkr-borst"):
        assert "check_obligation" in dags[f"deliver-{healthy}"].task_dict
    messages = " ".join(str(w.message) for w in warned)
    for name in ("ldtr", "latin", "kring", "pad"):
        stand_in = dags[f"deliver-{name}"]
        assert [t.task_id for t in stand_in.tasks] == ["config_error"], name
        assert type(stand_in.timetable).__name__ == "NullTimetable", (
            name
        )  # nothing of it is scheduled
        assert f"{name}.yaml" in (stand_in.doc_md or ""), name
        assert f"{name}.yaml" in messages, name
    assert "frequency must be one of" in (dags["deliver-ldtr"].doc_md or "")
    assert "'id' must be the file name" in (dags["deliver-pad"].doc_md or "")


def test_the_stand_in_fails_with_the_problem_when_triggered(broken_catalogue: Path) -> None:
    with pytest.warns(UserWarning):
        dags = build_dags(broken_catalogue)
    task = dags["deliver-ldtr"].task_dict["config_error"]
    assert task.retries == 0
    with pytest.raises(AirflowFailException, match=r"ldtr.yaml: frequency must be one of"):
        task.python_callable()  # type: ignore[union-attr]


def test_the_dag_processor_reports_no_import_error_and_a_warning(
    broken_catalogue: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(broken_catalogue))
    with pytest.warns(UserWarning):  # the DAG bag passes the parse's warnings on
        dagbag = DagBag(dag_folder=str(REPO / "dags"))
    assert dagbag.import_errors == {}
    assert {"deliver-dica-dsaa", "deliver-nkr-borst", *SUPPORT} <= set(dagbag.dag_ids)
    warned = " ".join(w for ws in dagbag.captured_warnings.values() for w in ws)
    assert "ldtr.yaml: frequency must be one of" in warned


def test_a_catalogue_folder_that_is_not_there_is_an_error_not_zero_dags(tmp_path: Path) -> None:
    # A mistyped AANLEVERING_CATALOGUE made every delivery DAG vanish without a word.
    with pytest.raises(ConfigError, match=r"has no 'registrations' folder"):
        build_dags(tmp_path / "catalogus")


def test_a_registration_without_frequency_gets_no_yearly_schedule(tmp_path: Path) -> None:
    # The schema requires frequency; the listing used to schedule such a file yearly.
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    ldtr = catalogue / "registrations" / "ldtr.yaml"
    ldtr.write_text(
        ldtr.read_text(encoding="utf-8").replace("frequency: month\n", ""), encoding="utf-8"
    )
    with pytest.warns(UserWarning, match=r"ldtr.yaml: 'frequency' must be a non-empty string"):
        dags = build_dags(catalogue)
    assert [t.task_id for t in dags["deliver-ldtr"].tasks] == ["config_error"]


def test_staging_is_purged_also_when_the_rebuild_fails(broken_catalogue: Path) -> None:
    """``events rebuild`` exits 2 over a broken file (decision 0474); the purge still runs."""
    with pytest.warns(UserWarning):
        dags = build_dags(broken_catalogue)
    rebuild = dags["rebuild-projections"]
    purge = rebuild.task_dict["purge_staging"]
    assert purge.upstream_task_ids == {"rebuild_projections"}
    assert purge.trigger_rule == "all_done"
