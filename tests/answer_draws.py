"""Hypothesis strategies for whole answer sets, drawn from the space hooks/answers.py allows.

Each field is drawn from the grammar its check accepts (the same regular expressions, the
same bounds), leaning on the edges: the longest slugs and names, digits and underscores,
irregular plurals, names the generated code already uses for something else, free text
with any printable character the checks let through, and every choice. Some answers are
left out so that cookiecutter derives them (the slug from the project name, the plurals,
the description). Draws the checks refuse are part of the space too: the test expects
those to be refused with a message that names the field.
"""

import ipaddress
import re
import string
import sys
from pathlib import Path

from hypothesis import strategies as st

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE))
from hooks import answers as checks  # noqa: E402  (the template's answer checks)

FARGATE_MEMORY = checks.FARGATE_MEMORY

# Nouns whose plural the default derivation gets wrong, so a team answers it.
IRREGULAR = [
    ("person", "people"),
    ("diagnosis", "diagnoses"),
    ("analysis", "analyses"),
    ("child", "children"),
    ("criterion", "criteria"),
    ("datum", "data"),
    ("index", "indices"),
    ("mouse", "mice"),
    ("sheep", "sheep_records"),
    ("bus", "buses"),
    ("quiz", "quizzes"),
    ("leaf", "leaves"),
    ("cactus", "cacti"),
    ("phenomenon", "phenomena"),
]


def words_of_the_generated_code() -> list[str]:
    """Lowercase identifiers the generated Python already uses (variables, fields, modules,
    parameters): a name answered equal to one of them is where clashes hide."""
    found = set()
    for path in (TEMPLATE / "{{cookiecutter.project_slug}}").rglob("*.py"):
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", path.read_text())
        found.update(re.findall(r"(?<![A-Za-z0-9_.])[a-z][a-z0-9_]*[a-z0-9](?![A-Za-z0-9_])", text))
    return sorted(word for word in found if checks.NAME.fullmatch(word) and "__" not in word)


CODE_WORDS = words_of_the_generated_code()
RISKY = ["password", "secret", "token", "json", "dict", "copy", "schema", "validate", "currency", "label"]


def regex(pattern) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


# A name: lowercase letters, digits and single underscores, 2 to 30 characters (check_model_names).
NAME_CHARS = string.ascii_lowercase + string.digits + "_"


@st.composite
def identifier(draw, low: int = 2, high: int = 30) -> str:
    size = draw(st.sampled_from([low, high, high - 1]) | st.integers(low, high))
    first = draw(st.sampled_from(string.ascii_lowercase))
    middle = draw(st.text(NAME_CHARS, min_size=size - 2, max_size=size - 2)) if size > 2 else ""
    last = draw(st.sampled_from(string.ascii_lowercase + string.digits)) if size > 1 else ""
    return re.sub("_+", "_", first + middle + last)


def name() -> st.SearchStrategy[str]:
    return st.one_of(
        identifier(),
        st.sampled_from(CODE_WORDS),
        st.sampled_from(RISKY),
        st.sampled_from([noun for pair in IRREGULAR for noun in pair]),
    )


@st.composite
def slug(draw, most: int = checks.SLUG_MAX) -> str:
    size = draw(st.sampled_from([3, most, most]) | st.integers(3, most))
    chars = string.ascii_lowercase + string.digits + "-"
    middle = draw(st.text(chars, min_size=size - 2, max_size=size - 2))
    text = (
        draw(st.sampled_from(string.ascii_lowercase))
        + middle
        + draw(st.sampled_from(string.ascii_lowercase + "0123456789"))
    )
    text = re.sub("-+", "-", text)
    return text


def free_text(most: int) -> st.SearchStrategy[str]:
    """Any printable text the checks allow: no double quotes, backslashes, backticks or dollars,
    at most `most` columns (Jinja's openers are left out: see no_jinja)."""
    plain = st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=most)
    anything = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=most)
    longest = st.integers(most - 3, most).flatmap(
        lambda size: st.text(string.ascii_letters + " .,'-", min_size=size, max_size=size)
    )
    typographic = st.text(
        "Teams\u2019 API \u2013 \u201cx\u201d \u00d7 \u2026 \u00e9 \u6f22\u5b57 \u2018", min_size=1, max_size=most
    )  # what editors type for ' - "
    return st.one_of(plain, anything, longest, typographic).filter(
        lambda t: (
            t.strip()
            and t.isprintable()
            and not set(t) & set('"\\`$')
            and not re.search("[{][{%#]", t)
            and checks.width(t) <= most
        )
    )


