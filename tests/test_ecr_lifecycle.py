"""The ECR lifecycle policy never expires the image the service runs, nor the one before it.

moto stores lifecycle policies but never evaluates them, so this evaluates the rendered
policy as the Amazon ECR User Guide documents it ("Automate the cleanup of images by using
lifecycle policies", lifecycle policy evaluation rules):
- rules are applied in rulePriority order, lowest first;
- imageCountMoreThan sorts the images a rule selects from newest to oldest push and
  expires those beyond countNumber;
- an image that matches the tagging requirements of a rule cannot be expired by a rule
  with a lower priority; an image is expired by at most one rule.
The evaluator is first checked against the outcome of the guide's own "Example A".
"""

import fnmatch
import json
from dataclasses import dataclass

import pytest

from .test_infra import template

# The deploy (scripts/lib.sh, mark_running) moves these two tags; the repositories let only them move.
RUNNING, PREVIOUS = "running", "previous"


@dataclass(frozen=True)
class Image:
    name: str
    tags: frozenset
    pushed: int  # push order: higher is newer


def selects(selection: dict, image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    if "tagPatternList" in selection:  # every pattern must match one of the image's tags
        return all(any(fnmatch.fnmatchcase(t, p) for t in image.tags) for p in selection["tagPatternList"])
    return all(any(t.startswith(p) for t in image.tags) for p in selection["tagPrefixList"])


def expired(policy: dict, images: list[Image]) -> set[str]:
    gone: set[str] = set()
    matched_higher: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        assert selection["countType"] == "imageCountMoreThan", "this evaluator knows count rules only"
        chosen = sorted((i for i in images if selects(selection, i)), key=lambda i: i.pushed, reverse=True)
        for image in chosen[selection["countNumber"] :]:
            if image.name not in matched_higher:
                gone.add(image.name)
        matched_higher |= {i.name for i in chosen}
    return gone


def image(name: str, pushed: int, *tags: str) -> Image:
    return Image(name, frozenset(tags), pushed)


def test_the_evaluator_gives_the_outcome_of_the_ecr_guide_example_a():
    """Example A (Amazon ECR User Guide, "Examples of lifecycle policies"): only image A expires."""
    images = [image("A", 1, "beta-1", "prod-1"), image("B", 2, "beta-2", "prod-2"), image("C", 3, "beta-3")]
    rule = {"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}
    policy = {
        "rules": [
            {"rulePriority": 1, "selection": {**rule, "tagPatternList": ["prod*"]}},
            {"rulePriority": 2, "selection": {**rule, "tagPatternList": ["beta*"]}},
        ]
    }
    assert expired(policy, images) == {"A"}


@pytest.fixture(scope="module")
def policies(default_project) -> dict[str, dict]:
    """The lifecycle policy of each repository in the default bake, as ECR receives it."""
    keep = json.loads((default_project / "infra/params/dev.json").read_text())["infra"]["KeepImages"]
    resources = template(default_project, "ecr.yaml")["Resources"]
    found = {
        name: json.loads(r["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"].replace("${KeepImages}", str(keep)))
        for name, r in resources.items()
        if r["Type"] == "AWS::ECR::Repository"
    }
    assert set(found) == {"Repository", "AgentRepository"}
    return found


def deploys(newer_pushes: int) -> list[Image]:
    """An old commit redeployed (a rollback), the one before it older still, then many newer pushes."""
    return [
        image("ran-before", 1, "c1", PREVIOUS),
        image("runs", 2, "c2", RUNNING),
        *(image(f"newer-{n}", 3 + n, f"c{3 + n}") for n in range(newer_pushes)),
    ]


@pytest.mark.parametrize("newer_pushes", [0, 9, 10, 50])
def test_the_running_and_previous_images_survive_any_number_of_newer_pushes(policies, newer_pushes):
    for name, policy in policies.items():
        gone = expired(policy, deploys(newer_pushes))
        assert not gone & {"runs", "ran-before"}, name


def test_the_newest_images_are_kept_and_older_ones_expire(policies, default_project):
    keep = json.loads((default_project / "infra/params/dev.json").read_text())["infra"]["KeepImages"]
    gone = expired(policies["Repository"], deploys(3 * keep))
    assert len(gone) == 2 * keep  # all but the newest KeepImages and the two in use
    assert not any(f"newer-{n}" in gone for n in range(2 * keep, 3 * keep))


def test_without_the_running_tag_the_policy_would_expire_the_running_image(policies):
    """The protection comes from the tag: the same image untagged is expired (the old policy's defect)."""
    images = [i if i.name != "runs" else image("runs", 2, "c2") for i in deploys(50)]
    assert "runs" in expired(policies["Repository"], images)


def test_only_the_two_moving_tags_are_mutable(default_project):
    for name, resource in template(default_project, "ecr.yaml")["Resources"].items():
        properties = resource["Properties"]
        assert properties["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION", name
        filters = properties["ImageTagMutabilityExclusionFilters"]
        found = {
            (f["ImageTagMutabilityExclusionFilterType"], f["ImageTagMutabilityExclusionFilterValue"]) for f in filters
        }
        assert found == {("WILDCARD", RUNNING), ("WILDCARD", PREVIOUS)}, name
