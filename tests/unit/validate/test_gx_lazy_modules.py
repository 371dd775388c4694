"""GX's scipy.stats and altair load at first use, and then work as if imported eagerly (0521).

Each check runs in a fresh interpreter: this test process may have imported
GX (or scipy) already, and a lazy import only happens on a first import.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

CHECK = r"""
import json, sys
from aanlevering.validate.gx import import_gx
from aanlevering.validate.lazy_modules import _LazyFinder

before = sys.modules.get("scipy.stats")
import_gx()
kl = sys.modules["great_expectations.expectations.core.expect_column_kl_divergence_to_be_less_than"]
state = {
    "finder_left": any(isinstance(f, _LazyFinder) for f in sys.meta_path),
    "stats_ran": "scipy.stats._distn_infrastructure" in sys.modules,
    "altair_ran": "altair.vegalite" in sys.modules,
    "gx_loaded": "great_expectations.core" in sys.modules,
}
# First use: GX's own module-level names load and answer as the eager modules do.
state["entropy"] = float(kl.stats.entropy([0.5, 0.5]))
state["stats_ran_after_use"] = "scipy.stats._distn_infrastructure" in sys.modules
state["chart"] = kl.alt.Chart.__name__
state["same_stats"] = kl.stats is sys.modules["scipy.stats"]
print(json.dumps(state))
"""


def _run(prelude: str = "") -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", prelude + CHECK], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_gx_import_leaves_scipy_stats_and_altair_unrun_until_first_use() -> None:
    state = _run()
    assert state["gx_loaded"] is True
    assert state["finder_left"] is False  # the finder is gone once GX is in
    assert state["stats_ran"] is False
    assert state["altair_ran"] is False
    # The straightforward (eager) answers: entropy of a fair coin is ln 2; altair's Chart.
    assert state["entropy"] == pytest.approx(math.log(2))
    assert state["stats_ran_after_use"] is True
    assert state["chart"] == "Chart"
    assert state["same_stats"] is True


def test_a_module_imported_before_gx_stays_as_it_was() -> None:
    state = _run("import scipy.stats\n")
    assert state["stats_ran"] is True
    assert state["entropy"] == pytest.approx(math.log(2))


def test_two_threads_importing_gx_at_once_do_not_recurse() -> None:
    """Each thread's first validation adds a finder; they asked each other forever (0756).

    Found running two hospitals' deliveries in one process: RecursionError in find_spec.
    """
    import importlib

    import pytest

    from aanlevering.validate.lazy_modules import lazily_loaded

    name = "no_such_module_for_two_lazy_finders"
    with lazily_loaded((name,)), lazily_loaded((name,)), pytest.raises(ModuleNotFoundError):
        importlib.import_module(name)
