"""Let one provider process serve more than 4 calls at once.

Pulumi's Python dynamic provider server (``python -m pulumi.dynamic``) runs its gRPC servicer on
``ThreadPoolExecutor(max_workers=4)``, and one such process serves every dynamic resource of a
stack. A ``Create`` that waits for training holds a worker for the whole training, so without
this, a stack of 12 new models tunes 4 at a time and every other resource's Check and Diff queue
behind them.

:func:`raise_worker_limit` finds the executor that runs the calling thread and raises its
``_max_workers`` (a private attribute of the standard library's executor), then starts threads
for calls already queued (the executor only adds a thread per submission). It returns whether it
managed; on any mismatch with that layout it changes nothing and returns ``False``, and the
provider keeps working at the stock limit. ``tests/engine`` fails the moment the layout changes.
"""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_done: set[int] = set()


def _executor_of_current_thread() -> ThreadPoolExecutor | None:
    me = threading.current_thread()
    for obj in gc.get_objects():
        if isinstance(obj, ThreadPoolExecutor):
            threads = getattr(obj, "_threads", None)
            if isinstance(threads, set) and me in threads:
                return obj
    return None


def raise_worker_limit(max_workers: int = 64) -> bool:
    """Raise the worker limit of the executor running this thread to ``max_workers``.

    Idempotent and thread-safe. Returns ``True`` when the limit is (already) raised.
    """
    with _lock:
        executor = _executor_of_current_thread()
        if executor is None:
            return False
        if id(executor) in _done:
            return True
        current = getattr(executor, "_max_workers", None)
        queue = getattr(executor, "_work_queue", None)
        adjust = getattr(executor, "_adjust_thread_count", None)
        if not isinstance(current, int) or queue is None or adjust is None:
            return False
        if current < max_workers:
            executor._max_workers = max_workers
        _done.add(id(executor))
        # Calls queued behind the busy workers get a thread each, now.
        for _ in range(min(queue.qsize(), max_workers)):
            adjust()
        return True
