"""The one place that imports Great Expectations and opens its contexts.

Importing GX takes seconds and, with Airflow installed, logs a line per
public function at INFO level; the CLI and DAG files must not pay for that
at import time. Everything GX goes through :func:`import_gx`, called inside
functions, which quiets GX's loggers first.

Two contexts are used:

* the committed FILE context under ``great_expectations/`` (suites generated
  from the dictionaries; see :mod:`aanlevering.validate.suites`), and
* a fresh EPHEMERAL context per validation run, holding the run's datasource,
  batch definitions and results in memory and writing data docs only to the
  run's report folder, so the file context never collects per-run junk.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from aanlevering.settings import checkout_root

#: Environment variable naming the GX file context folder (default: the checkout's).
GX_DIR_ENV = "AANLEVERING_GX_DIR"

DATA_DOCS_SITE = "aanlevering_run"

_QUIET_PREFIX = "great_expectations"


def _quiet_gx_loggers() -> None:
    # GX logs at INFO on import and pins some module loggers to INFO itself.
    logging.getLogger(_QUIET_PREFIX).setLevel(logging.WARNING)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger) or not name.startswith(_QUIET_PREFIX + "."):
            continue
        if 0 < logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def import_gx() -> ModuleType:
    """Import ``great_expectations`` with its chatty loggers turned down to warnings.

    The modules GX imports only for expectations our suites never hold are
    loaded at their first use (:mod:`aanlevering.validate.lazy_modules`, 0521).
    """
    from aanlevering.validate.lazy_modules import lazily_loaded

    _quiet_gx_loggers()
    with lazily_loaded():
        import great_expectations

    _quiet_gx_loggers()
    return great_expectations


def file_context_dir(env: dict[str, str] | None = None) -> Path | None:
    """Folder of the committed GX file context, or None when this install has none.

    ``$AANLEVERING_GX_DIR`` wins; otherwise ``great_expectations/`` of the
    source checkout. An installed package without a checkout has no file
    context and validates with suites generated in memory.
    """
    env = dict(os.environ) if env is None else env
    if env.get(GX_DIR_ENV):
        return Path(env[GX_DIR_ENV]).expanduser().resolve()
    root = checkout_root()
    if root is not None and (root / "great_expectations" / "great_expectations.yml").is_file():
        return root / "great_expectations"
    return None


def suite_dir_for(catalogue_dir: Path | None, env: dict[str, str] | None = None) -> Path | None:
    """Where a catalogue's generated suites live: its own GX file context.

    ``$AANLEVERING_GX_DIR`` wins. The checkout's catalogue (``schemas/catalogue``)
    has ``great_expectations/`` of the checkout; any other catalogue has
    ``<catalogue>/great_expectations``, so regenerating the suites of an external
    catalogue never touches (or deletes) the checkout's committed ones.
    """
    env = dict(os.environ) if env is None else env
    if env.get(GX_DIR_ENV) or catalogue_dir is None:
        return file_context_dir(env)
    root = checkout_root()
    own = Path(catalogue_dir).resolve()
    if root is not None and own == (root / "schemas" / "catalogue").resolve():
        return file_context_dir(env)
    return own / "great_expectations"


def has_file_context(root: Path | None) -> bool:
    """Whether ``root`` holds a GX file context (runs never scaffold one)."""
    return root is not None and (root / "great_expectations.yml").is_file()


def open_file_context(root: Path) -> Any:
    """Open (scaffolding on first use) the GX file context in ``root``."""
    gx = import_gx()
    return gx.get_context(mode="file", context_root_dir=str(root))


def open_run_context(data_docs_dir: Path | None) -> Any:
    """A fresh in-memory context for one validation run.

    Progress bars are off (they would write to the CLI's stderr); when
    ``data_docs_dir`` is given, a data docs site writes there.
    """
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.config.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if data_docs_dir is not None:
        context.add_data_docs_site(
            DATA_DOCS_SITE,
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir) + os.sep,
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context
