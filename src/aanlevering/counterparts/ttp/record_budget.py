"""How many records one local-mode upload may hold (decision 1051).

The byte limit alone let an upload of tiny records (``{}`` lines, one-column
CSV rows) hold a hundred million records within 256 MiB: each is parsed,
walked, checked and written, minutes of one worker and gigabytes of Python
objects for one request. A real pseudonymisation service bounds the work of
one request, so an upload is refused with 413 ``too_many_records`` once its
records pass ``limits.max_upload_records``: before any work when the manifest
already counts more, and while the files are rewritten when it understates
them. Refusals name the limit, never a value.
"""

from __future__ import annotations

from aanlevering.counterparts.ttp.refusal import Refusal

CODE = "too_many_records"


def too_many(registration: str, limit: int, where: str) -> Refusal:
    """413: the upload holds more records than ``limit``."""
    return Refusal(
        413,
        CODE,
        f"{where}: the upload holds more than {limit} records, the limit per upload "
        "(limits.max_upload_records); split the delivery or ask the TTP's operator",
        registration=registration,
    )


class RecordBudget:
    """The records an upload may still hold, taken one at a time as the files are read."""

    def __init__(self, registration: str, limit: int) -> None:
        self.registration = registration
        self.limit = limit
        self._left = limit

    def take(self, where: str, records: int = 1) -> None:
        """Count records at ``where`` (a file and line); 413 once the limit is passed."""
        self._left -= records
        if self._left < 0:
            raise too_many(self.registration, self.limit, where)
