"""A receiver ahead of the event log fails the DAG task without retries (decision 0460).

The run has recorded the receiver's versions and stopped; a retry of the
task would deliver past them without anyone deciding which data belongs at
the registry holder. A receiver that is merely down is retried as before.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from aanlevering.airflow import callables
from aanlevering.errors import ReceiverAhead
from aanlevering.pipeline.receiver_check import ReceiverNotAsked


def test_receiver_ahead_fails_the_task_and_a_receiver_down_is_retried() -> None:
    with pytest.raises(AirflowFailException, match="holds v2"), callables.task_outcomes():
        raise ReceiverAhead("registration ldtr, period 2026-03: the receiver holds v2")
    # Not an AirflowFailException: retried with backoff.
    with pytest.raises(ReceiverNotAsked), callables.task_outcomes():
        raise ReceiverNotAsked("the receiver could not be asked")
