"""One DAG per registration in the catalogue, plus the supporting DAGs.

Parse-time work is the cheap catalogue listing of :mod:`aanlevering.airflow.listing`;
every task body is one call into :mod:`aanlevering.airflow.callables`, which
imports the pipeline only when the task runs. Tasks are the stages of
:data:`aanlevering.pipeline.stages.STAGES`, in their order, under their names
(the same list the CLI and the benchmark run); XCom carries the run folder
path and counts, never data.
"""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, task
from airflow.sdk.exceptions import AirflowFailException

from aanlevering.airflow import callables
from aanlevering.airflow.connections import TTP_CONNECTION_ID, registry_holder_connection_id
from aanlevering.airflow.listing import (
    BrokenRegistration,
    RegistrationListing,
    read_registrations,
)
from aanlevering.airflow.schedule import START_DATE, TIMEZONE, cron_for
from aanlevering.airflow.tags import Kind, TagNamespace, tag
from aanlevering.pipeline.stages import STAGE_NAMES, STAGES
from aanlevering.settings import whole_number_setting


def default_args() -> dict[str, Any]:
    """Retry policy of every task; ``AANLEVERING_AIRFLOW_RETRIES`` overrides the count (3).

    Read when the DAGs are built, not when this module is imported, so the
    setting in force is the one used, and a mistyped one is a ConfigError
    naming it rather than a bare ValueError that drops every DAG.
    """
    return {
        "retries": whole_number_setting("AANLEVERING_AIRFLOW_RETRIES", 3, minimum=0),
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(hours=1),
    }


#: A period label as the ``period`` param takes it: 2026, 2026-Q1 or 2026-01.
PERIOD_PATTERN = r"^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"


def dag_id_for(registration_id: str) -> str:
    """The delivery DAG's id: ``deliver-<registration>``."""
    return f"deliver-{registration_id}"


def _doc(reg: RegistrationListing) -> str:
    dag_id = dag_id_for(reg.id)
    return f"""\
### {reg.name}

{reg.description or "(no description in the registration config)"}

| | |
|---|---|
| registration | `{reg.id}` ({reg.source_file}) |
| registry holder | {reg.registry_holder_name} (`{reg.registry_holder_id}`) |
| periods | one run per {reg.frequency} from 2026-01-01 (Europe/Amsterdam), after it closes |
| delivery | `{reg.format}` over `{reg.channel}` |
| owner | {reg.owner} |

Tasks follow the stages: {", ".join(STAGE_NAMES)}. A run whose period is
not owed (no register decision allowing it, before 2026, not closed) ends as
**skipped**; a run of a period that was already delivered with the same
content is skipped after apply_optouts. A blocked validation **fails** the
validate task; its log names the validation report.

**Backfill** (every closed period since 2026-01-01; the DAG must be unpaused,
backfill runs of a paused DAG never start):

    airflow dags unpause {dag_id}
    airflow backfill create --dag-id {dag_id} --from-date 2026-01-01T00:00+01:00 --to-date <today>

Keep the `+01:00`: a date without an offset is read in Airflow's default time
zone (UTC), and the first period starts at midnight in Amsterdam, 23:00 UTC
the day before, so `--from-date 2026-01-01` silently leaves it out (decision 0653).

or the *Backfill* form of the trigger button, or `POST /api/v2/backfills`.
Periods before 2026 produce no delivery (skipped).

**Year to date**: trigger by hand with params `period` (e.g. `2026` or
`2026-Q4`) and `allow_open_period: true`.

Input: `AANLEVERING_INPUT__{reg.id.upper().replace("-", "_")}` or
`$AANLEVERING_INPUT_DIR/{reg.id}`; with neither set the first task fails naming them
(no default, not even the demo data: decision 0705).

Credentials: Airflow connections `{TTP_CONNECTION_ID}` and
`{registry_holder_connection_id(reg.id)}` when they exist (URL, API key as
password, TLS material in extras), else the `AANLEVERING_TTP_*` /
`AANLEVERING_REGISTRY_HOLDER_*` environment (docs/airflow.md).
"""


