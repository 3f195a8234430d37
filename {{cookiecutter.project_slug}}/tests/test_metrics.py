from .conftest import BATCH_KEY, BATCH_ROUTE, EXAMPLE, ROUTE


def test_a_single_request_sends_timer_and_request_counter(client, statsd_packets):
    assert client.post(ROUTE, json=EXAMPLE).status_code == 200
    lines = statsd_packets(expected=5)
    prefix = "{{ cookiecutter.project_slug }}"
    assert any(line.startswith(f"{prefix}.{{ cookiecutter.prediction_name }}.single:") and line.endswith("|ms") for line in lines), lines
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
