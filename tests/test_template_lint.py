"""The template's own Python (hooks, tests, bench, tools) is held to the same standard as what it generates."""

from .conftest import TEMPLATE, run


def test_ruff_passes_on_the_templates_own_code():
    for args in (
        ["ruff", "check", "hooks", "tests", "bench", "tools"],
        ["ruff", "format", "--check", "hooks", "tests", "bench", "tools"],
    ):
        result = run(args, TEMPLATE)
        assert result.returncode == 0, result.stdout
