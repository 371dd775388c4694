"""The shared ``dag.test()`` process's output is cut into each run's own log (decision 0830).

Why: the Airflow tests assert that a run's log holds its own messages and not
another run's; with one process for a whole module, a wrong cut would hand a
test the log of an earlier test's run.
"""

from __future__ import annotations

from support.dag_test_process import per_run

OUTPUT = (
    "warning at import\n"
    "RUN-START 3\n"
    "first run\n"
    "RUN-END 3\n"
    "RUN-START 4\n"
    "second run\n"
    "RESULT {}\n"
    "RUN-END 4\n"
)


def test_each_run_gets_the_lines_between_its_markers_and_the_first_what_came_before() -> None:
    assert per_run(OUTPUT, 3, 2) == ["warning at import\nfirst run\n", "second run\nRESULT {}\n"]


def test_lines_of_a_run_of_another_request_are_left_out() -> None:
    late = "RUN-START 2\nan earlier run\nRUN-END 2\nRUN-START 4\nsecond run\nRUN-END 4\n"
    assert per_run(late, 4, 1) == ["second run\n"]
