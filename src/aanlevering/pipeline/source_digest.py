"""The content fingerprint's source-resource part, read back on one thread and hashed on another.

A FHIR delivery's fingerprint covers its source resources (decision 0231): ``key NUL text
NUL`` of every kept row in order, read back from the compressed texts file a window at a
time (decision 0310). At a million patients that is about 5M texts: reading them back
(decompressing, gathering) and joining and hashing them took about 10 s of one core in
apply_optouts. pyarrow and hashlib release the GIL for that work, so reading the next
window on a thread while this one is joined and hashed uses the second core with the
same bytes in the same order (decision 0323); :func:`aanlevering.extract.fhir_texts.hash_rows`
is the straightforward version the tests compare against.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import pyarrow as pa

from aanlevering.extract.fhir_texts import KeptSources, feed_joined

#: Windows read ahead of the hashing (each about WINDOW_BYTES of texts).
_AHEAD = 2
_DONE = object()


def hash_rows_read_ahead(
    sources: KeptSources, feed: Callable[[memoryview], object], window: int | None = None
) -> None:
    """Feed ``key NUL text NUL`` of every row, in order, to ``feed`` (a hash's update).

    The same bytes as ``hash_rows``; the next window is read while this one is hashed.
    """
    for keys, texts in _read_ahead(sources.text_windows(window)):
        feed_joined(keys, texts, feed)


def _read_ahead(
    windows: Iterator[tuple[pa.Array, pa.Array]],
) -> Iterator[tuple[pa.Array, pa.Array]]:
    """The items of ``windows``, produced on a thread up to ``_AHEAD`` ahead of the consumer.

    An error while reading is raised here, in order; a consumer that stops early (an
    error while hashing) stops the thread at its next window.
    """
    handed: queue.Queue[object] = queue.Queue(_AHEAD)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in windows:
                if not _put(handed, item, stop):
                    return
            _put(handed, _DONE, stop)
        except BaseException as error:  # handed to the consumer, raised there
            _put(handed, error, stop)

    thread = threading.Thread(target=produce, name="fingerprint-read", daemon=True)
    thread.start()
    try:
        while True:
            item = handed.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _put(handed: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless the consumer has stopped; False when it has."""
    while not stop.is_set():
        try:
            handed.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
