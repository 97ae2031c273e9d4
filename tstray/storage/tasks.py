"""One keyring task on a store's worker thread, with every way it can fail
turned into a ``StoreError`` and logged once with its reason.

Shared by ``TokenStore`` (which calls the keyring library itself) and
``HelperTokenStore`` (which runs a helper process for it). A reason never
quotes a stored value, and neither does anything logged here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from tstray.storage.errors import KeyringUnavailableError, StoredDataError, StoreError
from tstray.storage.worker import (
    AbandonedCallError,
    SerialWorker,
    WorkerClosedError,
    WorkerTimeoutError,
)

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

ErrorFor = Callable[[Exception, str], StoreError]


async def run_store_task(
    worker: SerialWorker,
    call: Callable[[], _T],
    *,
    service: str,
    action: str,
    timeout_s: float,
    timed_out: Callable[[], StoreError],
    error_for: ErrorFor,
) -> _T:
    """Runs ``call`` on ``worker`` within ``timeout_s``.

    Args:
        worker: the store's worker thread.
        call: the task; a ``StoreError`` it raises passes through as is.
        service: the keyring service, for the log line.
        action: what the task does, in words ("save the tokens").
        timeout_s: the worker's limit for the task.
        timed_out: the error for a task over its limit.
        error_for: turns any other exception (and ``action``) into the
            error to raise from it.

    Raises:
        StoreError: whatever went wrong, already logged.
    """
    try:
        return await worker.run(call, timeout_s)
    except StoreError as exc:
        log_store_failure(service, action, exc)
        raise
    except (WorkerTimeoutError, AbandonedCallError) as exc:
        # AbandonedCallError reaches a caller only if its job was given up
        # on at the very moment it answered: a timeout all the same.
        error = timed_out()
        log_store_failure(service, action, error)
        raise error from exc
    except WorkerClosedError as exc:
        error = KeyringUnavailableError(
            "The keyring store is closed because tstray is shutting down."
        )
        log_store_failure(service, action, error)
        raise error from exc
    except Exception as exc:
        error = error_for(exc, action)
        log_store_failure(service, action, error)
        raise error from exc


def log_store_failure(service: str, action: str, error: StoreError) -> None:
    """Logs a failed task: damaged data as an error, the rest as warnings."""
    level = logging.ERROR if isinstance(error, StoredDataError) else logging.WARNING
    _log.log(
        level,
        "Could not %s (keyring service %r): %s",
        action,
        service,
        error.reason,
    )
