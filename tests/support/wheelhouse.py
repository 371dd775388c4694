"""Where the Dockerfile test keeps the lock's wheels between pytest runs (decision 0870).

pip's own HTTP cache keeps nothing on these machines, so without a kept
wheelhouse every replay of the Dockerfile downloaded the whole lock again.
``$AANLEVERING_TEST_WHEELHOUSE`` moves it (a test-only setting, not a product one).
"""

from __future__ import annotations

import os
from pathlib import Path

WHEELHOUSE_ENV = "AANLEVERING_TEST_WHEELHOUSE"


def wheelhouse_root() -> Path:
    """The folder holding one wheelhouse per lock and interpreter."""
    return Path(
        os.environ.get(WHEELHOUSE_ENV) or Path.home() / ".cache" / "aanlevering" / "wheelhouse"
    )
