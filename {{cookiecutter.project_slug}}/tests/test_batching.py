{%- import "imports.jinja" as imports -%}
"""Micro-batching: grouped answers are the model's own answers, in order, and one bad item fails alone."""

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest

from {{ cookiecutter.package_name }} import model
from {{ cookiecutter.package_name }}.batching import MicroBatcher
{{ imports.line(cookiecutter.package_name ~ ".contract", ["EXAMPLES", cookiecutter.__item_class]) }}

from .conftest import ANSWER, ANSWERS, BATCH_KEY, BATCH_ROUTE, EXAMPLE, ROUTE, drawn_requests, serving

# Requests drawn from the contract, all different, in a fixed order.
ROWS = [{{ cookiecutter.__item_class }}(**record) for record in drawn_requests(40, seed=3)]


class Recorder:
    """A stand-in model that records each call; `slow` seconds per call (asleep, or computing when
    `busy`: the batcher times calls in CPU time), fails on `bad` items."""

    def __init__(self, slow: float = 0.0, bad: int | None = None, busy: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.threads: list[str] = []  # where each call ran
        self.slow, self.bad, self.busy = slow, bad, busy

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
        self.threads.append(threading.current_thread().name)
        if self.busy:
            started = time.thread_time()
            while time.thread_time() - started < self.slow:
                pass
        else:
            time.sleep(self.slow)
        if self.bad in items:
            raise ValueError(f"cannot value {self.bad}")
        return [item * 10 for item in items]


def run(coroutine):
    return asyncio.run(coroutine)


async def gather(batcher: MicroBatcher, items: list) -> list:
    try:
        return await asyncio.gather(*(batcher.submit(item) for item in items), return_exceptions=True)
    finally:
        await batcher.close()


def test_concurrent_requests_share_calls_and_get_their_own_answers():
    recorder = Recorder(slow=0.02)
    results = run(gather(MicroBatcher(recorder, max_size=64), list(range(50))))
    assert results == [item * 10 for item in range(50)]
    assert len(recorder.calls) < 50, "nothing was grouped"
    assert sorted(item for call in recorder.calls for item in call) == list(range(50))  # each item once


def test_grouped_answers_equal_direct_predictions(artifact):
    loaded = model.load(artifact)
    calls: list[int] = []

    def predict(items):
        calls.append(len(items))
        return loaded.predict(items)

    results = run(gather(MicroBatcher(predict, max_size=16), ROWS))
    assert results == loaded.predict(ROWS)
    assert len({repr(result) for result in results}) > 1  # different rows, different answers: order matters
    assert max(calls) <= 16 and len(calls) < 40


def test_a_row_gets_the_same_answer_alone_or_in_a_batch(artifact):
    loaded = model.load(artifact)
    together = loaded.predict(ROWS)
    assert [loaded.predict([row])[0] for row in ROWS] == together
    assert len({repr(answer) for answer in together}) > 1


def test_one_bad_item_fails_alone():
    recorder = Recorder(bad=3)
    results = run(gather(MicroBatcher(recorder), [1, 2, 3, 4]))
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError) and "cannot value 3" in str(results[2])


def test_a_failed_batch_does_not_stop_the_batcher():
    async def scenario():
        batcher = MicroBatcher(Recorder(bad=1))
        try:
            with pytest.raises(ValueError):
                await batcher.submit(1)
            return await batcher.submit(2)
        finally:
            await batcher.close()

    assert run(scenario()) == 20


def test_a_model_that_returns_the_wrong_count_is_an_error_not_a_mix_up():
    results = run(gather(MicroBatcher(lambda items: items[:1] * 3), [1, 2]))
    assert [type(result) for result in results] == [RuntimeError, RuntimeError]
    assert "3 results for 1 items" in str(results[0])


def test_max_size_caps_each_call():
    recorder = Recorder(slow=0.01)
    run(gather(MicroBatcher(recorder, max_size=4), list(range(20))))
    assert max(len(call) for call in recorder.calls) <= 4


async def after_a_batch_of_three(batcher: MicroBatcher) -> None:
    """Put the batcher under load: its last call answered three requests."""
    assert await asyncio.gather(batcher.submit(7), batcher.submit(8), batcher.submit(9)) == [70, 80, 90]


def test_a_request_at_a_quiet_service_never_waits():
    async def timed() -> float:
        batcher = MicroBatcher(Recorder(), max_wait_ms=500)
        try:
            await batcher.submit(1)  # the last call answered one: quiet
            started = time.perf_counter()
            assert await batcher.submit(2) == 20
            return time.perf_counter() - started
        finally:
            await batcher.close()

    assert run(timed()) < 0.1


def test_under_load_a_lone_request_waits_at_most_the_bound():
    recorder = Recorder()

    async def timed(wait_ms: float) -> float:
        batcher = MicroBatcher(recorder, max_wait_ms=wait_ms)
        try:
            await after_a_batch_of_three(batcher)
            started = time.perf_counter()
            assert await batcher.submit(2) == 20  # nobody else comes
            return time.perf_counter() - started
        finally:
            await batcher.close()

    waited = run(timed(30))
    assert 0.025 <= waited < 0.25, waited
    assert recorder.calls[-1] == [2]
    assert run(timed(0)) < 0.1


