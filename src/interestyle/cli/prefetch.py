"""Reading ahead: the next batches of images are decoded on a thread while the model runs on the current one
(PIL's decoders and torch's kernels release the GIL), in the order they were asked for."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["prefetched"]

_T = TypeVar("_T")
_END = object()


def prefetched(items: Iterable[_T], depth: int) -> Iterator[_T]:
    """``items`` in order, with up to ``depth`` of them produced ahead on a thread; ``depth`` 0 produces each
    when asked (no thread). An exception raised while producing is raised here, at the item it replaced.
    Closing the iterator early stops the thread after the item it is producing."""
    if depth < 0:
        raise ValueError(f"depth={depth} must be >= 0")
    if depth == 0:
        yield from items
        return
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Raised(exc))
            return
        put(_END)

    thread = threading.Thread(target=produce, name="interestyle-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
