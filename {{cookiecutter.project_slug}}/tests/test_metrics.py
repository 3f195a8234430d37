import asyncio

from {{ cookiecutter.package_name }} import metrics

from .conftest import BATCH_KEY, BATCH_ROUTE, EXAMPLE, ROUTE


def test_a_single_request_sends_timer_and_request_counter(client, statsd_packets):
    assert client.post(ROUTE, json=EXAMPLE).status_code == 200
    lines = statsd_packets(expected=5)
    prefix = "{{ cookiecutter.project_slug }}"
    single = f"{prefix}.{{ cookiecutter.prediction_name }}.single:"
    assert any(line.startswith(single) and line.endswith("|ms") for line in lines), lines
    assert f"{prefix}.requests.{{ cookiecutter.prediction_name }}:1|c" in lines
    assert f"{prefix}.responses.2xx:1|c" in lines
    assert f"{prefix}.{{ cookiecutter.prediction_name }}.rows:1|c" in lines


def test_batch_sends_batch_timer(client, statsd_packets):
    assert client.post(BATCH_ROUTE, json={BATCH_KEY: [EXAMPLE] * 3}).status_code == 200
    lines = statsd_packets(expected=4)
    assert any(".{{ cookiecutter.prediction_name }}.batch:" in line for line in lines), lines
    assert "{{ cookiecutter.project_slug }}.{{ cookiecutter.prediction_name }}.rows:3|c" in lines


def test_client_errors_are_counted_by_status_class(client, statsd_packets):
    assert client.post(ROUTE, json={}).status_code == 422
    assert "{{ cookiecutter.project_slug }}.responses.4xx:1|c" in statsd_packets(expected=2)


def test_what_waits_in_the_buffer_is_sent_when_the_sender_stops(statsd_packets, monkeypatch):
    """main.lifespan stops the sender at shutdown: the last metrics are sent then, not lost."""
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 3600)  # no periodic send during the test

    async def serve_one_then_stop() -> None:
        sender = asyncio.create_task(metrics.send_pending())
        await asyncio.sleep(0)
        metrics.record_request("{{ cookiecutter.prediction_name }}", 200, 1.5)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)

    asyncio.run(serve_one_then_stop())
    assert not metrics.counts and not metrics.timings  # sent as the sender stopped, nothing left waiting
    lines = statsd_packets(expected=3)
    prefix = "{{ cookiecutter.project_slug }}"
    assert {
        f"{prefix}.requests.{{ cookiecutter.prediction_name }}:1|c",
        f"{prefix}.responses.2xx:1|c",
        f"{prefix}.{{ cookiecutter.prediction_name }}.single:1.500000|ms",
    } <= set(lines)