def registration_dag(reg: RegistrationListing) -> DAG:
    """The delivery DAG of one registration (see the DAG's doc_md for what it does)."""
    with DAG(
        dag_id=dag_id_for(reg.id),
        description=f"Deliveries to {reg.name} ({reg.registry_holder_name})",
        schedule=CronDataIntervalTimetable(cron_for(reg.frequency), timezone=TIMEZONE),
        start_date=START_DATE,
        catchup=True,
        max_active_runs=1,
        default_args={
            **default_args(),
            "owner": reg.owner,
            "on_failure_callback": callables.release_on_failure(reg.id, reg.frequency),
        },
        tags=[
            tag(TagNamespace.KIND, Kind.DELIVERY),
            tag(TagNamespace.REGISTRATION, reg.id),
            tag(TagNamespace.HOLDER, reg.registry_holder_id),
            tag(TagNamespace.FORMAT, reg.format),
            tag(TagNamespace.FREQUENCY, reg.frequency),
        ],
        doc_md=_doc(reg),
        params={
            "period": Param(
                None,
                type=["null", "string"],
                # Checked when the run is created (UI, REST API, backfill conf): shape only;
                # the first task refuses what is not on the calendar (0000) as bad input.
                pattern=PERIOD_PATTERN,
                maxLength=7,
                description="deliver this period instead of the run's (2026, 2026-Q1, 2026-01)",
            ),
            "allow_open_period": Param(
                False, type="boolean", description="deliver a period that has not closed yet"
            ),
        },
        render_template_as_native_obj=False,
    ) as dag:
        first, *rest = STAGES

        @task(task_id=first.name)
        def start(**context: Any) -> dict[str, Any]:
            return callables.start_run(reg.id, reg.frequency, context)

        ref: Any = start()
        for stage in rest:
            overrides: dict[str, Any] = {} if stage.retries else {"retries": 0}
            ref = task(task_id=stage.name, **overrides)(callables.step(stage.name, reg.id))(ref)
    return dag


def support_dags() -> dict[str, DAG]:
    """Ingest register decisions and opt-outs, retry unreceipted deliveries, rebuild projections."""
    common: dict[str, Any] = {
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {**default_args(), "owner": "aanlevering"},
    }
    support = tag(TagNamespace.KIND, Kind.SUPPORT)
    dags: dict[str, DAG] = {}

    with DAG(
        dag_id="ingest-register-decisions",
        schedule="@daily",
        tags=[support],
        doc_md="""\
Reads Zorginstituut's register decisions from the feed in
`AANLEVERING_REGISTER_FEED` (a file or http(s) URL) into the event log
(`aanlevering register ingest`). Idempotent: decisions already in the log are
not recorded twice. A negative decision stops deliveries at their next
obligation check.""",
        **common,
    ) as dag:

        @task(task_id="ingest_decisions")
        def ingest_decisions() -> int:
            feed = callables.required_setting(
                "AANLEVERING_REGISTER_FEED",
                "the file or http(s) URL of Zorginstituut's register decisions this DAG reads",
            )
            return callables.cli("register", "ingest", feed)

        ingest_decisions()
    dags[dag.dag_id] = dag

    with DAG(
        dag_id="ingest-optouts",
        schedule="@daily",
        tags=[support],
        doc_md="""\
Reads the EHR's opt-out export in `AANLEVERING_OPTOUT_SOURCE` (CSV or Consent
NDJSON) into the opt-out register (`aanlevering optout ingest`). Only counts
reach the log output; patients are kept as keyed hashes. Each ingest records
when the export was taken (the file's time): a delivery run stops when the
newest is older than `AANLEVERING_OPTOUT_MAX_AGE_HOURS` (default 36), and an
export with fewer than half the opt-outs of the last one fails this task
(decisions 0475, 0476).""",
        **common,
    ) as dag:

        @task(task_id="ingest_optouts")
        def ingest_optouts() -> int:
            source = callables.required_setting(
                "AANLEVERING_OPTOUT_SOURCE",
                "the EHR's opt-out export (CSV, Consent NDJSON or a FHIR export) this DAG reads",
            )
            return callables.cli("optout", "ingest", source)

        ingest_optouts()
    dags[dag.dag_id] = dag

    with DAG(
        dag_id="retry-unreceipted",
        schedule="@hourly",
        tags=[support],
        doc_md="""\
Resends every delivery the ledger shows as staged or failed without a receipt
(`DeliveryLedger.unreceipted()`), by rerunning its period: the same content
gets the same idempotency key, so receivers dedupe it. An unreceipted
retraction is sent again as the retraction it is, never as the period's data
(decision 0590). The period is rerun from the input and into the outbox its
failed run used, never the current default; a gone input fails naming it
(decision 0665).""",
        **common,
    ) as dag:

        @task(task_id="retry_unreceipted")
        def retry_unreceipted() -> dict[str, int]:
            from aanlevering.runs.retry import retry_unreceipted as retry
            from aanlevering.shown_names import install_log_filter

            install_log_filter()  # input names and URLs in the task log (0730, 0731)
            with callables.bugs_withheld():  # per period, product errors are outcomes
                outcomes = retry(credentials=callables.credentials())
            counts: dict[str, int] = {}
            for outcome in outcomes:
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
                # Which version each outcome is about, and which went out (decision 0750).
                print(f"{outcome.idempotency_key}: {outcome.status} {outcome.detail}".rstrip())
            if counts.get("failed"):
                raise AirflowFailException(
                    f"{counts['failed']} unreceipted delivery(ies) still failing: "
                    + "; ".join(o.detail for o in outcomes if o.status == "failed")
                )
            return counts

        retry_unreceipted()
    dags[dag.dag_id] = dag

    with DAG(
        dag_id="rebuild-projections",
        schedule="@hourly",
        tags=[support],
        doc_md="""\
Rebuilds `$AANLEVERING_HOME/projections.json` (ledger, calendar, register
state; what the Deliveries page shows) from the event log, and purges staging
folders of failed runs older than `AANLEVERING_STAGING_RETENTION_DAYS`.""",
        **common,
    ) as dag:

        @task(task_id="rebuild_projections")
        def rebuild_projections() -> int:
            return callables.cli("events", "rebuild")

        # Runs also when the rebuild failed (a broken registration file exits 2 there,
        # decision 0474): staging folders of failed runs hold identifiers and must go
        # at their retention whatever else is wrong.
        @task(task_id="purge_staging", trigger_rule="all_done")
        def purge_staging() -> int:
            return callables.cli("staging", "purge")

        rebuild_projections() >> purge_staging()
    dags[dag.dag_id] = dag
    return dags


