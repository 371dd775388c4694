"""The registry holder writes its receipts whole: :func:`aanlevering.whole_files.write_whole`.

Kept under this name for the counterparts' imports; the function lives with the
product, whose outbox writes its receipts the same way (decision 0593).
"""

from __future__ import annotations

from aanlevering.whole_files import write_whole

__all__ = ["write_whole"]
