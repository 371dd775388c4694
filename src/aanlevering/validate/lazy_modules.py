"""Modules Great Expectations imports but our validation never runs: loaded at first use.

Why: every validate task of the Airflow path is a fresh process that imports
GX, and GX imports ``scipy.stats`` and ``altair`` at module level for a few
distribution expectations (KL divergence, KS tests) that no suite of ours
uses. Those two trees were about a third of the import's CPU (1.1-1.7 s of
3.0-3.7 s, decision 0521). While GX is imported they are created with
:class:`importlib.util.LazyLoader`: the module object exists, and its code
runs on the first attribute access, so an expectation that does need them
still works, only later. Nothing else changes: a module imported before
stays as it was, and the finder is removed again once GX is in.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

#: Imported by GX at module level, used only by expectations our suites never contain.
GX_UNUSED_AT_IMPORT = ("scipy.stats", "altair")


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds ``names`` as the other finders do, with their loader wrapped in LazyLoader."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            # Another thread's finder (two first validations at once) would ask this one
            # back, forever (decision 0756): only the other kinds of finder are asked.
            if isinstance(finder, _LazyFinder) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            loader = spec.loader
            if loader is None or not hasattr(loader, "exec_module"):
                return spec  # a namespace package or an old-style loader: imported as it is
            spec.loader = importlib.util.LazyLoader(loader)
            return spec
        return None


@contextmanager
def lazily_loaded(names: Sequence[str] = GX_UNUSED_AT_IMPORT) -> Iterator[None]:
    """Within the block, importing one of ``names`` (not imported yet) defers running it."""
    finder = _LazyFinder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