@st.composite
def private_network(draw) -> str:
    block = ipaddress.ip_network(draw(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])))
    prefix = draw(st.integers(max(16, block.prefixlen), 24))
    subnets = 2 ** (prefix - block.prefixlen)
    index = draw(st.sampled_from([0, subnets - 1]) | st.integers(0, subnets - 1))
    return str(ipaddress.ip_network(f"{block.network_address + index * 2 ** (32 - prefix)}/{prefix}"))


def no_jinja(answers: dict) -> bool:
    """Cookiecutter renders every answer as a Jinja template before any check runs, so an answer
    holding {{, {% or {# (an email's local part may) stops it with Jinja's error: its behaviour,
    not this template's, and left out of the draws."""
    return not any(re.search("[{][{%#]", str(value)) for value in answers.values())


@st.composite
def _answer_sets(draw) -> dict:
    """One whole set of answers; a missing key takes cookiecutter.json's default (often derived)."""
    a: dict = {}
    a["model_task"] = draw(st.sampled_from(["regression", "classification"]))
    a["infrastructure"] = draw(st.sampled_from(["own", "shared"]))
    a["project_name"] = draw(free_text(80))
    if draw(st.booleans()):  # a slug of its own; else derived from the project name
        a["project_slug"] = draw(slug())
        if draw(st.booleans()):
            a["package_name"] = draw(identifier(1, 30).filter(lambda s: not s.endswith("_")))
    else:
        a["project_name"] = draw(
            st.lists(st.text(string.ascii_letters + string.digits, min_size=1, max_size=7), min_size=1, max_size=3)
            .map(" ".join)
            .filter(lambda n: n[0].isalpha())
        )
    if draw(st.booleans()):
        a["description"] = draw(free_text(300))
    a["author_name"] = draw(free_text(80))
    a["author_email"] = draw(regex(checks.EMAIL) | st.just("data-team@example.com"))
    a["alarm_email"] = draw(st.just("") | regex(checks.EMAIL))

    item, item_plural = draw(st.sampled_from(IRREGULAR) | st.tuples(name(), st.none() | name()))
    other = st.sampled_from(IRREGULAR) | st.tuples(name(), st.none() | name())
    prediction, prediction_plural = draw(other.filter(lambda pair: pair[0] != item))
    a["item_name"], a["prediction_name"] = item, prediction
    if item_plural is not None:
        a["item_plural"] = item_plural
    if prediction_plural is not None:
        a["prediction_plural"] = prediction_plural

    a["python_version"] = draw(st.sampled_from(["3.12", "3.13", "3.11"]))
    regions = st.sampled_from(sorted(checks.AWS_REGIONS))
    region = draw(st.one_of(regions, regions, regions, regex(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]{4,9}-[0-9]")))
    a["aws_region"] = region
    dev, prod = draw(st.lists(regex(r"[0-9]{12}"), min_size=2, max_size=2, unique=True))
    a["dev_account_id"], a["prod_account_id"] = dev, prod
    a["environment_name"] = draw(slug())
    a["az_count"] = draw(st.sampled_from(["2", "3"]))
    a["nat_gateways"] = draw(st.sampled_from(["none", "single", "per_az"]))
    a["vpc_cidr"] = draw(private_network())
    cpu = draw(st.sampled_from(sorted(FARGATE_MEMORY)))
    a["task_cpu"], a["task_memory"] = cpu, str(draw(st.sampled_from(FARGATE_MEMORY[cpu])))
    low = draw(st.integers(1, 100))
    a["prod_min_tasks"], a["prod_max_tasks"] = str(low), str(draw(st.integers(low, 100)))
    a["sidecar_image_source"] = draw(st.sampled_from(["ecr_copy", "public_ecr"]))
    if a["nat_gateways"] == "none" and a["infrastructure"] == "own":
        a["sidecar_image_source"] = "ecr_copy"
    uuid = draw(regex(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"))
    a["certificate_arn"] = draw(st.sampled_from(["", f"arn:aws:acm:{region}:{prod}:certificate/{uuid}"]))
    a["hosted_zone_name"] = draw(st.just("") | regex(checks.DOMAIN) | st.just("internal.example.com"))
    a["alb_access_logs"] = draw(st.booleans())
    a["ecs_exec"] = draw(st.booleans())
    a["latency_alarm_ms"] = str(draw(st.sampled_from([1, 60000]) | st.integers(1, 60000)))
    a["deploy_identity"] = draw(st.sampled_from(["oidc", "access_keys"]))
    a["bitbucket_workspace"] = draw(regex(r"[a-z0-9][a-z0-9_-]{0,61}"))
    a["manual_production_gate"] = draw(st.booleans())
    return a


def answer_sets() -> st.SearchStrategy[dict]:
    return _answer_sets().filter(no_jinja)
