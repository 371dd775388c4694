"""One exception hierarchy for every package boundary, mapped to CLI exit codes.

Messages must name the file, row, column or registration/period that is wrong,
and must never contain patient identifiers.
"""

from __future__ import annotations

import errno


class AanleveringError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = 2


class ConfigError(AanleveringError):
    """A registration config, data dictionary or setting is invalid."""

    exit_code = 2


class ExtractError(AanleveringError):
    """An EHR extract cannot be read as the registration's source config says."""

    exit_code = 2


class ValidationBlocked(AanleveringError):
    """Validation found errors severe enough to block the delivery."""

    exit_code = 1


class OptOutArrived(ValidationBlocked):
    """A patient still in the run opted out after the run applied its opt-outs.

    Nothing is offered to the TTP or sent; like a blocked validation, the run
    ends and the period must be run again (from a new extract, which leaves the
    patient out). The message carries counts only.
    """


class PseudonymisationError(AanleveringError):
    """A record cannot be normalised or pseudonymised."""

    exit_code = 2


class TTPError(AanleveringError):
    """The pseudonymisation service refused or failed a request."""

    exit_code = 2


class DeliveryError(AanleveringError):
    """A delivery could not be sent or was not receipted."""

    exit_code = 2


class ReceiverAhead(DeliveryError):
    """The receiver holds a version of the period the event log does not know (decision 0460).

    Nothing is sent or reported delivered; the log has recorded the receiver's
    versions, and an engineer decides what belongs at the registry holder
    (waiting does not fix it: a scheduler fails the task without retries).
    """


class OutputError(DeliveryError):
    """Delivery files could not be made from the data given (nothing is delivered).

    Raised by the FHIR builders and the file writers alike; like every error
    here its message names the dataset, row reference and variable or the
    resource and element, never a value.
    """


class NoObligation(AanleveringError):
    """There is no delivery obligation (or permission) for this registration and period."""

    exit_code = 3


class NothingToDeliver(NoObligation):
    """The input has no records in the period (and the registration does not deliver nil reports).

    Exit 3 like :class:`NoObligation`: nothing is owed from this input; Airflow
    skips the run rather than failing it.
    """


class EventStoreError(AanleveringError):
    """The event log refused or failed an operation."""

    exit_code = 2


class ConcurrencyConflict(EventStoreError):
    """Another writer appended to the stream first (optimistic concurrency)."""


#: errnos that say the disk or folder is full or read-only: no bug, the environment is
#: unusable (decision 0657); the CLI and the Airflow tasks both say so.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
