"""Adaptive micro-batching: concurrent single requests share one model call.

Every model call has a fixed cost on top of a small cost per row (for the sample model in
ONNX Runtime, the fixed cost dominates), plus its timer and rows counter (api.run_model).
Under load, many single requests are in flight at once. `MicroBatcher.submit` queues each
one; one background task hands everything queued so far to the model in a single call.
While that call runs, new requests queue up, so the next batch grows with the load by
itself. With `MICRO_BATCH_WAIT_MS` above 0, under load (the last call answered several
requests) the batcher also waits a little, at most that long, for as many requests as last
time; a request that finds the service quiet never waits. What grouping and the wait gain
or cost is measured on the performance page.

Where a call runs follows what calls cost (`MicroBatcher.call`, for single requests and the
batch route's chunks alike). A short call (the sample model: about 0.01 ms for one row,
0.1 ms for 64) runs on the event loop itself: a thread would only add a hand-over per call.
Once calls take more than `MODEL_THREAD_AFTER_MS` of CPU time on average (a heavy model: 1 ms
or more for one row), they run on the worker's one model thread instead: ONNX Runtime releases
Python's lock while it computes, so the event loop keeps reading and checking requests, and
they are queued for the next call when this one ends. The batch sizes then follow the load
by themselves, with no wait. The model thread is one per worker, so model calls never
compete with each other for the worker's vCPU.

A batch request (the batch route) is checked and answered a chunk at a time, and one batch
request at a time (`batch_turn`): several batch clients at once then hold up a single
request for one chunk at most, not one chunk of each.

Settings (settings.py): `MICRO_BATCH_SIZE` caps the requests one call answers (1 turns
grouping off); `MICRO_BATCH_WAIT_MS` bounds the wait under load (0, the default, never waits);
`MODEL_THREAD_AFTER_MS` is the average call time above which calls leave the event loop.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
log = logging.getLogger(__name__)


class MicroBatcher(Generic[Item, Result]):
    """Runs `call_many(items) -> results` (one result per item, in order) for queued items."""

    def __init__(
        self,
        call_many: Callable[[list[Item]], Sequence[Result]],
        max_size: int = 64,
        max_wait_ms: float = 0,
        thread_after_ms: float = 0.5,
    ) -> None:
        self._call_many = call_many
        self.max_size = max_size
        self.max_wait = max_wait_ms / 1000
        self.thread_after = thread_after_ms / 1000
        self.call_seconds: float | None = None  # a moving average of the calls' durations, once there is one
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self.batch_turn = asyncio.Lock()  # one batch request's chunks at a time (the batch route)
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._pending = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    async def call(self, items: list[Item]) -> Sequence[Result]:
        """`call_many(items)`: on the event loop while calls are short, on the model thread once
        they take longer than `thread_after` on average. Every model call goes through here."""
        if self.call_seconds is not None and self.call_seconds > self.thread_after:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._timed_call, items)
        return self._timed_call(items)

    def _timed_call(self, items: list[Item]) -> Sequence[Result]:
        """The call, and its CPU time into the moving average: CPU time of the thread that runs it
        (ONNX Runtime computes on it with MODEL_THREADS=1), so a busy machine that pauses the
        worker does not make a short call look long."""
        started = time.thread_time()
        try:
            return self._call_many(items)
        finally:
            took = time.thread_time() - started
            self.call_seconds = took if self.call_seconds is None else 0.8 * self.call_seconds + 0.2 * took

    async def submit(self, item: Item) -> Result:
        """The answer for one item, computed together with whatever else is queued."""
        if self._closed:
            raise RuntimeError("the batcher is closed (the app is shutting down)")
        if self._worker is None:
            self._worker = asyncio.create_task(self._serve(), name="micro-batcher")
        future = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._pending.set()
        try:
            return await future
        finally:  # a failed call's exception refers to this frame: no reference cycle through `future`
            del future

    async def close(self) -> None:
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
        for _, future in self._queue:
            future.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        expected = 1  # how many requests the last call answered: a measure of the load now
        while True:
            await self._pending.wait()
            # Let requests that are already being parsed join. Under load (the last call
            # answered several), also wait up to `max_wait` for as many as last time; a
            # request that finds the service quiet never waits.
            deadline = loop.time() + self.max_wait
            await asyncio.sleep(0)
            while len(self._queue) < min(expected, self.max_size) and loop.time() < deadline:
                await asyncio.sleep(0)
            batch, self._queue = self._queue[: self.max_size], self._queue[self.max_size :]
            if not self._queue:
                self._pending.clear()
            expected = len(batch)
            batch = [(item, future) for item, future in batch if not future.done()]  # drop cancelled
            if batch:
                outcomes = await self._call_each([item for item, _ in batch])
                for (_, future), (ok, outcome) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(outcome)
                    else:
                        future.set_exception(outcome)

    async def _call_each(self, items: list[Item]) -> list[tuple[bool, Result | BaseException]]:
        """One call for all items; if it fails, one call per item, so a bad item fails alone."""
        try:
            results = await self.call(items)
            if len(results) != len(items):
                raise RuntimeError(f"the model returned {len(results)} results for {len(items)} items")
            return [(True, result) for result in results]
        except Exception as error:
            if len(items) == 1:
                return [(False, error)]
            log.warning("a batch of %d failed; predicting its items one by one", len(items), exc_info=True)
        return [(await self._call_each([item]))[0] for item in items]
