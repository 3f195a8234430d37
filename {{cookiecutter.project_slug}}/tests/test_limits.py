"""Hostile input against the Dockerfile's command (a real uvicorn process): bodies far over the
limit, answers that could echo them, and floods past the bound on requests in flight."""

import json
import select
import socket
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from {{ cookiecutter.package_name }}.contract import {{ cookiecutter.__item_class }}
from {{ cookiecutter.package_name }}.main import MAX_ERRORS
from {{ cookiecutter.package_name }}.settings import Settings

from .conftest import BATCH_KEY, BATCH_ROUTE, EXAMPLE, ROUTE
from .test_server import serving

DEFAULTS = Settings()
MiB = 1 << 20
FIRST, SECOND = list({{ cookiecutter.__item_class }}.model_fields)[:2]  # two fields of the request, in their order
# A body with only an unknown field: every required field is missing, then the unknown one. A 422
# lists MAX_ERRORS of them and counts the rest (a contract may have more than 20 required fields).
REQUIRED = [name for name, field in {{ cookiecutter.__item_class }}.model_fields.items() if field.is_required()]
MISSING = [*REQUIRED, "notes"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads memory figures from /proc")


@pytest.fixture(scope="module")
def server(artifact):
    with serving(artifact) as running:
        yield running


def worker_pids(pid: int) -> list[int]:
    """The uvicorn processes that serve requests: the workers, or the process itself if it has none."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children] or [pid]


def memory_mib(pid: int, field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def post_raw(url: str, path: str, chunks: Iterable[bytes], length: int | None) -> tuple[int, dict[str, str], bytes]:
    """POST `chunks` as they come (with Content-Length, or chunked when `length` is None) and stop
    sending as soon as the server answers, as a well-behaved client does; return the answer."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
        sock.sendall(request_head(path, framing))
        try:
            for chunk in chunks:
                if select.select([sock], [], [], 0)[0]:  # answered already
                    break
                sock.sendall(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                if length is None:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the server closed the connection: read its answer
            pass
        answer = b""
        while (part := sock.recv(65536)) and not complete(answer := answer + part):
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


def request_head(path: str, framing: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n{framing}\r\n\r\n".encode()


def complete(answer: bytes) -> bool:
    head, found, body = answer.partition(b"\r\n\r\n")
    length = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return bool(found and length) and len(body) >= int(length[0].split(b":")[1])


def huge_string_field(size: int) -> tuple[Iterable[bytes], int]:
    """A JSON body of `size` bytes whose first field is one long string, in chunks made as they are
    sent, and its length."""
    head, tail, block = b"{" + json.dumps(FIRST).encode() + b': "', b'"}', 64 * 1024
    filler = size - len(head) - len(tail)
    chunks = (head, *(b"x" * min(block, filler - start) for start in range(0, filler, block)), tail)
    return (chunk for chunk in chunks), size


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("times", [10, 1000])
@pytest.mark.parametrize(
    ("path", "limit"), [(ROUTE, DEFAULTS.max_body_bytes), (BATCH_ROUTE, DEFAULTS.batch_body_bytes)]
)
def test_bodies_over_the_limit_get_413_and_the_worker_stays_small(server, path, limit, times, framing):
    proc, url = server
    workers = worker_pids(proc.pid)
    before = {}
    for pid in workers:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from the resident size now
        before[pid] = memory_mib(pid, "VmRSS")
    chunks, length = huge_string_field(limit * times)
    status, headers, body = post_raw(url, path, chunks, length if framing == "content-length" else None)
    assert status == 413
    assert json.loads(body) == {
        "detail": f"The request body is larger than this route's limit of {limit} bytes.",
        "limit_bytes": limit,
    }
    assert headers["connection"] == "close"  # the rest of the body is never read
    growth = max(memory_mib(pid, "VmHWM") - before[pid] for pid in workers)
    assert growth < 50, f"peak memory grew by {growth:.0f} MiB"
    assert httpx.post(f"{url}{ROUTE}", json=EXAMPLE).status_code == 200


def test_a_content_length_over_the_limit_is_refused_before_any_body_is_sent(server):
    _, url = server
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(request_head(ROUTE, f"content-length: {DEFAULTS.max_body_bytes + 1}"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 413 ")


def test_a_body_at_the_limit_is_read(server):
    _, url = server
    padded = json.dumps(EXAMPLE).encode().ljust(DEFAULTS.max_body_bytes)  # JSON allows trailing spaces
    for framing in (len(padded), None):
        status, _, body = post_raw(url, ROUTE, [padded[:1000], padded[1000:]], framing)
        assert status == 200, body


@pytest.fixture(scope="module")
def lenient_server(artifact):
    """Body limits far above the defaults: the 422 answers must stay small on their own."""
    with serving(artifact, MAX_BODY_BYTES=str(64 * MiB), BATCH_RECORD_BYTES=str(64 * MiB)) as running:
        yield running


@pytest.mark.parametrize(
    ("path", "body", "fields", "more_errors"),
    [
        (ROUTE, {**EXAMPLE, FIRST: "x" * 4 * MiB}, [["body", FIRST]], 0),
        (
            ROUTE,
            {"notes": "y" * 4 * MiB},
            [["body", name] for name in MISSING[:MAX_ERRORS]],
            max(len(MISSING) - MAX_ERRORS, 0),
        ),
        (ROUTE, {**EXAMPLE, "z" * 4 * MiB: 1}, [["body", "z" * 100 + "..."]], 0),
        (BATCH_ROUTE, {BATCH_KEY: [EXAMPLE] * (DEFAULTS.batch_limit + 1)}, [["body", BATCH_KEY]], 0),
        (
            BATCH_ROUTE,
            {BATCH_KEY: [{**EXAMPLE, FIRST: "q" * 1000, SECOND: {"not": "a value"}}] * DEFAULTS.batch_limit},
            [["body", BATCH_KEY, 0, FIRST], ["body", BATCH_KEY, 0, SECOND]],
            2 * DEFAULTS.batch_limit - 20,  # two per row: counted, not listed
        ),
    ],
    ids=["4 MiB in a field", "missing fields in a 4 MiB body", "4 MiB field name", "over-long batch", "bad rows"],
)
def test_422_answers_stay_small_and_name_the_fields(lenient_server, path, body, fields, more_errors):
    _, url = lenient_server
    response = httpx.post(f"{url}{path}", json=body, timeout=60)
    assert response.status_code == 422
    assert len(response.content) < 64 * 1024
    answer = response.json()
    named = [error["loc"] for error in answer["detail"]]
    assert all(field in named for field in fields), named
    assert all(len(json.dumps(error.get("input"))) < 200 for error in answer["detail"])  # an excerpt at most
    assert answer.get("more_errors", 0) == more_errors


def test_a_flood_past_the_in_flight_bound_gets_fast_503s_and_the_service_stays_healthy(artifact):
    body = json.dumps(EXAMPLE).encode()
    # One worker, whatever the Dockerfile runs: the bound is per worker. LOG_LEVEL=WARNING: no
    # access line per 503, which would fill the pipe the test does not read.
    with serving(artifact, workers=1, MAX_IN_FLIGHT="4", LOG_LEVEL="WARNING") as (proc, url):
        address = urlsplit(url)
        [worker] = worker_pids(proc.pid)
        Path(f"/proc/{worker}/clear_refs").write_text("5")
        before = memory_mib(worker, "VmRSS")
        # Four slow clients hold the four places: their requests are in flight until their bodies end.
        slow = [socket.create_connection((address.hostname, address.port), timeout=10) for _ in range(4)]
        for sock in slow:
            sock.sendall(request_head(ROUTE, f"content-length: {len(body)}") + body[:10])
        time.sleep(0.5)

        flood: list[tuple[httpx.Response, float]] = []
        with httpx.Client(base_url=url, timeout=10) as client:
            for _ in range(300):
                started = time.perf_counter()
                flood.append((client.post(ROUTE, json=EXAMPLE), time.perf_counter() - started))
            health = client.get("/health-check")  # never refused: the task is busy, not broken

        assert {response.status_code for response, _ in flood} == {503}  # and no other 5xx
        assert all(response.headers["retry-after"] == "1" for response, _ in flood)
        assert "limit of 4 requests in flight" in flood[0][0].json()["detail"]
        assert statistics.median(seconds for _, seconds in flood) < 0.05  # answered at once, not queued
        assert health.json() == {"status": "healthy"}

        for sock in slow:  # the held requests finish, and are served
            sock.sendall(body[10:])
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            sock.close()
        assert proc.poll() is None
        assert httpx.post(f"{url}{ROUTE}", json=EXAMPLE).status_code == 200
        growth = memory_mib(worker, "VmHWM") - before
        assert growth < 50, f"peak memory grew by {growth:.0f} MiB"