def build_dags(catalogue_dir: Path | None = None) -> dict[str, DAG]:
    """Every DAG of this installation by dag_id (``dags/registrations.py`` puts them in globals)."""
    if catalogue_dir is None:
        from aanlevering.settings import load_settings

        catalogue_dir = load_settings().catalogue_dir
    listings, broken = read_registrations(catalogue_dir)
    dags = {dag_id_for(r.id): registration_dag(r) for r in listings}
    for registration in broken:
        # Airflow shows warnings raised while parsing beside the DAG file (decision 0420).
        warnings.warn(registration.message, UserWarning, stacklevel=1)
        stand_in = broken_registration_dag(registration)
        dags.setdefault(stand_in.dag_id, stand_in)
    dags.update(support_dags())
    return dags


def broken_registration_dag(registration: BrokenRegistration) -> DAG:
    """A DAG that shows why a registration file cannot be read, instead of its deliveries.

    It has no schedule (nothing of the registration runs until the file is
    fixed) and one task that fails with the problem when triggered, so the
    registration stays visible in the UI under its own name while the other
    registrations' DAGs load as usual (decision 0420).
    """
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", registration.name)[:200] or "_"
    with DAG(
        dag_id=dag_id_for(name),
        description=f"Registration file cannot be read: {registration.file}",
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**default_args(), "owner": "aanlevering", "retries": 0},
        tags=[tag(TagNamespace.KIND, Kind.DELIVERY), tag(TagNamespace.REGISTRATION, name)],
        doc_md=f"""\
### Registration file cannot be read

`{registration.file}` has a problem, so this registration delivers nothing
until it is fixed:

    {registration.message}

Fix the file and check the whole catalogue with
`aanlevering registrations check` (exit 0 when every file is sound); the
delivery DAG comes back at the next parse. The other registrations' DAGs are
not affected.
""",
    ) as dag:

        @task(task_id="config_error")
        def config_error() -> None:
            raise AirflowFailException(registration.message)

        config_error()
    return dag