def test_under_load_the_wait_gathers_requests_that_arrive_within_it():
    recorder = Recorder()

    async def staggered():
        batcher = MicroBatcher(recorder, max_wait_ms=200)
        try:
            await after_a_batch_of_three(batcher)

            async def later(item: int, delay: float) -> int:
                await asyncio.sleep(delay)
                return await batcher.submit(item)

            started = time.perf_counter()
            results = await asyncio.gather(later(1, 0), later(2, 0.01), later(3, 0.02))
            return results, time.perf_counter() - started
        finally:
            await batcher.close()

    results, took = run(staggered())
    assert results == [10, 20, 30]
    assert recorder.calls[-1] == [1, 2, 3]
    assert took < 0.15, "the wait should end as soon as the expected three have arrived"


def test_service_answers_concurrent_requests_in_order(client):
    items = [row.model_dump() for row in ROWS[:12]] + EXAMPLES
    expected = client.post(BATCH_ROUTE, json={BATCH_KEY: items}).json()[ANSWERS]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:  # every request in flight at once
        responses = list(pool.map(lambda item: client.post(ROUTE, json=item), items))
    assert [response.json()[ANSWER] for response in responses] == expected
    assert len({repr(response.json()) for response in responses}) > 1


def test_a_closed_batcher_refuses_instead_of_leaving_the_request_waiting():
    async def scenario():
        batcher = MicroBatcher(Recorder())
        assert await batcher.submit(1) == 10
        await batcher.close()
        with pytest.raises(RuntimeError, match="closed"):
            await asyncio.wait_for(batcher.submit(2), timeout=1)

    run(scenario())


def test_a_running_batch_does_not_hold_up_single_requests(artifact):
    """A real server: single requests sent while a large batch is checked and answered get their
    answers in a fraction of the batch's own time (the batch route yields between chunks: api.py), instead
    of waiting for all of it. Timed against the batch itself, so a slow machine slows both."""
    rows = 20_000
    json_body = {"content-type": "application/json"}
    body = json.dumps({BATCH_KEY: [EXAMPLE] * rows})
    with serving(artifact, BATCH_LIMIT=str(rows)) as (_, url), httpx.Client(base_url=url, timeout=60) as client:
        assert client.post(ROUTE, json=EXAMPLE).status_code == 200  # warm

        def batch() -> tuple[float, float, int]:
            started = time.perf_counter()
            response = httpx.post(f"{url}{BATCH_ROUTE}", content=body, headers=json_body, timeout=60)
            return started, time.perf_counter(), response.status_code

        singles = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(batch)
            while not running.done():
                started = time.perf_counter()
                assert client.post(ROUTE, json=EXAMPLE).status_code == 200
                singles.append((started, time.perf_counter()))
            batch_started, batch_ended, status = running.result()
    assert status == 200
    took = batch_ended - batch_started
    during = [end - start for start, end in singles if start < batch_ended and end > batch_started]
    assert len(during) >= 3, f"only {len(during)} single requests were answered during a {took:.3f} s batch"
    assert max(during) < took / 2, f"a single request waited {max(during):.3f} s of a {took:.3f} s batch"


def test_short_calls_stay_on_the_event_loop_and_long_ones_move_to_the_model_thread():
    async def calls(recorder: Recorder) -> list[str]:
        batcher = MicroBatcher(recorder, thread_after_ms=5)
        try:
            for item in range(8):
                assert await batcher.submit(item) == item * 10
            return recorder.threads
        finally:
            await batcher.close()

    loop_thread = threading.current_thread().name  # asyncio.run runs the loop in this thread
    assert set(run(calls(Recorder()))) == {loop_thread}
    slow = run(calls(Recorder(slow=0.02, busy=True)))  # 20 ms of CPU time a call, however busy the machine
    assert slow[0] == loop_thread, "the first call has no measured cost yet"
    assert set(slow[1:]) == {"model_0"}, slow


def test_while_a_long_call_runs_on_the_model_thread_requests_queue_for_the_next_call():
    """The event loop is free during a long call: requests that arrive meanwhile are read and
    grouped into the next call, with no wait configured. (The stand-in sleeps, letting go of
    Python's lock as ONNX Runtime does while it computes.)"""
    recorder = Recorder(slow=0.05)

    async def scenario() -> tuple[list, int]:
        batcher = MicroBatcher(recorder, thread_after_ms=0)  # every call after the first on the model thread
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        try:
            await batcher.submit(0)  # measured: slow from now on
            ticker = asyncio.create_task(ticking())
            first = asyncio.ensure_future(batcher.submit(1))
            await asyncio.sleep(0.01)  # the call for 1 is running on the model thread
            rest = await asyncio.gather(*(batcher.submit(item) for item in range(2, 8)))
            ticker.cancel()
            return [await first, *rest], ticks
        finally:
            await batcher.close()

    results, ticks = run(scenario())
    assert results == [item * 10 for item in range(1, 8)]
    assert recorder.calls[1:] == [[1], [2, 3, 4, 5, 6, 7]]
    assert ticks >= 5, "the event loop was held up during the model calls"


def test_batch_requests_take_turns_and_their_chunks_get_the_models_answers(client):
    """Concurrent batch requests (chunked, one at a time: api.py, batching.py) each get their own
    answers, equal to single requests' answers."""
    items = [row.model_dump() for row in ROWS]
    singles = [client.post(ROUTE, json=item).json()[ANSWER] for item in items]
    bodies = [{BATCH_KEY: items[start:] + items[:start]} for start in (0, 7, 19, 31)]
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        responses = list(pool.map(lambda body: client.post(BATCH_ROUTE, json=body), bodies))
    for start, response in zip((0, 7, 19, 31), responses, strict=True):
        assert response.status_code == 200
        assert response.json()[ANSWERS] == singles[start:] + singles[:start]
