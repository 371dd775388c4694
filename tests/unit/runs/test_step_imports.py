"""An Airflow task process starts light: the run-folder steps do not import the readers' pandas.

Each stage runs in its own process on the task path, so every import at start
is paid once per stage (decision 0241); pandas alone was about 2 s of it.
"""

from __future__ import annotations

import os
import subprocess
import sys


def test_importing_the_steps_does_not_import_pandas_or_great_expectations() -> None:
    code = (
        "import sys\n"
        "from aanlevering.runs.steps import run_stage, start_run\n"
        "import aanlevering.pipeline.operations\n"
        "from aanlevering.extract.model import Extract\n"
        "print(sorted(m for m in ('pandas', 'great_expectations') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.stdout.strip() == "[]"


def test_the_package_still_offers_its_names() -> None:
    import aanlevering.extract as package

    assert callable(package.extract) and callable(package.extract_csv)
    assert package.Extract.__name__ == "Extract"
    try:
        package.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("unknown names must raise AttributeError")
