"""The FHIR extract's and output's worker processes start without the catalogue loader.

Why (decision 0865): each worker is a fresh interpreter that reads or writes part
of a FHIR stage with the frozen catalogue objects its parent pickled; the loader
(YAML, JSON Schema) was imported with ``aanlevering.catalogue`` only to be unused,
about a quarter of the worker's start.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from aanlevering.extract.fhir_parallel import WORKER_CODE as READ_WORKER
from aanlevering.output.source_parts import WORKER_CODE as MINIMISE_WORKER
from aanlevering.worker_processes import worker_environment

HEAVY = ("jsonschema", "yaml", "aanlevering.catalogue.loader")


@pytest.mark.parametrize("code", [READ_WORKER, MINIMISE_WORKER], ids=["read", "minimise"])
def test_a_worker_imports_no_catalogue_loader(code: str) -> None:
    module = code.split("from ", 1)[1].split(" import", 1)[0]
    probe = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', "
        f"'yaml') or m == 'aanlevering.catalogue.loader')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=worker_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == [], HEAVY


def test_the_catalogue_still_offers_its_loader() -> None:
    import aanlevering.catalogue as catalogue
    from aanlevering.catalogue import CatalogueProblem, load_catalogue, loader

    assert load_catalogue is loader.load_catalogue
    assert CatalogueProblem is loader.CatalogueProblem
    with pytest.raises(AttributeError, match="no_such_name"):
        catalogue.no_such_name  # noqa: B018
