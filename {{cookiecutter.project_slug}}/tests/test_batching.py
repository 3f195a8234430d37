"""Micro-batching: grouped answers are the model's own answers, in order, and one bad item fails alone."""

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest

from {{ cookiecutter.package_name }} import model
from {{ cookiecutter.package_name }}.batching import MicroBatcher

from .conftest import EXAMPLE, serving


class Recorder:
    """A stand-in model that records each call; `slow` seconds per call, fails on `bad` items."""

    def __init__(self, slow: float = 0.0, bad: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.slow, self.bad = slow, bad

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
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


def test_grouped_valuations_equal_direct_predictions(artifact):
    loaded = model.load(artifact)
    houses = [
        model.Property(**{**EXAMPLE, "living_area_m2": 40 + 7 * i, "district": model.DISTRICTS[i % 8]})
        for i in range(40)
    ]
    calls: list[int] = []

    def predict(properties: list[model.Property]) -> list[float]:
        calls.append(len(properties))
        return loaded.predict(properties)

    results = run(gather(MicroBatcher(predict, max_size=16), houses))
    assert results == loaded.predict(houses)
    assert len(results) == len(set(results)) > 1  # different houses, different answers: order matters
    assert max(calls) <= 16 and len(calls) < 40


def test_a_row_gets_the_same_answer_alone_or_in_a_batch(artifact):
    loaded = model.load(artifact)
    houses = [model.Property(**{**EXAMPLE, "year_built": 1900 + 4 * i}) for i in range(30)]
    together = loaded.predict(houses)
    assert [loaded.predict([house])[0] for house in houses] == together
    assert len(set(together)) > 1


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
    houses = [{**EXAMPLE, "living_area_m2": 50.0 + 10 * i} for i in range(12)]
    expected = client.post("/valuation/batch", json={"properties": houses}).json()["valuations"]
    with ThreadPoolExecutor(max_workers=12) as pool:  # twelve requests in flight at once
        responses = list(pool.map(lambda house: client.post("/valuation", json=house), houses))
    assert [response.json()["valuation"] for response in responses] == expected
    assert len(set(expected)) == len(expected)


def test_a_closed_batcher_refuses_instead_of_leaving_the_request_waiting():
    async def scenario():
        batcher = MicroBatcher(Recorder())
        assert await batcher.submit(1) == 10
        await batcher.close()
        with pytest.raises(RuntimeError, match="closed"):
            await asyncio.wait_for(batcher.submit(2), timeout=1)

    run(scenario())


def test_a_running_batch_does_not_hold_up_single_requests(artifact):
    """A real server: single valuations sent while a large batch is checked and valued are answered
    in a fraction of the batch's own time (the batch route yields between chunks: api.py), instead
    of waiting for all of it. Timed against the batch itself, so a slow machine slows both."""
    rows = 20_000
    json_body = {"content-type": "application/json"}
    body = json.dumps({"properties": [EXAMPLE] * rows})
    with serving(artifact, BATCH_LIMIT=str(rows)) as (_, url), httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/valuation", json=EXAMPLE).status_code == 200  # warm

        def batch() -> tuple[float, float, int]:
            started = time.perf_counter()
            response = httpx.post(f"{url}/valuation/batch", content=body, headers=json_body, timeout=60)
            return started, time.perf_counter(), response.status_code

        singles = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(batch)
            while not running.done():
                started = time.perf_counter()
                assert client.post("/valuation", json=EXAMPLE).status_code == 200
                singles.append((started, time.perf_counter()))
            batch_started, batch_ended, status = running.result()
    assert status == 200
    took = batch_ended - batch_started
    during = [end - start for start, end in singles if start < batch_ended and end > batch_started]
    assert len(during) >= 3, f"only {len(during)} single requests were answered during a {took:.3f} s batch"
    assert max(during) < took / 2, f"a single request waited {max(during):.3f} s of a {took:.3f} s batch"
