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

The call runs on the event loop itself: it is short, and a worker thread would only add
a hand-over per call (the event loop and the model would still share one vCPU).

Settings (settings.py): `MICRO_BATCH_SIZE` caps the requests one call answers (1 turns
grouping off); `MICRO_BATCH_WAIT_MS` bounds the wait under load (0, the default, never waits).
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
log = logging.getLogger(__name__)


class MicroBatcher(Generic[Item, Result]):
    """Runs `call_many(items) -> results` (one result per item, in order) for queued items."""

    def __init__(
        self, call_many: Callable[[list[Item]], Sequence[Result]], max_size: int = 64, max_wait_ms: float = 0
    ) -> None:
        self._call_many = call_many
        self.max_size = max_size
        self.max_wait = max_wait_ms / 1000
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._pending = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: Item) -> Result:
        """The answer for one item, computed together with whatever else is queued."""
        if self._closed:
            raise RuntimeError("the batcher is closed (the app is shutting down)")
        if self._worker is None:
            self._worker = asyncio.create_task(self._serve(), name="micro-batcher")
        future = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._pending.set()
        return await future

    async def close(self) -> None:
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
        for _, future in self._queue:
            future.cancel()

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
                outcomes = self._call_each([item for item, _ in batch])
                for (_, future), (ok, outcome) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(outcome)
                    else:
                        future.set_exception(outcome)

    def _call_each(self, items: list[Item]) -> list[tuple[bool, Result | BaseException]]:
        """One call for all items; if it fails, one call per item, so a bad item fails alone."""
        try:
            results = self._call_many(items)
            if len(results) != len(items):
                raise RuntimeError(f"the model returned {len(results)} results for {len(items)} items")
            return [(True, result) for result in results]
        except Exception as error:
            if len(items) == 1:
                return [(False, error)]
            log.warning("a batch of %d failed; predicting its items one by one", len(items), exc_info=True)
        return [self._call_each([item])[0] for item in items]
