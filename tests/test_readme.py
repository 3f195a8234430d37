"""The generated README reads in one sitting; reference material is in docs/, each page linked."""

import re

import pytest

from .conftest import TEMPLATE, bake
from .test_matrix import CERTIFICATE, MATRIX, README_MAX_LINES

DOCS_PAGES = {
    "api.md",
    "architecture.md",
    "configuration.md",
    "costs.md",
    "deploying.md",
    "model.md",
    "observability.md",
    "operations.md",
    "performance.md",
}
LINK = re.compile(r"\]\(((?:docs/)?[a-z-]+\.md)(?:#[^)]*)?\)")
# Measured figures belong on docs/performance.md only. Milliseconds and MiB are left out:
# settings and thresholds are written in them (`MICRO_BATCH_WAIT_MS`, the latency alarm).
MEASURED = re.compile(r"µs|req/s|%|GiB|\d\.\d+x\b|x faster|times as many|a third|a fifth", re.IGNORECASE)

# The options that add or swap the most README text, to hold the line limit where it is longest.
FULL = {
    "deploy_identity": "access_keys",
    "ecs_exec": True,
    "alb_access_logs": True,
    "hosted_zone_name": "internal.example.com",
    "certificate_arn": CERTIFICATE,
    "nat_gateways": "single",
}


def check_readme_and_docs(project):
    readme = (project / "README.md").read_text()
    lines = readme.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines"
    assert {p.name for p in (project / "docs").glob("*.md")} == DOCS_PAGES
    linked = {target.removeprefix("docs/") for target in LINK.findall(readme)}
    assert linked == DOCS_PAGES, "every docs page is linked from the README, and every link has its page"
    for page in DOCS_PAGES:
        text = (project / "docs" / page).read_text()
        for target in LINK.findall(text):
            assert (project / "docs" / target).is_file(), f"docs/{page} links to a missing {target}"
    for path in [project / "README.md", *(project / "docs").glob("*.md")]:
        if path.name != "performance.md":
            found = MEASURED.findall(path.read_text())
            assert not found, f"{path.relative_to(project)}: measured figures {found} belong on docs/performance.md"


def test_the_default_readme_reads_in_one_sitting_and_links_every_docs_page(default_project):
    check_readme_and_docs(default_project)


@pytest.mark.parametrize("answers", [FULL], ids=["full-options"])
def test_the_longest_readme_still_reads_in_one_sitting(cookies, answers):
    result = bake(cookies, **answers)
    assert result.exit_code == 0, result.exception
    check_readme_and_docs(result.project_path)


def test_the_performance_page_dates_its_figures_and_names_the_machine(default_project):
    page = (default_project / "docs" / "performance.md").read_text()
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", page)
    assert "2 CPUs" in page and "Python 3." in page


MODEL_IN_DEV_MAX = 25  # USD a month at list prices: the most a model added to an environment may cost in dev


def cost_row(readme: str, pattern: str) -> list[list[int]]:
    """The dev and prod figures of a README cost row (each a list: "1 + 11 + 1 + 3")."""
    found = re.search(rf"^\| {pattern} \| ([\d +]+) \| ([\d +]+) \|$", readme, re.MULTILINE)
    assert found, f"no README cost row {pattern}"
    return [[int(n) for n in found.group(i).split(" + ")] for i in (1, 2)]


def test_the_readme_itemises_the_environment_and_each_models_monthly_cost(default_project, bake_once):
    shared = bake_once(next(c for c in MATRIX if c.get("infrastructure") == "shared"))
    for project in (default_project, shared):
        readme = (project / "README.md").read_text()
        costs = (project / "docs" / "costs.md").read_text()
        environment = cost_row(readme, r"The environment ml-models, once per account: [^|]+")
        task = cost_row(readme, r"Each model: Fargate tasks? \(\d+ CPU units\)")
        rest = cost_row(readme, r"Each model: logs, metrics, alarms, dashboard(?:, releases \([^)]*\))?")
        found = re.search(r"^\| \*\*Each model\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \|$", readme, re.MULTILINE)
        assert found, project.name
        total = [int(found.group(1)), int(found.group(2))]
        for env in (0, 1):
            items = task[env] + rest[env]  # task, logs, metrics, alarms, dashboard (and a canary's releases)
            assert len(items) in (5, 6) and abs(sum(items) - total[env]) <= 2  # each figure rounded on its own
        assert total[0] <= MODEL_IN_DEV_MAX, f"an added model costs ${total[0]} a month in dev"
        # The same figures as docs/costs.md, computed once (templates/costs.jinja).
        assert f"| **Each model** | | **{total[0]}** | **{total[1]}** |" in costs
        assert f"| **Environment** | | **{environment[0][0]}** | **{environment[1][0]}** |" in costs


TEMPLATE_README_MAX_LINES = 150


def test_the_templates_readme_reads_in_one_sitting_and_leaves_figures_to_bench():
    readme = (TEMPLATE / "README.md").read_text()
    assert readme.count("\n") <= TEMPLATE_README_MAX_LINES
    first_block = readme.split("```")[1]
    assert "make bake" in first_block and "make test" in first_block  # the two commands come first
    assert MEASURED.findall(readme) == [], "measured figures belong under bench/"
    assert "(bench/README.md)" in readme
    assert "results/latest.md" in (TEMPLATE / "bench" / "README.md").read_text()  # it links the dated results
