"""Every valid answer bakes: answer sets drawn by hypothesis from the whole space the answer
checks allow (tests/answer_draws.py) each bake with every validator strict (VALIDATE_STRICT=1:
ruff, cfn-lint, checkov, hadolint, check-jsonschema, the IAM checks), or are refused by the
answer checks with a message that names the field (test_answers.py shows nothing is written).

The draws are fixed by SEED, so CI bakes the same DRAWN_BAKES answer sets (25) every run, five
to a test, and pytest-xdist spreads the tests over its workers. A refused draw costs no bake and
does not count. The first bake of each test also runs its own tests/test_api.py, which calls the
routes, batch keys and answer fields the drawn names made.

Locally, 200 draws: `make test-drawn` (DRAWN_BAKES=<n> for more, DRAWN_SEED=<n> for other draws).
A failure prints the answers as a `cookiecutter --no-input` command, to bake them by hand.
"""

import os
import shlex
import shutil
import sys

import click
import pytest
from hypothesis import HealthCheck, Phase, given, reject, seed, settings

from .answer_draws import answer_sets
from .conftest import BAKE_PYTEST, OPTIONS, bake, run

SEED = int(os.environ.get("DRAWN_SEED", "20261205"))
BAKES = int(os.environ.get("DRAWN_BAKES", "25"))
PER_PART = 5  # bakes per test: small parts keep both workers busy to the end
PARTS = -(-BAKES // PER_PART)


def command(answers: dict) -> str:
    return "VALIDATE_STRICT=1 cookiecutter --no-input . " + " ".join(
        shlex.quote(f"{k}={v}") for k, v in answers.items()
    )


def refused_fields(message: str) -> list[str]:
    return [line[4:].split(":", 1)[0] for line in message.splitlines() if line.startswith("  - ")]


@pytest.mark.parametrize("part", range(PARTS))
def test_drawn_answers_bake_strictly_or_are_refused_by_name(cookies_session, capfd, part):
    baked = []

    @seed(SEED + part)
    @settings(
        max_examples=PER_PART,  # a refused draw is rejected below: it does not count
        deadline=None,
        database=None,  # the same draws every run: no replay of earlier failures
        phases=[Phase.generate],  # no shrinking: each step would be another strict bake
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(answer_sets())
    def bake_or_refuse(answers):
        capfd.readouterr()
        result = bake(cookies_session, **answers)
        if isinstance(result.exception, click.ClickException):
            message = str(result.exception.message)
            assert message.startswith("The template was not generated; fix these answers:"), message
            fields = refused_fields(message)
            assert fields and set(fields) <= set(OPTIONS), message  # each error names an answer
            reject()  # refused by name, as it should be; a bake is what counts
        output = capfd.readouterr()
        assert result.exit_code == 0, (
            f"{command(answers)}\nfailed: {result.exception!r}\n{output.out[-4000:]}{output.err[-2000:]}"
        )
        if not baked:  # the first bake of each test also serves its names: their routes, keys and fields
            api = run(
                [sys.executable, *BAKE_PYTEST, "tests/test_api.py"],
                result.project_path,
            )
            assert api.returncode == 0, f"{command(answers)}\n{api.stdout[-4000:]}"
        baked.append(answers)
        shutil.rmtree(result.project_path)  # hundreds of bakes locally: keep the disk

    bake_or_refuse()
    assert len(baked) == PER_PART
